/**
 * The relu-MLP kernels with a softmax cross-entropy head (teacher-student and classifier tasks), as
 * WebAssembly emitted for one shape: four independent runs in the lanes of every f32x4, so matrix
 * products are lane-wise multiply-adds with no shuffles, in 2 x 4 register tiles (V8 keeps 15 xmm
 * registers; loads are never folded into multiplies). One call trains a lane group for a chunk of
 * steps: per step the batch is transposed from the four lanes' staged rows, then forward, loss,
 * backward and the compiled update run, and the step's loss and update-finite flag are recorded.
 *
 * Memory (bytes): a shared part (the schedule's values, the held-out set) and one region per lane
 * group; every address below is base + a constant offset.
 */
import { kernelExp, MathLib, op, f32s, get, assign, select, type Ex } from './math.ts';
import { emitUpdate, type UpdateRegion } from './program.ts';
import type { Program } from '../dsl/ast.ts';
import { Arena, ModuleBuilder, type Code, type Local } from './wasm.ts';

export interface MlpShape {
  /** Layer widths: inputs, hidden..., classes. */
  readonly sizes: readonly number[];
  readonly batch: number;
  /** Steps staged per call. */
  readonly chunk: number;
  readonly steps: number;
  /** Held-out rows, and whether their targets are probabilities (else one-hot labels). */
  readonly heldOut: number;
}

export interface MlpLayout {
  readonly leaves: readonly number[];
  /** Shared part. */
  readonly lrTable: number;
  readonly heldX: number;
  readonly heldP: number;
  readonly heldY: number;
  /** Offsets inside a lane group's region. */
  readonly w: number;
  readonly g: number;
  readonly multiplier: number;
  readonly flag: number;
  readonly stagingX: number;
  readonly stagingY: number;
  /** Bytes of one lane's staged rows (x) and labels (y). */
  readonly laneX: number;
  readonly laneY: number;
  /** Four i32: the staging slot each lane reads (lanes with the same seed share one). */
  readonly laneSlots: number;
  /** Per step of a chunk: loss (v128) then flag (v128). */
  readonly record: number;
  /** Held-out loss sums (4 f64) and agreement counts (4 f32). */
  readonly evalLoss: number;
  readonly evalAgree: number;
  readonly regionBytes: number;
  readonly sharedBytes: number;
  readonly heldPadded: number;
}

export interface MlpModule {
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** regionBytes covers the kernels' part; each update module appends its own (see buildUpdateModule). */
  readonly layout: MlpLayout;
}

const add = (a: Ex, b: Ex) => op('f32x4.add', a, b);
const mul = (a: Ex, b: Ex) => op('f32x4.mul', a, b);
const sub = (a: Ex, b: Ex) => op('f32x4.sub', a, b);

/**
 * Emits the kernels of one task shape, for every program: exports train(base, t0, count) and
 * evaluate(base); imports env.update(base, lr), the program's step (buildUpdateModule).
 */
