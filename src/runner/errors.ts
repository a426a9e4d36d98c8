/** Errors of a search that are the user's to fix: the CLI prints them as one line with exit code 2. */

/** A search configuration that cannot run (budget, workers, seed, time limit, funnel); found before anything is written. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A run that cannot be resumed as asked: already done, no saved state, or its space changed. */
export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}
