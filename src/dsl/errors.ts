import type { Pos } from './ast.ts';

/** Closed set of diagnostic codes; each has a test that produces it. */
export type DiagnosticCode =
  | 'syntax'
  | 'unknown-op'
  | 'unknown-name'
  | 'arity'
  | 'arg-kind'
  | 'reassign-kind'
  | 'state-kind'
  | 'output-count'
  | 'missing-return'
  | 'duplicate-input'
  | 'signature';

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly pos: Pos;
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