export function buildMlpModule(shape: MlpShape): MlpModule {
  const { sizes, batch: B, chunk } = shape;
  const L = sizes.length - 1;
  const C = sizes[L] as number;
  const d0 = sizes[0] as number;
  const leaves: number[] = [];
  for (let l = 0; l < L; l++) leaves.push((sizes[l] as number) * (sizes[l + 1] as number), sizes[l + 1] as number);
  const P = leaves.reduce((a, b) => a + b, 0);
  const offsetsOfLeaves: number[] = [];
  leaves.reduce((at, n) => (offsetsOfLeaves.push(at), at + n), 0);
  const wOff = (l: number): number => (offsetsOfLeaves[2 * l] as number) * 16;
  const bOff = (l: number): number => (offsetsOfLeaves[2 * l + 1] as number) * 16;

  const shared = new Arena();
  const lrTable = shared.take(shape.steps * 4);
  // held-out rows padded to whole batches, so evaluation reuses the training forward pass
  const heldPadded = Math.ceil(shape.heldOut / B) * B;
  const heldX = shared.take(heldPadded * d0 * 16);
  const heldP = shared.take(heldPadded * C * 4);
  const heldY = shared.take(heldPadded * 4);

  const region = new Arena();
  const w = region.take(P * 16);
  const g = region.take(P * 16);
  const multiplier = region.take(16);
  const flag = region.take(16);
  const laneX = chunk * B * d0 * 4;
  const laneY = chunk * B * 4;
  const stagingX = region.take(4 * laneX);
  const stagingY = region.take(4 * laneY);
  const laneSlots = region.take(16);
  const acts = sizes.map((n) => region.take(B * n * 16)); // acts[0] = the batch's inputs
  const labels = region.take(B * 16);
  const deltas = sizes.map((n, l) => (l === 0 ? -1 : region.take(B * n * 16)));
  const record = region.take(chunk * 32);
  const rowSums = region.take(B * 16);
  const evalLoss = region.take(32);
  const evalAgree = region.take(16);

  const mb = new ModuleBuilder(1);
  const updateIdx = mb.importFunction('update', ['i32', 'f32'], []);
  const lib = new MathLib(mb);
  const logIdx = lib.unary('log');

  // --- forward: acts[l + 1] = relu(acts[l] W_l + b_l) (no relu on the logits) -------------------
  const forward = mb.func('forward', ['i32', 'i32', 'i32'], [], true);
  {
    const c = forward;
    const base = c.param(0);
    const xPtr = c.param(1);
    const rows = c.param(2);
    const pIn = c.local('i32');
    const pOut = c.local('i32');
    const n = c.local('i32');
    const pa = c.local('i32');
    const pw = c.local('i32');
    const end = c.local('i32');
    const accs = Array.from({ length: 8 }, () => c.local('v128'));
    const xs = [c.local('v128'), c.local('v128')];
    const ws = Array.from({ length: 4 }, () => c.local('v128'));
    for (let l = 0; l < L; l++) {
      const a = sizes[l] as number;
      const b = sizes[l + 1] as number;
      const hidden = l + 1 < L;
      // rows in pairs, then an odd last row
      const tiles = (rowsInTile: 1 | 2): void => {
        for (let k0 = 0; k0 < b; k0 += 4) {
          const q = Math.min(4, b - k0);
          const acc = (i: number, k: number) => accs[i * 4 + k] as Local;
          for (let i = 0; i < rowsInTile; i++) for (let k = 0; k < q; k++) c.get(base).vmem('v128.load', w + bOff(l) + (k0 + k) * 16).set(acc(i, k));
          c.get(pIn).set(pa);
          c.get(base).i32(w + wOff(l) + k0 * 16).op('i32.add').set(pw);
          c.get(pIn).i32(a * 16).op('i32.add').set(end);
          c.bytes.push(0x03, 0x40);
          for (let i = 0; i < rowsInTile; i++) c.get(pa).vmem('v128.load', i * a * 16).set(xs[i]!);
          for (let k = 0; k < q; k++) c.get(pw).vmem('v128.load', k * 16).set(ws[k]!);
          for (let i = 0; i < rowsInTile; i++) for (let k = 0; k < q; k++) add(get(acc(i, k)), mul(get(xs[i]!), get(ws[k]!)))(c), c.set(acc(i, k));
          c.get(pa).i32(16).op('i32.add').set(pa);
          c.get(pw).i32(b * 16).op('i32.add').set(pw);
          c.get(pa).get(end).op('i32.lt_u').brIf(0);
          c.bytes.push(0x0b);
          for (let i = 0; i < rowsInTile; i++)
            for (let k = 0; k < q; k++) {
              c.get(pOut);
              if (hidden) op('v128.and', get(acc(i, k)), op('f32x4.gt', get(acc(i, k)), f32s(0)))(c);
              else c.get(acc(i, k));
              c.vmem('v128.store', (i * b + k0 + k) * 16);
            }
        }
      };
      if (l === 0) c.get(xPtr).set(pIn);
      else c.get(base).i32(acts[l] as number).op('i32.add').set(pIn);
      c.get(base).i32(acts[l + 1] as number).op('i32.add').set(pOut);
      c.for(n, 0, rows, 2, () => {
        c.block(() => {
          // the last row of an odd count goes alone
          c.get(n).i32(1).op('i32.add').get(rows).op('i32.ge_s').brIf(0);
          tiles(2);
          c.get(pIn).i32(2 * a * 16).op('i32.add').set(pIn);
          c.get(pOut).i32(2 * b * 16).op('i32.add').set(pOut);
        });
      });
      c.get(rows).i32(1).op('i32.and').if(() => tiles(1));
    }
  }

  // --- loss and output delta: d = (softmax - onehot) / B; records the mean cross-entropy --------
  const softmax = mb.func('softmax', ['i32', 'i32'], [], true);
  {
    const c = softmax;
    const base = c.param(0);
    const recordAt = c.param(1);
    const n = c.local('i32');
    const pz = c.local('i32');
    const pd = c.local('i32');
    const py = c.local('i32');
    const z = Array.from({ length: C }, () => c.local('v128'));
    const isLabel = Array.from({ length: C }, () => c.local('v128'));
    const m = c.local('v128');
    const s = c.local('v128');
    const y = c.local('v128');
    const zy = c.local('v128');
    const marginSum = c.local('v128');
    const product = c.local('v128');
    const logSum = c.local('v128');
    const inv = c.local('v128');
    const scratch = { xc: c.local('v128'), n: c.local('v128'), r: c.local('v128') };
    const ps = c.local('i32');
    c.get(base).i32(rowSums).op('i32.add').set(ps);
    c.f32x4(0).set(marginSum).f32x4(0).set(logSum).f32x4(1).set(product);
    c.get(base).i32(acts[L] as number).op('i32.add').set(pz);
    c.get(base).i32(deltas[L] as number).op('i32.add').set(pd);
    c.get(base).i32(labels).op('i32.add').set(py);
    c.for(n, 0, B, 1, () => {
      for (let k = 0; k < C; k++) c.get(pz).vmem('v128.load', k * 16).set(z[k]!);
      c.get(py).vmem('v128.load').set(y);
      c.get(z[0]!).set(m);
      for (let k = 1; k < C; k++) op('f32x4.max', get(m), get(z[k]!))(c), c.set(m);
      c.f32x4(0).set(s).f32x4(0).set(zy);
      for (let k = 0; k < C; k++) {
        assign(c, isLabel[k]!, op('i32x4.eq', get(y), (cc) => void cc.i32x4(k)));
        add(get(zy), op('v128.and', get(z[k]!), get(isLabel[k]!)))(c);
        c.set(zy);
        kernelExp(sub(get(z[k]!), get(m)), scratch, false)(c);
        c.set(z[k]!);
        add(get(s), get(z[k]!))(c);
        c.set(s);
      }
      add(get(marginSum), sub(get(m), get(zy)))(c);
      c.set(marginSum);
      // the row sums, for their logs after the loop (a call in this loop would spill every register)
      c.get(ps).get(s).vmem('v128.store');
      c.get(ps).i32(16).op('i32.add').set(ps);
      op('f32x4.div', f32s(1 / B), get(s))(c);
      c.set(inv);
      for (let k = 0; k < C; k++) {
        c.get(pd);
        const onehot = op('v128.and', get(isLabel[k]!), f32s(1 / B));
        sub(mul(get(z[k]!), get(inv)), onehot)(c);
        c.vmem('v128.store', k * 16);
      }
      c.get(pz).i32(C * 16).op('i32.add').set(pz);
      c.get(pd).i32(C * 16).op('i32.add').set(pd);
      c.get(py).i32(16).op('i32.add').set(py);
    });
    // sum of the logs: one log per product of eight sums (each at most C, so no overflow)
    c.get(base).i32(rowSums).op('i32.add').set(ps);
    for (let r0 = 0; r0 < B; r0 += 8) {
      c.f32x4(1).set(product);
      for (let r = r0; r < Math.min(B, r0 + 8); r++) mul(get(product), (cc) => void cc.get(ps).vmem('v128.load', (r - r0) * 16))(c), c.set(product);
      c.get(logSum).get(product).call(logIdx).simd('f32x4.add').set(logSum);
      c.get(ps).i32(128).op('i32.add').set(ps);
    }
    c.get(recordAt);
    mul(add(get(marginSum), get(logSum)), f32s(1 / B))(c);
    c.vmem('v128.store');
  }

  // --- backward: weight and bias gradients, and the delta of each hidden layer ------------------
  // each part its own function: small bodies keep TurboFan's register allocation simple
  const parts: string[] = [];
  {
    let c!: Code;
    let base!: Local;
    let j!: Local;
    let n!: Local;
    let pa!: Local;
    let pd!: Local;
    let pw!: Local;
    let end!: Local;
    let accs!: Local[];
    let xs!: Local[];
    let ds!: Local[];
    const begin = (name: string): void => {
      parts.push(name);
      c = mb.func(name, ['i32'], [], true);
      base = c.param(0);
      j = c.local('i32');
      n = c.local('i32');
      pa = c.local('i32');
      pd = c.local('i32');
      pw = c.local('i32');
      end = c.local('i32');
      accs = Array.from({ length: 8 }, () => c.local('v128'));
      xs = [c.local('v128'), c.local('v128')];
      ds = Array.from({ length: 4 }, () => c.local('v128'));
    };
    const acc = (i: number, k: number) => accs[i * 4 + k] as Local;
    const loop = (body: () => void, pointer: Local, endLocal: Local): void => {
      c.bytes.push(0x03, 0x40);
      body();
      c.get(pointer).get(endLocal).op('i32.lt_u').brIf(0);
      c.bytes.push(0x0b);
    };
    for (let l = L - 1; l >= 0; l--) {
      const a = sizes[l] as number;
      const b = sizes[l + 1] as number;
      const dOut = deltas[l + 1] as number;
      const aIn = acts[l] as number;
      // dW[j][k] = sum_n acts[n][j] d[n][k]: tiles of 2 j x 4 k over the batch
      const gradTile = (jsInTile: 1 | 2, k0: number): void => {
        const q = Math.min(4, b - k0);
        for (let i = 0; i < jsInTile; i++) for (let k = 0; k < q; k++) c.f32x4(0).set(acc(i, k));
        c.get(base).i32(aIn).op('i32.add').get(j).i32(16).op('i32.mul').op('i32.add').set(pa);
        c.get(base).i32(dOut + k0 * 16).op('i32.add').set(pd);
        c.get(pd).i32(B * b * 16).op('i32.add').set(end);
        loop(
          () => {
            for (let i = 0; i < jsInTile; i++) c.get(pa).vmem('v128.load', i * 16).set(xs[i]!);
            for (let k = 0; k < q; k++) c.get(pd).vmem('v128.load', k * 16).set(ds[k]!);
            for (let i = 0; i < jsInTile; i++) for (let k = 0; k < q; k++) add(get(acc(i, k)), mul(get(xs[i]!), get(ds[k]!)))(c), c.set(acc(i, k));
            c.get(pa).i32(a * 16).op('i32.add').set(pa);
            c.get(pd).i32(b * 16).op('i32.add').set(pd);
          },
          pd,
          end,
        );
        for (let i = 0; i < jsInTile; i++)
          for (let k = 0; k < q; k++) {
            // g[W_l][j + i][k0 + k]
            c.get(base).get(j).i32(b * 16).op('i32.mul').op('i32.add');
            c.get(acc(i, k)).vmem('v128.store', g + wOff(l) + (i * b + k0 + k) * 16);
          }
      };
      const jPairs = (k0s: readonly number[]): void => {
        c.for(j, 0, a, 2, () => {
          c.block(() => {
            c.get(j).i32(1).op('i32.add').i32(a).op('i32.ge_s').brIf(0);
            for (const k0 of k0s) gradTile(2, k0);
          });
        });
        if (a % 2 === 1) {
          c.i32(a - 1).set(j);
          for (const k0 of k0s) gradTile(1, k0);
        }
      };
      begin(`grad_w${l}`);
      // all of a pair of columns' tiles together (keeping d's column blocks in L1 instead, columns
      // outermost, measured slower)
      jPairs(Array.from({ length: Math.ceil(b / 4) }, (_, i) => 4 * i));
      // db[k] = sum_n d[n][k]
      begin(`grad_b${l}`);
      for (let k0 = 0; k0 < b; k0 += 4) {
        const q = Math.min(4, b - k0);
        for (let k = 0; k < q; k++) c.f32x4(0).set(acc(0, k));
        c.get(base).i32(dOut + k0 * 16).op('i32.add').set(pd);
        c.get(pd).i32(B * b * 16).op('i32.add').set(end);
        loop(
          () => {
            for (let k = 0; k < q; k++) add(get(acc(0, k)), (cc) => void cc.get(pd).vmem('v128.load', k * 16))(c), c.set(acc(0, k));
            c.get(pd).i32(b * 16).op('i32.add').set(pd);
          },
          pd,
          end,
        );
        for (let k = 0; k < q; k++) c.get(base).get(acc(0, k)).vmem('v128.store', g + bOff(l) + (k0 + k) * 16);
      }
      if (l === 0) break;
      // d_prev[n][j] = (acts[n][j] > 0) sum_k d[n][k] W[j][k]: tiles of 2 n x 4 j over k
      const dPrev = deltas[l] as number;
      const backTiles = (rowsInTile: 1 | 2): void => {
        // row pointers once per row pair (unrolling the short k loop was slower: TurboFan hoists and spills)
        c.get(base).get(n).i32(b * 16).op('i32.mul').op('i32.add').set(pd);
        c.get(base).get(n).i32(a * 16).op('i32.mul').op('i32.add').set(pa);
        for (let j0 = 0; j0 < a; j0 += 4) {
          const q = Math.min(4, a - j0);
          for (let i = 0; i < rowsInTile; i++) for (let k = 0; k < q; k++) c.f32x4(0).set(acc(i, k));
          const step = (dAt: Local, dOff: number, wAt: Local, wOffset: number): void => {
            for (let i = 0; i < rowsInTile; i++) c.get(dAt).vmem('v128.load', dOff + i * b * 16).set(xs[i]!);
            for (let k = 0; k < q; k++) c.get(wAt).vmem('v128.load', wOffset + k * b * 16).set(ds[k]!);
            for (let i = 0; i < rowsInTile; i++) for (let k = 0; k < q; k++) add(get(acc(i, k)), mul(get(xs[i]!), get(ds[k]!)))(c), c.set(acc(i, k));
          };
          c.get(pd).set(j);
          c.get(pd).i32(b * 16).op('i32.add').set(end);
          c.get(base).i32(w + wOff(l) + j0 * b * 16).op('i32.add').set(pw);
          loop(
            () => {
              step(j, dOut, pw, 0);
              c.get(j).i32(16).op('i32.add').set(j);
              c.get(pw).i32(16).op('i32.add').set(pw);
            },
            j,
            end,
          );
          for (let i = 0; i < rowsInTile; i++)
            for (let k = 0; k < q; k++) {
              const at = (i * a + j0 + k) * 16;
              c.get(pa);
              op('v128.and', get(acc(i, k)), op('f32x4.gt', (cc) => void cc.get(pa).vmem('v128.load', aIn + at), f32s(0)))(c);
              c.vmem('v128.store', dPrev + at);
            }
        }
      };
      begin(`delta${l}`);
      c.for(n, 0, B, 2, () => {
        c.block(() => {
          c.get(n).i32(1).op('i32.add').i32(B).op('i32.ge_s').brIf(0);
          backTiles(2);
        });
      });
      if (B % 2 === 1) {
        c.i32(B - 1).set(n);
        backTiles(1);
      }
    }
  }

  const backward = mb.func('backward', ['i32'], [], true);
  for (const name of parts) backward.get(backward.param(0)).call(mb.index(name));

  // --- the batch of step s of the chunk: four lanes' rows transposed into lane-interleaved form --
  const stage = mb.func('stage', ['i32', 'i32'], [], true);
  {
    const c = stage;
    const base = c.param(0);
    const s = c.param(1);
    const off = c.local('i32');
    const dst = c.local('i32');
    const lanes = Array.from({ length: 4 }, () => c.local('i32'));
    const r = Array.from({ length: 4 }, () => c.local('v128'));
    const t = Array.from({ length: 4 }, () => c.local('v128'));
    /** Each lane's rows of step s: the staging slot the lane reads (lanes of one seed share one). */
    const laneRows = (from: number, laneBytes: number, stepBytes: number): void => {
      lanes.forEach((l, lane) => {
        c.get(base).mem('i32.load', laneSlots + 4 * lane).i32(laneBytes).op('i32.mul');
        c.get(base).i32(from).op('i32.add').op('i32.add');
        c.get(s).i32(stepBytes).op('i32.mul').op('i32.add').set(l);
      });
    };
    /** count 32-bit values per lane from the lanes' rows to lane-interleaved values at `to`. */
    const transpose = (to: number, count: number): void => {
      c.i32(0).set(off);
      c.get(base).i32(to).op('i32.add').set(dst);
      const whole = count - (count % 4);
      if (whole > 0) {
        c.bytes.push(0x03, 0x40);
        for (let l = 0; l < 4; l++) c.get(lanes[l]!).get(off).op('i32.add').vmem('v128.load').set(r[l]!);
        const sh = (x: Local, y: Local, ls: number[], into: Local): void => void c.get(x).get(y).shuffle(ls).set(into);
        const lo = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
        const hi = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];
        sh(r[0]!, r[1]!, lo, t[0]!);
        sh(r[0]!, r[1]!, hi, t[1]!);
        sh(r[2]!, r[3]!, lo, t[2]!);
        sh(r[2]!, r[3]!, hi, t[3]!);
        const first = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
        const second = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];
        c.get(dst).get(t[0]!).get(t[2]!).shuffle(first).vmem('v128.store', 0);
        c.get(dst).get(t[0]!).get(t[2]!).shuffle(second).vmem('v128.store', 16);
        c.get(dst).get(t[1]!).get(t[3]!).shuffle(first).vmem('v128.store', 32);
        c.get(dst).get(t[1]!).get(t[3]!).shuffle(second).vmem('v128.store', 48);
        c.get(off).i32(16).op('i32.add').set(off);
        c.get(dst).i32(64).op('i32.add').set(dst);
        c.get(off).i32(whole * 4).op('i32.lt_u').brIf(0);
        c.bytes.push(0x0b);
      }
      for (let k = whole; k < count; k++) {
        c.get(dst);
        c.f32x4(0);
        for (let l = 0; l < 4; l++) c.get(lanes[l]!).mem('f32.load', k * 4).lane('f32x4.replace_lane', l);
        c.vmem('v128.store', (k - whole) * 16);
      }
    };
    laneRows(stagingX, laneX, B * d0 * 4);
    if (d0 % 4 === 0) transpose(acts[0] as number, B * d0);
    else {
      // rows of d0 values, d0 % 4 nonzero: gathered lane by lane
      const row = c.local('i32');
      c.for(row, 0, B, 1, () => {
        c.get(base).i32(acts[0] as number).op('i32.add').get(row).i32(d0 * 16).op('i32.mul').op('i32.add').set(dst);
        c.get(row).i32(d0 * 4).op('i32.mul').set(off);
        for (let k = 0; k < d0; k++) {
          c.get(dst).f32x4(0);
          for (let l = 0; l < 4; l++) c.get(lanes[l]!).get(off).op('i32.add').mem('f32.load', k * 4).lane('f32x4.replace_lane', l);
          c.vmem('v128.store', k * 16);
        }
      });
    }
    laneRows(stagingY, laneY, B * 4);
    transpose(labels, B);
  }

  // --- train(base, t0, count): count steps from schedule index t0, staged rows 0..count-1 -------
  const train = mb.func('train', ['i32', 'i32', 'i32'], [], true);
  {
    const c = train;
    const base = c.param(0);
    const t0 = c.param(1);
    const count = c.param(2);
    const s = c.local('i32');
    c.for(s, 0, count, 1, () => {
      c.get(base).get(s).call(mb.index('stage'));
      c.get(base).get(base).i32(acts[0] as number).op('i32.add').i32(B).call(mb.index('forward'));
      c.get(base).get(base).i32(record).op('i32.add').get(s).i32(32).op('i32.mul').op('i32.add').call(mb.index('softmax'));
      c.get(base).call(mb.index('backward'));
      c.get(base);
      c.get(t0).get(s).op('i32.add').i32(4).op('i32.mul').mem('f32.load', lrTable);
      c.call(updateIdx);
      c.get(base).get(s).i32(32).op('i32.mul').op('i32.add');
      c.get(base).vmem('v128.load', flag);
      c.vmem('v128.store', record + 16);
    });
  }

  // --- evaluate(base): held-out loss sum(p log softmax) in f64 and argmax agreement --------------
  const evaluate = mb.func('evaluate', ['i32'], [], true);
  {
    const c = evaluate;
    const base = c.param(0);
    const ch = c.local('i32');
    const n = c.local('i32');
    const row = c.local('i32');
    const pz = c.local('i32');
    const z = Array.from({ length: C }, () => c.local('v128'));
    const m = c.local('v128');
    const s = c.local('v128');
    const logS = c.local('v128');
    const term = c.local('v128');
    const lossLo = c.local('v128');
    const lossHi = c.local('v128');
    const agree = c.local('v128');
    const best = c.local('v128');
    const bestIndex = c.local('v128');
    const scratch = { xc: c.local('v128'), n: c.local('v128'), r: c.local('v128') };
    c.f64x2(0).set(lossLo).f64x2(0).set(lossHi).f32x4(0).set(agree);
    const chunks = heldPadded / B;
    c.for(ch, 0, chunks, 1, () => {
      c.get(base).get(ch).i32(B * d0 * 16).op('i32.mul').i32(heldX).op('i32.add').i32(B).call(mb.index('forward'));
      c.get(base).i32(acts[L] as number).op('i32.add').set(pz);
      c.for(n, 0, B, 1, () => {
        c.get(ch).i32(B).op('i32.mul').get(n).op('i32.add').set(row);
        c.get(row).i32(shape.heldOut).op('i32.lt_s').if(() => {
          for (let k = 0; k < C; k++) c.get(pz).vmem('v128.load', k * 16).set(z[k]!);
          c.get(z[0]!).set(m).get(z[0]!).set(best).i32x4(0).set(bestIndex);
          for (let k = 1; k < C; k++) {
            op('f32x4.max', get(m), get(z[k]!))(c);
            c.set(m);
            const above = op('f32x4.gt', get(z[k]!), get(best));
            assign(c, bestIndex, select(above, (cc) => void cc.i32x4(k), get(bestIndex)));
            assign(c, best, select(above, get(z[k]!), get(best)));
          }
          c.f32x4(0).set(s);
          for (let k = 0; k < C; k++) add(get(s), kernelExp(sub(get(z[k]!), get(m)), scratch))(c), c.set(s);
          // log-softmax as (z - max) - log(sum): never max + log(sum) first, which at logits far above
          // log(C) rounds to max in float32 and would score a collapsed network's loss as 0
          c.get(s).call(logIdx);
          c.set(logS);
          c.f32x4(0).set(term);
          for (let k = 0; k < C; k++) {
            const p: Ex = (cc) => void cc.get(row).i32(C * 4).op('i32.mul').vmem('v128.load32_splat', heldP + k * 4);
            add(get(term), mul(p, sub(sub(get(z[k]!), get(m)), get(logS))))(c);
            c.set(term);
          }
          c.get(lossLo).get(term).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(lossLo);
          c.get(lossHi).get(term).get(term).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(lossHi);
          const label: Ex = (cc) => void cc.get(row).i32(4).op('i32.mul').vmem('v128.load32_splat', heldY);
          add(get(agree), op('v128.and', op('i32x4.eq', get(bestIndex), label), f32s(1)))(c);
          c.set(agree);
        });
        c.get(pz).i32(C * 16).op('i32.add').set(pz);
      });
    });
    c.get(base).get(lossLo).vmem('v128.store', evalLoss);
    c.get(base).get(lossHi).vmem('v128.store', evalLoss + 16);
    c.get(base).get(agree).vmem('v128.store', evalAgree);
  }

  const layout: MlpLayout = {
    leaves,
    lrTable,
    heldX,
    heldP,
    heldY,
    w,
    g,
    multiplier,
    flag,
    stagingX,
    stagingY,
    laneX,
    laneY,
    laneSlots,
    record,
    evalLoss,
    evalAgree,
    regionBytes: region.size,
    sharedBytes: shared.size,
    heldPadded,
  };
  return { bytes: mb.bytes(), layout };
}

/**
 * A program's update step as a module of its own, exporting update(base, lr) for the kernels: it reads
 * w, g and the multipliers where the kernels keep them and puts its state slots and temporaries in
 * the region from `from` on (bytes; returns where its part ends).
 */
export function buildUpdateModule(program: Program, leaves: readonly number[], at: { w: number; g: number; multiplier: number; flag: number }, from: number): { bytes: Uint8Array<ArrayBuffer>; slots: readonly number[]; end: number } {
  const arena = new Arena();
  arena.size = Math.ceil(from / 64) * 64;
  const total = leaves.reduce((a, b) => a + b, 0);
  const slots = Array.from({ length: program.inputs.length - 3 }, () => arena.take(total * 16));
  const mb = new ModuleBuilder(1);
  const lib = new MathLib(mb);
  const region: UpdateRegion = { leaves, ...at, slots, alloc: (bytes) => arena.take(bytes) };
  const update = emitUpdate(mb, lib, program, region);
  const c = mb.func('step', ['i32', 'f32'], [], true);
  c.get(c.param(0)).get(c.param(1)).call(update.fn);
  return { bytes: mb.bytes(), slots, end: arena.size };
}
