/**
 * Element-wise primitives. Unary ops keep the batchedness of their input, so input and output
 * are both one contiguous run of `nb · n` values and the loops are flat. Binary ops may mix a
 * batched and an unbatched operand (x + bias): they loop over the batch with per-operand strides.
 *
 * On a plan whose arenas live in a WebAssembly memory, the hot rules (add, sub, mul, tanh,
 * sigmoid: forward and VJP) run the SIMD kernels of `src/kernels/wasm.ts` instead, through
 * `wasmRun` below; the TS loops stay the fallback (typed-array tier, unusual layouts) and the
 * reference the kernels are tested against.
 */
import type { Buf, ElementwiseKernels, Primitive, Site } from './types';
import { equalShapes, sameAsInput } from './common';

const anyReal = { min: -2, max: 2 } as const;

/**
 * How a site maps onto the wasm element-wise kernels, or undefined to run the TS loop: no
 * kernels, buffers other than the plan's own arenas (a JVP runs a forward on the tangent
 * arena), or a layout the kernels do not cover. They work on `rows` rows of n with the output
 * [rows, n] contiguous and each input's row stride n or 0 (shared): an all-batched (or an
 * unbatched) site is ONE contiguous run (rows = 1, n = nb · n); a site mixing batched and
 * shared operands is nb rows of n. `st0`, `st1` are the inputs' row strides in those terms,
 * `gb` the offset of the cotangent arena in the kernels' memory. (Plain data, no closures:
 * this runs once per site per step.)
 */
interface WasmRun {
  readonly k: ElementwiseKernels;
  readonly rows: number;
  readonly n: number;
  readonly st0: number;
  readonly st1: number;
  readonly gb: number;
}
const wasmRun = (s: Site, v: Buf, g?: Buf): WasmRun | undefined => {
  const holder = s.gemm, k = holder?.elementwise;
  if (k === undefined) return undefined;
  if (v !== holder!.values || (g !== undefined && g !== holder!.grads)) return undefined;
  const base = holder!.gradBase;
  const n = s.outSize, st0 = s.inStride[0]!, st1 = s.inStride.length > 1 ? s.inStride[1]! : n;
  if (s.nb === 1 || (st0 === n && st1 === n)) {
    if (s.nb > 1 && s.outStride !== n) return undefined;
    return { k, rows: 1, n: s.nb * n, st0: 0, st1: 0, gb: base };
  }
  if (s.outStride !== n || (st0 !== n && st0 !== 0) || (st1 !== n && st1 !== 0)) return undefined;
  return { k, rows: s.nb, n, st0, st1, gb: base };
};
/** Input i's row stride in a wasm run. */
const rowStride = (w: WasmRun, i: number): number => (i === 0 ? w.st0 : w.st1);

// ---------------------------------------------------------------------------------------------
// binary: y = a ∘ b

/** y = a + σ·b with σ = ±1 (add and sub share one kernel set);  da += dy, db += σ·dy */
const plusMinus = <K extends 'add' | 'sub'>(sign: 1 | -1): Primitive<K> => {
  const forward = (v: Buf, s: Site): void => {
    const w = wasmRun(s, v);
    if (w !== undefined) return (sign === 1 ? w.k.addRows : w.k.subRows)(s.outOff, s.inOff[0]!, w.st0, s.inOff[1]!, w.st1, w.rows, w.n);
    const n = s.outSize, [ao, bo] = s.inOff as [number, number], [as, bs] = s.inStride as [number, number];
    for (let b = 0; b < s.nb; b++) {
      const a = ao + b * as, c = bo + b * bs, y = s.outOff + b * s.outStride;
      for (let i = 0; i < n; i++) v[y + i] = v[a + i]! + sign * v[c + i]!;
    }
  };
  return {
    arity: 2, batching: 'map', shape: equalShapes, saves: { inputs: false, output: false }, domain: anyReal,
    forward,
    vjp: (v, g, s) => {
      const n = s.outSize, wr = wasmRun(s, v, g);
      for (let k = 0; k < 2; k++) {
        const gi = s.gIn[k]!, st = s.inStride[k]!, w = k === 0 ? 1 : sign;
        if (gi < 0) continue;
        if (wr !== undefined) {
          (w === 1 ? wr.k.accAddRows : wr.k.accSubRows)(wr.gb + gi, rowStride(wr, k), wr.gb + s.gOut, wr.rows, wr.n);
          continue;
        }
        for (let b = 0; b < s.nb; b++) {
          const d = gi + b * st, y = s.gOut + b * s.outStride;
          for (let i = 0; i < n; i++) g[d + i] += w * g[y + i]!;
        }
      }
    },
    // linear: the tangent map is the map itself
    jvp: (_v, t, s) => forward(t, s),
  };
};

