/**
 * matvec: y = A x, A of shape [m, n] row-major (PyTorch's weight layout), x of shape [n].
 * With A shared and x batched this is the GEMM Y[B, m] = X[B, n] · Aᵀ; the loops below are
 * written so the inner loop always walks a contiguous row.
 */
import * as E from 'fp-ts/Either';
import { showShape } from '../shape';
import type { Buf, Primitive } from './types';

/** y[i] = Σ_k A[i, k] x[k] for one example; four rows of A per pass reuse each x[k] load. */
const matvecInto = (v: Buf, y: number, a: number, x: number, m: number, n: number): void => {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = a + i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < n; k++) {
      const xk = v[x + k]!;
      s0 += v[r0 + k]! * xk; s1 += v[r1 + k]! * xk; s2 += v[r2 + k]! * xk; s3 += v[r3 + k]! * xk;
    }
    v[y + i] = s0; v[y + i + 1] = s1; v[y + i + 2] = s2; v[y + i + 3] = s3;
  }
  for (; i < m; i++) {
    const r = a + i * n;
    let s = 0;
    for (let k = 0; k < n; k++) s += v[r + k]! * v[x + k]!;
    v[y + i] = s;
  }
};

/** y = A x;  dA += dy xᵀ, dx += Aᵀ dy */
export const matvec: Primitive<'matvec'> = {
  arity: 2,
  batching: 'map',
  shape: (ins) => {
    const [a, x] = ins as [{ shape: readonly number[]; label: string }, { shape: readonly number[]; label: string }];
    if (a.shape.length !== 2) return E.left(`${a.label} is ${showShape(a.shape)} but matvec needs a matrix [m, n] first (times ${x.label} ${showShape(x.shape)})`);
    if (x.shape.length !== 1) return E.left(`${x.label} is ${showShape(x.shape)} but matvec needs a vector [n] second (after ${a.label} ${showShape(a.shape)})`);
    if (a.shape[1] !== x.shape[0]) {
      return E.left(`${a.label} is ${showShape(a.shape)} but ${x.label} is ${showShape(x.shape)} (${a.shape[1]} expected)`);
    }
    return E.right([a.shape[0]!]);
  },
  saves: { inputs: true, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    const [m, n] = s.inShape[0] as [number, number];
    const [ao, xo] = s.inOff as [number, number], [as, xs] = s.inStride as [number, number];
    for (let b = 0; b < s.nb; b++) matvecInto(v, s.outOff + b * s.outStride, ao + b * as, xo + b * xs, m, n);
  },
  vjp: (v, g, s) => {
    const [m, n] = s.inShape[0] as [number, number];
    const [ao, xo] = s.inOff as [number, number], [as, xs] = s.inStride as [number, number];
    const [ga, gx] = s.gIn as [number, number];
    for (let b = 0; b < s.nb; b++) {
      const gy = s.gOut + b * s.outStride, a = ao + b * as, x = xo + b * xs;
      if (ga >= 0) {
        // dA[i, :] += dy[i] · x  (stride 0 for a shared A: the sum over the batch)
        const d = ga + b * as;
        for (let i = 0; i < m; i++) {
          const dyi = g[gy + i]!;
          if (dyi === 0) continue;
          const r = d + i * n;
          for (let k = 0; k < n; k++) g[r + k] += dyi * v[x + k]!;
        }
      }
      if (gx >= 0) {
        // dx += Σ_i dy[i] · A[i, :]
        const d = gx + b * xs;
        for (let i = 0; i < m; i++) {
          const dyi = g[gy + i]!;
          if (dyi === 0) continue;
          const r = a + i * n;
          for (let k = 0; k < n; k++) g[d + k] += dyi * v[r + k]!;
        }
      }
    }
  },
  // d(A x) = dA x + A dx
  jvp: (v, t, s) => {
    const [m, n] = s.inShape[0] as [number, number];
    const [ao, xo] = s.inOff as [number, number], [as, xs] = s.inStride as [number, number];
    for (let b = 0; b < s.nb; b++) {
      const y = s.outOff + b * s.outStride;
      for (let i = 0; i < m; i++) {
        const ra = ao + b * as + i * n, x = xo + b * xs;
        let sum = 0;
        for (let k = 0; k < n; k++) sum += t[ra + k]! * v[x + k]! + v[ra + k]! * t[x + k]!;
        t[y + i] = sum;
      }
    }
  },
};
