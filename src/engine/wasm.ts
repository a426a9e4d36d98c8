/**
 * A small WebAssembly binary emitter: one module with an imported memory, function types, functions
 * with locals, exports; bodies written through Code, which knows the i32/f32/f64 opcodes and the
 * SIMD128 subset the engine uses. Nothing relaxed and no FMA: every instruction here is IEEE and
 * deterministic across machines (NaN payloads aside, which nothing reads).
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(out: number[], value: number): void {
  let v = value >>> 0;
  if (value < 0 || !Number.isInteger(value) || value > 0xffffffff) throw new RangeError(`uleb128: ${value} is not a u32`);
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

export function sleb(out: number[], value: number | bigint): void {
  let v = BigInt(value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return;
  }
}

const f32Bytes = new DataView(new ArrayBuffer(4));
const f64Bytes = new DataView(new ArrayBuffer(8));

/** SIMD opcodes (after the 0xfd prefix), by the names of the spec. */
const SIMD = {
  'v128.load': 0x00, 'v128.load32_splat': 0x09, 'v128.store': 0x0b, 'v128.const': 0x0c, 'i8x16.shuffle': 0x0d,
  'i32x4.splat': 0x11, 'i64x2.splat': 0x12, 'f32x4.splat': 0x13, 'f64x2.splat': 0x14,
  'i32x4.extract_lane': 0x1b, 'f32x4.extract_lane': 0x1f, 'f32x4.replace_lane': 0x20, 'f64x2.extract_lane': 0x21,
  'i32x4.eq': 0x37, 'i32x4.ne': 0x38, 'i32x4.gt_s': 0x3b,
  'f32x4.eq': 0x41, 'f32x4.ne': 0x42, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'f64x2.eq': 0x47, 'f64x2.ne': 0x48, 'f64x2.lt': 0x49, 'f64x2.gt': 0x4a, 'f64x2.le': 0x4b, 'f64x2.ge': 0x4c,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52,
  'v128.any_true': 0x53,
  'f32x4.demote_f64x2_zero': 0x5e, 'f64x2.promote_low_f32x4': 0x5f,
  'f32x4.nearest': 0x6a, 'f64x2.nearest': 0x94,
  'i32x4.all_true': 0xa3, 'i32x4.bitmask': 0xa4,
  'i32x4.shl': 0xab, 'i32x4.shr_s': 0xac, 'i32x4.shr_u': 0xad, 'i32x4.add': 0xae, 'i32x4.sub': 0xb1,
  'i64x2.extend_low_i32x4_s': 0xc7, 'i64x2.shl': 0xcb, 'i64x2.shr_u': 0xcd, 'i64x2.add': 0xce, 'i64x2.sub': 0xd1,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6,
  'f32x4.div': 0xe7, 'f32x4.min': 0xe8, 'f32x4.max': 0xe9,
  'f64x2.abs': 0xec, 'f64x2.neg': 0xed, 'f64x2.sqrt': 0xef, 'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2,
  'f64x2.div': 0xf3, 'f64x2.min': 0xf4, 'f64x2.max': 0xf5,
  'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa, 'i32x4.trunc_sat_f64x2_s_zero': 0xfc,
  'f64x2.convert_low_i32x4_s': 0xfe, 'f64x2.floor': 0x75, 'i64x2.eq': 0xd6,
} as const;
export type SimdOp = keyof typeof SIMD;

/** Plain opcodes without immediates. */
const PLAIN = {
  unreachable: 0x00, nop: 0x01, return: 0x0f, drop: 0x1a, select: 0x1b,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a,
  'i32.le_s': 0x4c, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.shl': 0x74, 'i32.shr_u': 0x76,
  'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95,
  'f64.add': 0xa0, 'f64.mul': 0xa2, 'f64.promote_f32': 0xbb, 'f32.demote_f64': 0xb6,
} as const;
export type PlainOp = keyof typeof PLAIN;

/** Memory opcodes and their natural alignment (log2 bytes). */
const MEMORY = {
  'i32.load': [0x28, 2], 'f32.load': [0x2a, 2], 'f64.load': [0x2b, 3],
  'i32.store': [0x36, 2], 'f32.store': [0x38, 2], 'f64.store': [0x39, 3],
} as const;
export type MemoryOp = keyof typeof MEMORY;

export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/** A function body under construction. */
export class Code {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(readonly params: readonly ValType[]) {}

  param(i: number): Local {
    const type = this.params[i];
    if (type === undefined) throw new RangeError(`no parameter ${i}`);
    return { index: i, type };
  }

  local(type: ValType): Local {
    this.localTypes.push(type);
    return { index: this.params.length + this.localTypes.length - 1, type };
  }

  /** Local declarations, grouped by runs of one type. */
  localsBytes(): number[] {
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const out: number[] = [];
    uleb(out, groups.length);
    for (const [n, t] of groups) {
      uleb(out, n);
      out.push(VALTYPE[t]);
    }
    return out;
  }

