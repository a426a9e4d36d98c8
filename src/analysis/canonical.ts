/**
 * Canonical form of a (simplified) dataflow graph: a content hash per node (inputs by position,
 * constants by their bits, ops by name and argument hashes, operands of commutative ops unordered),
 * a fixed statement order (depth-first from the outputs, arguments in canonical order), and names
 * t1, t2, ... in order of definition. Two graphs with the same canonical dataflow print the same.
 */
import type { Arg, Program, Statement } from '../dsl/ast.ts';
import { CONST, Graph, INPUT, isCommutative, OP, OP_SPECS } from './graph.ts';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 64-bit hash as two independent 32-bit murmur3-style lanes: `add` mixes one 32-bit word into
 * both, `finish` applies the final avalanche (call it once, before reading a or b).
 */
export class Hash64 {
  a = 0x243f6a88;
  b = 0x85a308d3;
  reset(): this {
    this.a = 0x243f6a88;
    this.b = 0x85a308d3;
    return this;
  }
  add(x: number): this {
    let k = Math.imul(x, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    let a = this.a ^ k;
    a = (a << 13) | (a >>> 19);
    this.a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    let j = Math.imul(x ^ 0x5bd1e995, 0x85ebca6b);
    j = Math.imul((j << 17) | (j >>> 15), 0xc2b2ae35);
    let b = this.b ^ j;
    b = (b << 11) | (b >>> 21);
    this.b = (Math.imul(b, 9) + 0x7f4a7c15) | 0;
    return this;
  }
  finish(): this {
    this.a = fmix(this.a ^ this.b);
    this.b = fmix(this.b + Math.imul(this.a, 0x27d4eb2f));
    return this;
  }
  hex(): string {
    this.finish();
    return hex8(this.a) + hex8(this.b);
  }
}

const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(x: number): string {
  return (HEX_BYTE[(x >>> 24) & 255] as string) + (HEX_BYTE[(x >>> 16) & 255] as string) + (HEX_BYTE[(x >>> 8) & 255] as string) + (HEX_BYTE[x & 255] as string);
}

/** Content hash of every node (two lanes per node), and its depth (longest path to an input). */
export interface NodeHashes {
  readonly a: Uint32Array;
  readonly b: Uint32Array;
  readonly depth: Uint16Array;
}

export function nodeHashes(g: Graph): NodeHashes {
  const n = g.size;
  const A = new Uint32Array(n);
  const B = new Uint32Array(n);
  const D = new Uint16Array(n);
  const h = new Hash64();
  for (let i = 0; i < n; i++) {
    const op = g.op[i] as number;
    h.reset();
    if (op === INPUT) h.add(0xa11ce).add(g.value[i] as number);
    else if (op === CONST) {
      F64[0] = g.value[i] as number;
      h.add(0xc0de).add(U32[0] as number).add(U32[1] as number);
    } else {
      h.add(op + 1);
      const args = g.args[i] as readonly number[];
      let d = 0;
      for (const c of args) if ((D[c] as number) > d) d = D[c] as number;
      D[i] = Math.min(d + 1, 65535);
      if (args.length === 2 && isCommutative(op)) {
        const x = args[0] as number;
        const y = args[1] as number;
        const first = lessHash(A, B, x, y) ? x : y;
        const second = first === x ? y : x;
        h.add(A[first] as number).add(B[first] as number).add(A[second] as number).add(B[second] as number);
      } else for (const c of args) h.add(A[c] as number).add(B[c] as number);
    }
    h.finish();
    A[i] = h.a;
    B[i] = h.b;
  }
  return { a: A, b: B, depth: D };
}

function lessHash(A: Uint32Array, B: Uint32Array, x: number, y: number): boolean {
  const ax = A[x] as number;
  const ay = A[y] as number;
  return ax !== ay ? ax < ay : (B[x] as number) <= (B[y] as number);
}

/** Hash of a whole program: slot count and the hash of each output, in order. */
export function outputsHash(g: Graph, hashes: NodeHashes, outputs: readonly number[]): string {
  const h = new Hash64();
  h.add(g.inputCount);
  for (const o of outputs) h.add(hashes.a[o] as number).add(hashes.b[o] as number);
  return h.hex();
}

/**
 * Arguments of a node in canonical order. Operands of commutative ops: constants last, then the
 * deeper computation first (so a program reads from its inputs' transforms down to the update),
 * ties by content hash.
 */
export function canonicalArgs(g: Graph, hashes: NodeHashes, n: number): readonly number[] {
  const args = g.args[n] as readonly number[];
  if (args.length !== 2 || !isCommutative(g.op[n] as number)) return args;
  const x = args[0] as number;
  const y = args[1] as number;
  const cx = g.op[x] === CONST;
  const cy = g.op[y] === CONST;
  if (cx !== cy) return cx ? [y, x] : args;
  const dx = hashes.depth[x] as number;
  const dy = hashes.depth[y] as number;
  if (dx !== dy) return dx > dy ? args : [y, x];
  return lessHash(hashes.a, hashes.b, x, y) ? args : [y, x];
}

/** Op nodes in canonical statement order: depth-first post-order from the outputs. */
export function canonicalOrder(g: Graph, hashes: NodeHashes, outputs: readonly number[]): number[] {
  const seen = new Uint8Array(g.size);
  const order: number[] = [];
  const visit = (root: number): void => {
    // Iterative post-order: a frame is (node, next argument index).
    const stack: number[] = [root, 0];
    while (stack.length > 0) {
      const top = stack.length - 2;
      const n = stack[top] as number;
      const k = stack[top + 1] as number;
      if (k === 0) {
        if (seen[n] !== 0 || g.op[n] === INPUT || g.op[n] === CONST) {
          seen[n] = 1;
          stack.length = top;
          continue;
        }
      }
      const args = canonicalArgs(g, hashes, n);
      if (k < args.length) {
        stack[top + 1] = k + 1;
        const c = args[k] as number;
        if (seen[c] === 0) stack.push(c, 0);
        continue;
      }
      seen[n] = 1;
      order.push(n);
      stack.length = top;
    }
  };
  for (const o of outputs) visit(o);
  return order;
}

/** A prefix for temporaries that no input name can collide with. */
function tempPrefix(inputs: readonly string[]): string {
  let prefix = 't';
  for (;;) {
    let clash = false;
    for (const name of inputs) {
      if (name.length > prefix.length && name.startsWith(prefix)) {
        let digits = true;
        for (let i = prefix.length; i < name.length; i++) {
          const c = name.charCodeAt(i);
          if (c < 48 || c > 57) digits = false;
        }
        if (digits) clash = true;
      }
    }
    if (!clash) return prefix;
    prefix += '_';
  }
}

/**
 * The canonical program of a graph. Inputs keep their names (and positions); an output that is a
 * constant is written `tK = c * 1`, since a return lists names only.
 */
export function toProgram(g: Graph, outputs: readonly number[], inputs: readonly string[], name: string, hashes: NodeHashes = nodeHashes(g)): Program {
  const order = canonicalOrder(g, hashes, outputs);
  const prefix = tempPrefix(inputs);
  const names: string[] = new Array(g.size);
  for (let i = 0; i < g.inputCount; i++) names[i] = inputs[i] as string;
  const statements: Statement[] = [];
  let next = 1;
  const argOf = (n: number): Arg => (g.op[n] === CONST ? { kind: 'num', value: g.value[n] as number } : { kind: 'var', name: names[n] as string });
  for (const n of order) {
    const target = prefix + next++;
    names[n] = target;
    statements.push({ target, op: (OP_SPECS[g.op[n] as number] as { name: string }).name, args: canonicalArgs(g, hashes, n).map(argOf) });
  }
  const outs: string[] = [];
  for (const o of outputs) {
    if (g.op[o] === CONST) {
      const target = prefix + next++;
      statements.push({ target, op: OP_SPECS[OP.mul]!.name, args: [{ kind: 'num', value: g.value[o] as number }, { kind: 'num', value: 1 }] });
      outs.push(target);
    } else outs.push(names[o] as string);
  }
  return { name, inputs: [...inputs], statements, outputs: outs };
}
