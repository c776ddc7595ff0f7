/** Reductions: sums and means to a scalar, softmax and log-softmax over a vector, the batch mean. */
import * as E from 'fp-ts/Either';
import type { Buf, Primitive, Site } from './types';
import { sameAsInput, vectorIn } from './common';

/** Σ or mean of all elements of each example, by `weight` (1 or 1/n). */
const reduceAll = (v: Buf, s: Site, weight: number): void => {
  const n = s.inSize[0]!, xs = s.inStride[0]!;
  for (let b = 0; b < s.nb; b++) {
    const x = s.inOff[0]! + b * xs;
    let acc = 0;
    for (let i = 0; i < n; i++) acc += v[x + i]!;
    v[s.outOff + b * s.outStride] = acc * weight;
  }
};

/** dx[i] += weight · dy: the VJP of both reductions. */
const spreadBack = (g: Buf, s: Site, weight: number): void => {
  const n = s.inSize[0]!, xs = s.inStride[0]!, d0 = s.gIn[0]!;
  for (let b = 0; b < s.nb; b++) {
    const d = d0 + b * xs, dy = g[s.gOut + b * s.outStride]! * weight;
    for (let i = 0; i < n; i++) g[d + i] += dy;
  }
};

/** y = Σ_i x_i (to a scalar);  dx_i += dy */
export const sum: Primitive<'sum'> = {
  arity: 1, batching: 'map', shape: () => E.right([]), saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => reduceAll(v, s, 1),
  vjp: (_v, g, s) => spreadBack(g, s, 1),
  jvp: (_v, t, s) => reduceAll(t, s, 1),
};

/** y = (1/n) Σ_i x_i;  dx_i += dy / n */
export const mean: Primitive<'mean'> = {
  arity: 1, batching: 'map', shape: () => E.right([]), saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => reduceAll(v, s, 1 / s.inSize[0]!),
  vjp: (_v, g, s) => spreadBack(g, s, 1 / s.inSize[0]!),
  jvp: (_v, t, s) => reduceAll(t, s, 1 / s.inSize[0]!),
};

/** Writes log Σ_i exp(x_i) of one example, computed around its max so it cannot overflow. */
const logSumExp = (v: Buf, x: number, n: number): number => {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (v[x + i]! > m) m = v[x + i]!;
  let acc = 0;
  for (let i = 0; i < n; i++) acc += Math.exp(v[x + i]! - m);
  return m + Math.log(acc);
};

/** y = exp(x − lse(x));  dx += y ⊙ (dy − ⟨dy, y⟩) */
export const softmax: Primitive<'softmax'> = {
  arity: 1, batching: 'map', shape: vectorIn, saves: { inputs: false, output: true },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const x = s.inOff[0]! + b * s.inStride[0]!, y = s.outOff + b * s.outStride, lse = logSumExp(v, x, n);
      for (let i = 0; i < n; i++) v[y + i] = Math.exp(v[x + i]! - lse);
    }
  },
  vjp: (v, g, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const y = s.outOff + b * s.outStride, gy = s.gOut + b * s.outStride, d = s.gIn[0]! + b * s.inStride[0]!;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += g[gy + i]! * v[y + i]!;
      for (let i = 0; i < n; i++) g[d + i] += v[y + i]! * (g[gy + i]! - dot);
    }
  },
  jvp: (v, t, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const y = s.outOff + b * s.outStride, x = s.inOff[0]! + b * s.inStride[0]!;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += t[x + i]! * v[y + i]!;
      for (let i = 0; i < n; i++) t[y + i] = v[y + i]! * (t[x + i]! - dot);
    }
  },
};

/** y = x − lse(x);  dx += dy − softmax(x) Σ_i dy_i, with softmax(x) = exp(y) */
export const logSoftmax: Primitive<'logSoftmax'> = {
  arity: 1, batching: 'map', shape: vectorIn, saves: { inputs: false, output: true },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const x = s.inOff[0]! + b * s.inStride[0]!, y = s.outOff + b * s.outStride, lse = logSumExp(v, x, n);
      for (let i = 0; i < n; i++) v[y + i] = v[x + i]! - lse;
    }
  },
  vjp: (v, g, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const y = s.outOff + b * s.outStride, gy = s.gOut + b * s.outStride, d = s.gIn[0]! + b * s.inStride[0]!;
      let total = 0;
      for (let i = 0; i < n; i++) total += g[gy + i]!;
      for (let i = 0; i < n; i++) g[d + i] += g[gy + i]! - Math.exp(v[y + i]!) * total;
    }
  },
  jvp: (v, t, s) => {
    const n = s.outSize;
    for (let b = 0; b < s.nb; b++) {
      const y = s.outOff + b * s.outStride, x = s.inOff[0]! + b * s.inStride[0]!;
      let dot = 0;
      for (let i = 0; i < n; i++) dot += Math.exp(v[y + i]!) * t[x + i]!;
      for (let i = 0; i < n; i++) t[y + i] = t[x + i]! - dot;
    }
  },
};

/** y = (1/B) Σ_b x_b over the examples of the batch (drops the batch dimension);  dx_b += dy / B */
export const batchMean: Primitive<'batchMean'> = {
  arity: 1, batching: 'reduce', shape: sameAsInput, saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => batchMeanInto(v, v, s),
  vjp: (_v, g, s) => {
    const n = s.outSize, xs = s.inStride[0]!, w = 1 / s.batch;
    for (let b = 0; b < s.batch; b++) {
      const d = s.gIn[0]! + b * xs;
      for (let i = 0; i < n; i++) g[d + i] += g[s.gOut + i]! * w;
    }
  },
  jvp: (_v, t, s) => batchMeanInto(t, t, s),
};

function batchMeanInto(src: Buf, dst: Buf, s: Site): void {
  const n = s.outSize, xs = s.inStride[0]!, w = 1 / s.batch;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let b = 0; b < s.batch; b++) acc += src[s.inOff[0]! + b * xs + i]!;
    dst[s.outOff + i] = acc * w;
  }
}