  op(name: PlainOp): this {
    this.bytes.push(PLAIN[name]);
    return this;
  }

  simd(name: SimdOp): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, SIMD[name]);
    return this;
  }

  lane(name: 'f32x4.extract_lane' | 'f32x4.replace_lane' | 'i32x4.extract_lane' | 'f64x2.extract_lane', lane: number): this {
    this.simd(name);
    this.bytes.push(lane);
    return this;
  }

  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError('i8x16.shuffle takes 16 lane indices');
    this.simd('i8x16.shuffle');
    this.bytes.push(...lanes);
    return this;
  }

  get(l: Local): this {
    this.bytes.push(0x20);
    uleb(this.bytes, l.index);
    return this;
  }

  set(l: Local): this {
    this.bytes.push(0x21);
    uleb(this.bytes, l.index);
    return this;
  }

  tee(l: Local): this {
    this.bytes.push(0x22);
    uleb(this.bytes, l.index);
    return this;
  }

  i32(v: number): this {
    this.bytes.push(0x41);
    sleb(this.bytes, v | 0);
    return this;
  }

  f32(v: number): this {
    this.bytes.push(0x43);
    f32Bytes.setFloat32(0, v, true);
    for (let i = 0; i < 4; i++) this.bytes.push(f32Bytes.getUint8(i));
    return this;
  }

  f64(v: number): this {
    this.bytes.push(0x44);
    f64Bytes.setFloat64(0, v, true);
    for (let i = 0; i < 8; i++) this.bytes.push(f64Bytes.getUint8(i));
    return this;
  }

  /** v128.const from 16 raw bytes. */
  v128(bytes: readonly number[]): this {
    this.simd('v128.const');
    this.bytes.push(...bytes);
    return this;
  }

  f32x4(v: number): this {
    const b = new DataView(new ArrayBuffer(16));
    for (let i = 0; i < 4; i++) b.setFloat32(4 * i, v, true);
    return this.v128(Array.from(new Uint8Array(b.buffer)));
  }

  f64x2(v: number): this {
    const b = new DataView(new ArrayBuffer(16));
    for (let i = 0; i < 2; i++) b.setFloat64(8 * i, v, true);
    return this.v128(Array.from(new Uint8Array(b.buffer)));
  }

  i32x4(v: number): this {
    const b = new DataView(new ArrayBuffer(16));
    for (let i = 0; i < 4; i++) b.setInt32(4 * i, v, true);
    return this.v128(Array.from(new Uint8Array(b.buffer)));
  }

  i64x2(v: bigint): this {
    const b = new DataView(new ArrayBuffer(16));
    for (let i = 0; i < 2; i++) b.setBigInt64(8 * i, v, true);
    return this.v128(Array.from(new Uint8Array(b.buffer)));
  }

  mem(name: MemoryOp, offset = 0): this {
    const [code, align] = MEMORY[name];
    this.bytes.push(code, align);
    uleb(this.bytes, offset);
    return this;
  }

  /** v128.load / v128.store / v128.load32_splat with a constant offset. */
  vmem(name: 'v128.load' | 'v128.store' | 'v128.load32_splat', offset = 0): this {
    this.simd(name);
    this.bytes.push(name === 'v128.load32_splat' ? 2 : 4);
    uleb(this.bytes, offset);
    return this;
  }

  call(fn: number): this {
    this.bytes.push(0x10);
    uleb(this.bytes, fn);
    return this;
  }

  memoryCopy(): this {
    this.bytes.push(0xfc);
    uleb(this.bytes, 10);
    this.bytes.push(0, 0);
    return this;
  }

  memoryFill(): this {
    this.bytes.push(0xfc);
    uleb(this.bytes, 11);
    this.bytes.push(0);
    return this;
  }

  block(body: () => void): this {
    this.bytes.push(0x02, 0x40);
    this.depth++;
    body();
    this.depth--;
    this.bytes.push(0x0b);
    return this;
  }

  /** if (value on the stack) then [else]; no result. */
  if(then: () => void, otherwise?: () => void): this {
    this.bytes.push(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.bytes.push(0x05);
      otherwise();
    }
    this.depth--;
    this.bytes.push(0x0b);
    return this;
  }

  /** br_if to the given label depth (0 = innermost). */
  brIf(depth: number): this {
    this.bytes.push(0x0d);
    uleb(this.bytes, depth);
    return this;
  }

  br(depth: number): this {
    this.bytes.push(0x0c);
    uleb(this.bytes, depth);
    return this;
  }

  /**
   * for (i = from; i < to; i += step) body: i32 counter, bounds as constants or locals. The body runs
   * at least once only when from < to (checked before entering).
   */
  for(i: Local, from: number | Local, to: number | Local, step: number, body: () => void): this {
    const push = (v: number | Local): void => {
      if (typeof v === 'number') this.i32(v);
      else this.get(v);
    };
    push(from);
    this.set(i);
    if (typeof from === 'number' && typeof to === 'number') {
      if (from >= to) return this;
      this.loopBody(i, to, step, body, push);
      return this;
    }
    this.get(i);
    push(to);
    this.op('i32.lt_s');
    this.if(() => this.loopBody(i, to, step, body, push));
    return this;
  }

  private loopBody(i: Local, to: number | Local, step: number, body: () => void, push: (v: number | Local) => void): void {
    this.bytes.push(0x03, 0x40);
    this.depth++;
    body();
    this.get(i).i32(step).op('i32.add').tee(i);
    push(to);
    this.op('i32.lt_s').brIf(0);
    this.depth--;
    this.bytes.push(0x0b);
  }

  end(): number[] {
    const out = this.localsBytes();
    for (const b of this.bytes) out.push(b);
    out.push(0x0b);
    return out;
  }
}

