/**
 * Vectorized transcendental functions as emitted WebAssembly, for the ops that have no instruction.
 *
 * The op library computes in f64x2 and rounds once to float32 (f32x4 in, two f64x2 halves, f32x4
 * out): Taylor polynomials with range reduction reach about 1e-15 in double, so after the final
 * rounding each function is within about 1 ulp of the correctly rounded float32 value, and the
 * special cases (NaN, +-Inf, +-0, overflow, the guarded logs, Math.pow's rules) follow Math.*. The
 * training kernels' softmax uses a faster float32 exp (kernelExp) for arguments <= 0.
 *
 * Everything is plain IEEE arithmetic, min/max, comparisons and bit operations: no relaxed or fused
 * instruction, so results are the same on every machine.
 */
import type { Code, Local, ModuleBuilder, SimdOp } from './wasm.ts';

/** An expression: code that leaves one v128 on the stack. */
export type Ex = (c: Code) => void;

export const get = (l: Local): Ex => (c) => void c.get(l);
export const f64s = (v: number): Ex => (c) => void c.f64x2(v);
export const f32s = (v: number): Ex => (c) => void c.f32x4(v);
export const i64s = (v: bigint): Ex => (c) => void c.i64x2(v);
export const op =
  (name: SimdOp, ...args: Ex[]): Ex =>
  (c) => {
    for (const a of args) a(c);
    c.simd(name);
  };
/** mask ? whenTrue : whenFalse, bit by bit. */
export const select =
  (mask: Ex, whenTrue: Ex, whenFalse: Ex): Ex =>
  (c) => {
    whenTrue(c);
    whenFalse(c);
    mask(c);
    c.simd('v128.bitselect');
  };
export const assign = (c: Code, l: Local, e: Ex): void => {
  e(c);
  c.set(l);
};

const add = (a: Ex, b: Ex) => op('f64x2.add', a, b);
const sub = (a: Ex, b: Ex) => op('f64x2.sub', a, b);
const mul = (a: Ex, b: Ex) => op('f64x2.mul', a, b);
const div = (a: Ex, b: Ex) => op('f64x2.div', a, b);
const and = (a: Ex, b: Ex) => op('v128.and', a, b);
const or = (a: Ex, b: Ex) => op('v128.or', a, b);
const not = (a: Ex) => op('v128.not', a);

