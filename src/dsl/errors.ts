import type { Pos } from './ast.ts';

/** Closed set of diagnostic codes; each has a test that produces it. */
export const DIAGNOSTIC_CODES = [
  'syntax',
  'unknown-op',
  'unknown-name',
  'arity',
  'arg-kind',
  'reassign-kind',
  'state-kind',
  'output-count',
  'missing-return',
  'duplicate-input',
  'signature',
] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly pos: Pos;
}

/** Longest name or number quoted back in a message. */
const QUOTE_LIMIT = 24;

/** A name or literal as quoted in a message: long ones are cut so that a message stays one short line. */
export function quoteText(text: string): string {
  return `'${text.length > QUOTE_LIMIT ? text.slice(0, QUOTE_LIMIT) + '...' : text}'`;
}

export function formatDiagnostic(d: Diagnostic, file?: string): string {
  return `${file ?? '<program>'}:${d.pos.line}:${d.pos.col}: ${d.message}`;
}

/** Thrown by parse() and assertValid(); carries every diagnostic found (parse errors stop at the first). */
export class DslError extends Error {
  readonly diagnostics: readonly Diagnostic[];
  constructor(diagnostics: readonly Diagnostic[]) {
    const first = diagnostics[0];
    super(first ? formatDiagnostic(first) : 'invalid program');
    this.name = 'DslError';
    this.diagnostics = diagnostics;
  }
}

/** An error as one line for a result's reason: a DslError's diagnostics with their positions, else the message's first line. */
export function errorLine(e: unknown): string {
  if (e instanceof DslError) return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`).join('; ');
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).slice(0, 500);
}