interface FunctionEntry {
  readonly name: string;
  readonly type: number;
  code?: Code;
  readonly exported: boolean;
  /** Imported from env under `name` (imports come first in the function index space). */
  readonly imported?: boolean;
}

/** A module importing env.memory; functions declared first (so they can call each other), then defined. */
export class ModuleBuilder {
  private readonly types: string[] = [];
  private readonly typeBytes: number[][] = [];
  private readonly functions: FunctionEntry[] = [];
  private readonly byName = new Map<string, number>();

  constructor(private readonly memoryPages: number) {}

  private typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const key = `${params.join(',')}->${results.join(',')}`;
    const have = this.types.indexOf(key);
    if (have >= 0) return have;
    const b: number[] = [0x60];
    uleb(b, params.length);
    for (const p of params) b.push(VALTYPE[p]);
    uleb(b, results.length);
    for (const r of results) b.push(VALTYPE[r]);
    this.types.push(key);
    this.typeBytes.push(b);
    return this.types.length - 1;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  index(name: string): number {
    const i = this.byName.get(name);
    if (i === undefined) throw new Error(`wasm function ${name} is not declared`);
    return i;
  }

  /** A function imported from env; all imports are declared before the first defined function. */
  importFunction(name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.functions.some((f) => !f.imported)) throw new Error('wasm function imports must come before defined functions');
    if (this.byName.has(name)) throw new Error(`wasm function ${name} declared twice`);
    this.functions.push({ name, type: this.typeIndex(params, results), exported: false, imported: true });
    this.byName.set(name, this.functions.length - 1);
    return this.functions.length - 1;
  }

  /** Declares a function and returns its body builder; the body is filled in by the caller. */
  func(name: string, params: readonly ValType[], results: readonly ValType[], exported = false): Code {
    if (this.byName.has(name)) throw new Error(`wasm function ${name} declared twice`);
    const code = new Code(params);
    this.functions.push({ name, type: this.typeIndex(params, results), code, exported });
    this.byName.set(name, this.functions.length - 1);
    return code;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const append = (dst: number[], src: readonly number[]): void => {
      for (const b of src) dst.push(b);
    };
    const section = (id: number, body: number[]): void => {
      out.push(id);
      uleb(out, body.length);
      append(out, body);
    };
    const name = (b: number[], s: string): void => {
      const enc = new TextEncoder().encode(s);
      uleb(b, enc.length);
      b.push(...enc);
    };
    const types: number[] = [];
    uleb(types, this.typeBytes.length);
    for (const t of this.typeBytes) append(types, t);
    section(1, types);
    const imported = this.functions.filter((f) => f.imported);
    const defined = this.functions.filter((f) => !f.imported);
    const imports: number[] = [];
    uleb(imports, 1 + imported.length);
    name(imports, 'env');
    name(imports, 'memory');
    imports.push(0x02, 0x00);
    uleb(imports, this.memoryPages);
    for (const f of imported) {
      name(imports, 'env');
      name(imports, f.name);
      imports.push(0x00);
      uleb(imports, f.type);
    }
    section(2, imports);
    const funcs: number[] = [];
    uleb(funcs, defined.length);
    for (const f of defined) uleb(funcs, f.type);
    section(3, funcs);
    const exports: number[] = [];
    const exported = this.functions.map((f, i) => [f, i] as const).filter(([f]) => f.exported);
    uleb(exports, exported.length);
    for (const [f, i] of exported) {
      name(exports, f.name);
      exports.push(0x00);
      uleb(exports, i);
    }
    section(7, exports);
    const code: number[] = [];
    uleb(code, defined.length);
    for (const f of defined) {
      if (!f.code) throw new Error(`wasm function ${f.name} has no body`);
      const body = f.code.end();
      uleb(code, body.length);
      append(code, body);
    }
    section(10, code);
    return Uint8Array.from(out);
  }
}

export const PAGE_BYTES = 65536;

/** Byte offsets handed out in order, 64-aligned (a cache line). */
export class Arena {
  size = 0;
  take(bytes: number): number {
    const at = this.size;
    this.size += Math.ceil(bytes / 64) * 64;
    return at;
  }
}

