/**
 * Structural hash: a 64-bit content hash (16 hex digits) of the canonical dataflow of the update
 * and the live state slots. Inputs count by position, constants by their exact bits, ops by name.
 * Invariant under renaming, dead statements (single-call and cross-step), operand order of
 * commutative ops, the order of independent statements and every rewrite of rewrite.ts; any other
 * change of op, constant or wiring in live code changes it (up to 64-bit collisions).
 */
import type { Program } from '../dsl/ast.ts';
import { reduce, type ReduceOptions } from './pipeline.ts';

export function structuralHash(p: Program, opts: Pick<ReduceOptions, 'allowEps'> = {}): string {
  return reduce(p, opts).hash;
}