/** y = a + b */
export const add = plusMinus<'add'>(1);
/** y = a − b */
export const sub = plusMinus<'sub'>(-1);

/** y = a ⊙ b;  da += dy ⊙ b, db += dy ⊙ a */
export const mul: Primitive<'mul'> = {
  arity: 2, batching: 'map', shape: equalShapes, saves: { inputs: true, output: false }, domain: anyReal,
  forward: (v, s) => {
    const w = wasmRun(s, v);
    if (w !== undefined) return w.k.mulRows(s.outOff, s.inOff[0]!, w.st0, s.inOff[1]!, w.st1, w.rows, w.n);
    const n = s.outSize, [ao, bo] = s.inOff as [number, number], [as, bs] = s.inStride as [number, number];
    for (let b = 0; b < s.nb; b++) {
      const a = ao + b * as, c = bo + b * bs, y = s.outOff + b * s.outStride;
      for (let i = 0; i < n; i++) v[y + i] = v[a + i]! * v[c + i]!;
    }
  },
  vjp: (v, g, s) => {
    const n = s.outSize, w = wasmRun(s, v, g);
    for (let k = 0; k < 2; k++) {
      const gi = s.gIn[k]!, st = s.inStride[k]!, other = s.inOff[1 - k]!, ost = s.inStride[1 - k]!;
      if (gi < 0) continue;
      if (w !== undefined) {
        w.k.accMulRows(w.gb + gi, rowStride(w, k), w.gb + s.gOut, other, rowStride(w, 1 - k), w.rows, w.n);
        continue;
      }
      for (let b = 0; b < s.nb; b++) {
        const d = gi + b * st, o = other + b * ost, y = s.gOut + b * s.outStride;
        for (let i = 0; i < n; i++) g[d + i] += g[y + i]! * v[o + i]!;
      }
    }
  },
  // d(a ⊙ b) = da ⊙ b + a ⊙ db
  jvp: (v, t, s) => {
    const n = s.outSize, [ao, bo] = s.inOff as [number, number], [as, bs] = s.inStride as [number, number];
    for (let b = 0; b < s.nb; b++) {
      const a = ao + b * as, c = bo + b * bs, y = s.outOff + b * s.outStride;
      for (let i = 0; i < n; i++) t[y + i] = t[a + i]! * v[c + i]! + v[a + i]! * t[c + i]!;
    }
  },
};

// ---------------------------------------------------------------------------------------------
// unary, linear: y = α x + β

/** The affine family y = α·x + β shares one kernel set; only α and β differ. */
const affine = <K extends 'neg' | 'scale' | 'shift' | 'copy'>(
  alpha: (p: Parameters<Primitive<K>['forward']>[1]['params']) => number,
  beta: (p: Parameters<Primitive<K>['forward']>[1]['params']) => number,
): Primitive<K> => ({
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: false, output: false }, domain: anyReal,
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff, a = alpha(s.params), c = beta(s.params);
    for (let i = 0; i < total; i++) v[y + i] = a * v[x + i]! + c;
  },
  // dx += α dy
  vjp: (_v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, y = s.gOut, a = alpha(s.params);
    for (let i = 0; i < total; i++) g[d + i] += a * g[y + i]!;
  },
  jvp: (_v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff, a = alpha(s.params);
    for (let i = 0; i < total; i++) t[y + i] = a * t[x + i]!;
  },
});