/** c0 + x (c1 + x (c2 + ...)): coefficients lowest degree first. */
function horner(x: Ex, coeffs: readonly number[]): Ex {
  let e: Ex = f64s(coeffs[coeffs.length - 1] as number);
  for (let i = coeffs.length - 2; i >= 0; i--) e = add(f64s(coeffs[i] as number), mul(x, e));
  return e;
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

const SIGN64 = -0x8000000000000000n;
const ABS64 = 0x7fffffffffffffffn;
/** |x| carrying the sign bit of s. */
const copySign = (x: Ex, s: Ex): Ex => or(and(x, i64s(ABS64)), and(s, i64s(SIGN64)));

const LN2 = Math.LN2;
const LN2_HI = 6.93147180369123816490e-1; // 32 significant bits: n * LN2_HI is exact for |n| < 2^21
const LN2_LO = 1.90821492927058770002e-10;
// pi/2 in three 33-bit parts and a tail (as fdlibm splits it): k * part is exact for |k| < 2^20
const PIO2_1 = 1.57079632673412561417e0;
const PIO2_2 = 6.07710050630396597660e-11;
const PIO2_3 = 2.02226624871116645580e-21;
const PIO2_3T = 8.47842766036889956997e-32;
/** Just above pi/4: no reduced argument of |x| <= 2^20 reaches it. */
const R_MAX = 0.7854;

/** Largest |argument| the f64 exp core takes; beyond it every float32 result has over- or underflowed. */
const EXP_CLAMP = 200;

/** Names of the float32 functions the op library provides: f32x4 -> f32x4 (pow takes two). */
export const UNARY_MATH = [
  'exp', 'exp2', 'exp10', 'expm1', 'log', 'log2', 'log10', 'log1p', 'sin', 'cos', 'tan',
  'arcsin', 'arccos', 'arctan', 'sinh', 'cosh', 'tanh', 'arcsinh', 'arccosh', 'arctanh', 'cbrt',
] as const;
export type UnaryMath = (typeof UNARY_MATH)[number];

/** Declares math functions in a module on demand and returns their indices. */
export class MathLib {
  constructor(private readonly mb: ModuleBuilder) {}

  /** Index of the float32 function `f32_<name>` (declared with what it needs on first use). */
  unary(name: UnaryMath): number {
    const fname = `f32_${name}`;
    if (!this.mb.has(fname)) {
      const inner = this.double(name);
      const c = this.mb.func(fname, ['v128'], ['v128']);
      const x = c.param(0);
      splitCall(c, [x], inner);
    }
    return this.mb.index(fname);
  }

  /** Index of f32_pow(a, b). */
  pow(): number {
    if (!this.mb.has('f32_pow')) {
      const inner = this.double('pow');
      const c = this.mb.func('f32_pow', ['v128', 'v128'], ['v128']);
      splitCall(c, [c.param(0), c.param(1)], inner);
    }
    return this.mb.index('f32_pow');
  }

  /** Index of the f64x2 function d_<name>. */
  private double(name: UnaryMath | 'pow' | 'expm1core'): number {
    const fname = `d_${name}`;
    if (this.mb.has(fname)) return this.mb.index(fname);
    const call = (n: UnaryMath | 'expm1core', ...args: Ex[]): Ex => {
      const idx = this.double(n);
      return (c) => {
        for (const a of args) a(c);
        c.call(idx);
      };
    };
    if (name === 'pow') {
      const expIdx = this.double('exp');
      const logIdx = this.double('log');
      const c = this.mb.func(fname, ['v128', 'v128'], ['v128']);
      emitPow(c, logIdx, expIdx);
      return this.mb.index(fname);
    }
    // dependencies first, so that their indices exist before this body refers to them
    const deps: Record<string, readonly (UnaryMath | 'expm1core')[]> = {
      exp: ['expm1core'], expm1: ['expm1core'], exp2: ['exp'], exp10: ['exp'],
      log2: ['log'], log10: ['log'], log1p: ['log'], sinh: ['expm1'], cosh: ['exp'], tanh: ['expm1'],
      arcsin: ['arctan'], arccos: ['arctan'], arcsinh: ['log1p'], arccosh: ['log1p'], arctanh: ['log1p'],
      cbrt: ['log', 'exp'],
    };
    for (const d of deps[name] ?? []) this.double(d);
    const c = this.mb.func(fname, ['v128'], name === 'expm1core' ? ['v128', 'v128'] : ['v128']);
    const x = c.param(0);
    const X = get(x);
    const ax = c.local('v128');
    assign(c, ax, op('f64x2.abs', X));
    const AX = get(ax);
    const isZero = op('f64x2.eq', X, f64s(0));
    const isInf = op('f64x2.eq', AX, f64s(Infinity));
    const nan = f64s(NaN);
    switch (name) {
      case 'expm1core': {
        // x -> (q, s) with e^x = s (1 + q), s = 2^n, |r| <= ln2 / 2
        const xc = c.local('v128');
        const n = c.local('v128');
        const r = c.local('v128');
        assign(c, xc, op('f64x2.min', op('f64x2.max', X, f64s(-EXP_CLAMP)), f64s(EXP_CLAMP)));
        assign(c, n, op('f64x2.nearest', mul(get(xc), f64s(Math.LOG2E))));
        assign(c, r, sub(sub(get(xc), mul(get(n), f64s(LN2_HI))), mul(get(n), f64s(LN2_LO))));
        const coeffs = Array.from({ length: 12 }, (_, k) => 1 / factorial(k + 1)); // r/1! + r^2/2! + ... + r^12/12!
        mul(get(r), horner(get(r), coeffs))(c);
        // 2^n from the integer n: (n + 1023) << 52
        op('i64x2.shl', op('i64x2.add', op('i64x2.extend_low_i32x4_s', op('i32x4.trunc_sat_f64x2_s_zero', get(n))), i64s(1023n)), (cc) => void cc.i32(52))(c);
        break;
      }
      case 'exp':
      case 'expm1': {
        const q = c.local('v128');
        const s = c.local('v128');
        X(c);
        c.call(this.mb.index('d_expm1core'));
        c.set(s);
        c.set(q);
        if (name === 'exp') add(mul(get(s), get(q)), get(s))(c);
        // expm1(-0) is -0
        else select(isZero, X, add(mul(get(s), get(q)), sub(get(s), f64s(1))))(c);
        break;
      }
      case 'exp2':
        call('exp', mul(X, f64s(LN2)))(c);
        break;
      case 'exp10':
        call('exp', mul(X, f64s(Math.LN10)))(c);
        break;
      case 'log': {
        // |x| = m 2^e, m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m - 1) / (m + 1)
        const m = c.local('v128');
        const e = c.local('v128');
        const big = c.local('v128');
        const s = c.local('v128');
        const z = c.local('v128');
        assign(c, m, or(and(AX, i64s(0x000fffffffffffffn)), i64s(0x3ff0000000000000n)));
        const hiWords = (cc: Code): void => {
          AX(cc);
          AX(cc);
          cc.shuffle([4, 5, 6, 7, 12, 13, 14, 15, 4, 5, 6, 7, 12, 13, 14, 15]);
        };
        assign(c, e, op('f64x2.convert_low_i32x4_s', op('i32x4.sub', op('i32x4.shr_u', hiWords, (cc) => void cc.i32(20)), (cc) => void cc.i32x4(1023))));
        assign(c, big, op('f64x2.gt', get(m), f64s(Math.SQRT2)));
        assign(c, m, select(get(big), mul(get(m), f64s(0.5)), get(m)));
        assign(c, e, add(get(e), and(get(big), f64s(1))));
        assign(c, s, div(sub(get(m), f64s(1)), add(get(m), f64s(1))));
        assign(c, z, mul(get(s), get(s)));
        const series = horner(get(z), Array.from({ length: 10 }, (_, k) => 2 / (2 * k + 1)));
        const r = add(mul(get(e), f64s(LN2)), mul(get(s), series));
        select(isZero, f64s(-Infinity), select(isInf, f64s(Infinity), select(op('f64x2.ne', X, X), X, r)))(c);
        break;
      }
      case 'log2':
        mul(call('log', X), f64s(Math.LOG2E))(c);
        break;
      case 'log10':
        mul(call('log', X), f64s(Math.LOG10E))(c);
        break;
      case 'log1p': {
        // ln|1 + x| as the reference guards it; u - 1 recovers the rounding of 1 + x (Goldberg's form)
        const u = c.local('v128');
        const d = c.local('v128');
        assign(c, u, add(f64s(1), X));
        assign(c, d, sub(get(u), f64s(1)));
        select(isInf, f64s(Infinity), select(op('f64x2.eq', get(d), f64s(0)), X, mul(call('log', get(u)), div(X, get(d)))))(c);
        break;
      }
      case 'sin':
      case 'cos':
      case 'tan': {
        const k = c.local('v128');
        const r = c.local('v128');
        const z = c.local('v128');
        const sr = c.local('v128');
        const cr = c.local('v128');
        const odd = c.local('v128');
        const half = c.local('v128');
        const negHalf = c.local('v128');
        assign(c, k, op('f64x2.nearest', mul(X, f64s(2 / Math.PI))));
        const K = get(k);
        assign(c, r, sub(sub(sub(sub(X, mul(K, f64s(PIO2_1))), mul(K, f64s(PIO2_2))), mul(K, f64s(PIO2_3))), mul(K, f64s(PIO2_3T))));
        // beyond |x| = 2^20 k * pi/2 is no longer exact and r is not reduced: clamp it, so that the
        // result stays bounded (accurate only up to 2^20, see docs/proxy.md)
        assign(c, r, op('f64x2.min', op('f64x2.max', get(r), f64s(-R_MAX)), f64s(R_MAX)));
        assign(c, z, mul(get(r), get(r)));
        // sin r = r (1 - z/3! + z^2/5! ...), cos r = 1 - z/2! + z^2/4! ... (|r| <= pi/4)
        assign(c, sr, mul(get(r), horner(get(z), Array.from({ length: 9 }, (_, i) => (i % 2 ? -1 : 1) / factorial(2 * i + 1)))));
        assign(c, cr, horner(get(z), Array.from({ length: 10 }, (_, i) => (i % 2 ? -1 : 1) / factorial(2 * i))));
        // quadrant: k mod 4 from k - 2 floor(k / 2) and floor(k / 2) mod 2, exact for |k| < 2^52
        assign(c, half, op('f64x2.floor', mul(K, f64s(0.5))));
        assign(c, odd, op('f64x2.ne', sub(K, mul(get(half), f64s(2))), f64s(0)));
        assign(c, negHalf, op('f64x2.ne', sub(get(half), mul(op('f64x2.floor', mul(get(half), f64s(0.5))), f64s(2))), f64s(0)));
        const neg = (e: Ex): Ex => op('f64x2.neg', e);
        if (name === 'sin') {
          // q = 0: sin r, 1: cos r, 2: -sin r, 3: -cos r
          const v = select(get(odd), get(cr), get(sr));
          select(isZero, X, select(get(negHalf), neg(v), v))(c);
        } else if (name === 'cos') {
          // q = 0: cos r, 1: -sin r, 2: -cos r, 3: sin r
          const v = select(get(odd), neg(get(sr)), get(cr));
          select(get(negHalf), neg(v), v)(c);
        } else {
          select(isZero, X, select(get(odd), neg(div(get(cr), get(sr))), div(get(sr), get(cr))))(c);
        }
        break;
      }
      case 'arctan': {
        // |x| > 1: pi/2 - atan(1/|x|); t > tan(pi/8): pi/4 + atan((t - 1)/(t + 1)); then |u| <= 0.4143
        const inv = c.local('v128');
        const t = c.local('v128');
        const big = c.local('v128');
        const u = c.local('v128');
        const z = c.local('v128');
        const res = c.local('v128');
        assign(c, inv, op('f64x2.gt', AX, f64s(1)));
        assign(c, t, select(get(inv), div(f64s(1), AX), AX));
        assign(c, big, op('f64x2.gt', get(t), f64s(Math.SQRT2 - 1)));
        assign(c, u, select(get(big), div(sub(get(t), f64s(1)), add(get(t), f64s(1))), get(t)));
        assign(c, z, mul(get(u), get(u)));
        const series = horner(get(z), Array.from({ length: 22 }, (_, k) => (k % 2 ? -1 : 1) / (2 * k + 1)));
        assign(c, res, add(mul(get(u), series), and(get(big), f64s(Math.PI / 4))));
        assign(c, res, select(get(inv), sub(f64s(Math.PI / 2), get(res)), get(res)));
        copySign(get(res), X)(c);
        break;
      }
      case 'arcsin':
        call('arctan', div(X, op('f64x2.sqrt', mul(sub(f64s(1), X), add(f64s(1), X)))))(c);
        break;
      case 'arccos':
        mul(f64s(2), call('arctan', op('f64x2.sqrt', div(sub(f64s(1), X), add(f64s(1), X)))))(c);
        break;
      case 'sinh': {
        const em = c.local('v128');
        assign(c, em, call('expm1', AX));
        copySign(mul(f64s(0.5), add(get(em), div(get(em), add(get(em), f64s(1))))), X)(c);
        break;
      }
      case 'cosh': {
        const ex = c.local('v128');
        assign(c, ex, call('exp', AX));
        mul(f64s(0.5), add(get(ex), div(f64s(1), get(ex))))(c);
        break;
      }
      case 'tanh': {
        const em = c.local('v128');
        assign(c, em, call('expm1', mul(AX, f64s(2))));
        copySign(div(get(em), add(get(em), f64s(2))), X)(c);
        break;
      }
      case 'arcsinh': {
        const a2 = c.local('v128');
        assign(c, a2, mul(AX, AX));
        const v = call('log1p', add(AX, div(get(a2), add(f64s(1), op('f64x2.sqrt', add(f64s(1), get(a2)))))));
        copySign(select(isInf, f64s(Infinity), v), X)(c);
        break;
      }
      case 'arccosh': {
        const t = c.local('v128');
        assign(c, t, sub(X, f64s(1)));
        const v = call('log1p', add(get(t), op('f64x2.sqrt', mul(get(t), add(X, f64s(1))))));
        select(op('f64x2.lt', X, f64s(1)), nan, v)(c);
        break;
      }
      case 'arctanh': {
        const v = mul(f64s(0.5), call('log1p', div(mul(f64s(2), AX), sub(f64s(1), AX))));
        copySign(select(op('f64x2.gt', AX, f64s(1)), nan, v), X)(c);
        break;
      }
      case 'cbrt':
        copySign(call('exp', mul(call('log', AX), f64s(1 / 3))), X)(c);
        break;
    }
    return this.mb.index(fname);
  }
}

/** Math.pow's rules (ECMAScript Number::exponentiate) on exp(b ln|a|) in f64x2. */
function emitPow(c: Code, logIdx: number, expIdx: number): void {
  const a = get(c.param(0));
  const b = get(c.param(1));
  const mag = c.local('v128');
  const isInt = c.local('v128');
  const odd = c.local('v128');
  const callIdx =
    (idx: number, arg: Ex): Ex =>
    (cc) => {
      arg(cc);
      cc.call(idx);
    };
  assign(c, mag, callIdx(expIdx, mul(b, callIdx(logIdx, op('f64x2.abs', a)))));
  assign(c, isInt, op('f64x2.eq', op('f64x2.nearest', b), b));
  assign(c, odd, and(get(isInt), op('f64x2.eq', sub(b, mul(op('f64x2.floor', mul(b, f64s(0.5))), f64s(2))), f64s(1))));
  const negative = op('i64x2.eq', and(a, i64s(SIGN64)), i64s(SIGN64));
  const signed = select(and(negative, get(odd)), op('f64x2.neg', get(mag)), get(mag));
  const finiteNegative = and(op('f64x2.lt', a, f64s(0)), op('f64x2.ne', op('f64x2.abs', a), f64s(Infinity)));
  const nanCase = and(finiteNegative, not(get(isInt)));
  select(op('f64x2.eq', b, f64s(0)), f64s(1), select(nanCase, f64s(NaN), signed))(c);
}

/** Applies an f64x2 function to both halves of f32x4 arguments and packs the float32 results. */
function splitCall(c: Code, args: readonly Local[], fn: number): void {
  const low = c.local('v128');
  for (const a of args) {
    c.get(a).simd('f64x2.promote_low_f32x4');
  }
  c.call(fn);
  c.simd('f32x4.demote_f64x2_zero');
  c.set(low);
  for (const a of args) {
    c.get(a).get(a).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
    c.simd('f64x2.promote_low_f32x4');
  }
  c.call(fn);
  c.simd('f32x4.demote_f64x2_zero');
  const high = c.local('v128');
  c.set(high);
  c.get(low).get(high).shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
}

// --- the kernels' float32 exp --------------------------------------------------------------------

/** Below this e^x is under 2^-126: the kernel exp returns 0 there (softmax terms that small vanish). */
export const KERNEL_EXP_MIN = -87.33;
const LN2_HI_F = 0.693359375; // 9 significant bits: n * LN2_HI_F is exact in float32 for |n| <= 2^15
const LN2_LO_F = -2.12194440e-4;
/** 1.5 2^23: adding it rounds a float32 of magnitude below 2^22 to an integer. */
const ROUNDING_SHIFT = 12582912;

/**
 * e^x in float32 for x <= 0 (softmax after subtracting the row maximum): n = round(x log2 e),
 * r = x - n ln2 in two parts, degree-7 Taylor polynomial, times 2^n built in the exponent bits.
 * Inline: leaves the result on the stack; `scratch` holds intermediate values. keepNaN false gives
 * 0 for a NaN argument (the softmax, whose loss is NaN then anyway through the row maximum).
 */
export function kernelExp(x: Ex, scratch: { xc: Local; n: Local; r: Local }, keepNaN = true): Ex {
  const k = f32s;
  const add32 = (a: Ex, b: Ex) => op('f32x4.add', a, b);
  const mul32 = (a: Ex, b: Ex) => op('f32x4.mul', a, b);
  const sub32 = (a: Ex, b: Ex) => op('f32x4.sub', a, b);
  return (c) => {
    assign(c, scratch.xc, x);
    // t = x log2 e + 1.5 2^23 rounds to an integer n in t's low mantissa bits (ties to even, as
    // nearest): n = t - 1.5 2^23 exactly, and 2^n = (bits(t) + 127) << 23 (the shift drops the rest)
    assign(c, scratch.r, op('f32x4.max', get(scratch.xc), k(KERNEL_EXP_MIN)));
    assign(c, scratch.n, add32(mul32(get(scratch.r), k(Math.LOG2E)), k(ROUNDING_SHIFT)));
    const n = sub32(get(scratch.n), k(ROUNDING_SHIFT));
    const scale = op('i32x4.shl', op('i32x4.add', get(scratch.n), (cc) => void cc.i32x4(127)), (cc) => void cc.i32(23));
    assign(c, scratch.r, sub32(sub32(get(scratch.r), mul32(n, k(LN2_HI_F))), mul32(n, k(LN2_LO_F))));
    let p: Ex = k(1 / factorial(7));
    for (let d = 6; d >= 0; d--) p = add32(k(1 / factorial(d)), mul32(get(scratch.r), p));
    const result = and(mul32(p, scale), op('f32x4.ge', get(scratch.xc), k(KERNEL_EXP_MIN)));
    if (!keepNaN) return result(c);
    // a NaN argument fails the comparison above: put it back
    assign(c, scratch.r, result);
    select(op('f32x4.ne', get(scratch.xc), get(scratch.xc)), get(scratch.xc), get(scratch.r))(c);
  };
}