/** y = −x */
export const neg = affine<'neg'>(() => -1, () => 0);
/** y = factor · x */
export const scale = affine<'scale'>((p) => p.factor, () => 0);
/** y = x + offset */
export const shift = affine<'shift'>(() => 1, (p) => p.offset);
/** y = x (gives a value passed through unchanged a var of its own) */
export const copy = affine<'copy'>(() => 1, () => 0);

// ---------------------------------------------------------------------------------------------
// unary, nonlinear: each VJP reads what `saves` declares (the output y, or the input x).

/** y = tanh x;  d tanh(x) = (1 − y²) dx */
export const tanh: Primitive<'tanh'> = {
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: false, output: true }, domain: anyReal,
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff, w = wasmRun(s, v);
    if (w !== undefined) return w.k.tanh(y, x, total);
    for (let i = 0; i < total; i++) v[y + i] = Math.tanh(v[x + i]!);
  },
  vjp: (v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff, w = wasmRun(s, v, g);
    if (w !== undefined) return w.k.accTanhGrad(w.gb + d, w.gb + gy, y, total);
    for (let i = 0; i < total; i++) { const yi = v[y + i]!; g[d + i] += (1 - yi * yi) * g[gy + i]!; }
  },
  jvp: (v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) { const yi = v[y + i]!; t[y + i] = (1 - yi * yi) * t[x + i]!; }
  },
};

/** σ(x) without overflow for large |x|. */
const sigma = (x: number): number => {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
};

/** y = σ(x);  d σ(x) = y (1 − y) dx */
export const sigmoid: Primitive<'sigmoid'> = {
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: false, output: true }, domain: anyReal,
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff, w = wasmRun(s, v);
    if (w !== undefined) return w.k.sigmoid(y, x, total);
    for (let i = 0; i < total; i++) v[y + i] = sigma(v[x + i]!);
  },
  vjp: (v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff, w = wasmRun(s, v, g);
    if (w !== undefined) return w.k.accSigmoidGrad(w.gb + d, w.gb + gy, y, total);
    for (let i = 0; i < total; i++) { const yi = v[y + i]!; g[d + i] += yi * (1 - yi) * g[gy + i]!; }
  },
  jvp: (v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) { const yi = v[y + i]!; t[y + i] = yi * (1 - yi) * t[x + i]!; }
  },
};

/** y = max(x, 0);  d relu(x) = [y > 0] dx (the subgradient 0 at x = 0, as PyTorch) */
export const relu: Primitive<'relu'> = {
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: false, output: true },
  domain: { min: -2, max: 2, avoid: [0] },
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) { const xi = v[x + i]!; v[y + i] = xi > 0 ? xi : 0; }
  },
  vjp: (v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff;
    for (let i = 0; i < total; i++) if (v[y + i]! > 0) g[d + i] += g[gy + i]!;
  },
  jvp: (v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) t[y + i] = v[y + i]! > 0 ? t[x + i]! : 0;
  },
};

/** y = eˣ;  d eˣ = y dx */
export const exp: Primitive<'exp'> = {
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: false, output: true }, domain: anyReal,
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) v[y + i] = Math.exp(v[x + i]!);
  },
  vjp: (v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff;
    for (let i = 0; i < total; i++) g[d + i] += v[y + i]! * g[gy + i]!;
  },
  jvp: (v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) t[y + i] = v[y + i]! * t[x + i]!;
  },
};

/** y = ln x;  d ln(x) = dx / x */
export const log: Primitive<'log'> = {
  arity: 1, batching: 'map', shape: sameAsInput, saves: { inputs: true, output: false },
  domain: { min: 0.2, max: 3 },
  forward: (v, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) v[y + i] = Math.log(v[x + i]!);
  },
  vjp: (v, g, s) => {
    const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, x = s.inOff[0]!;
    for (let i = 0; i < total; i++) g[d + i] += g[gy + i]! / v[x + i]!;
  },
  jvp: (v, t, s) => {
    const total = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
    for (let i = 0; i < total; i++) t[y + i] = t[x + i]! / v[x + i]!;
  },
};
