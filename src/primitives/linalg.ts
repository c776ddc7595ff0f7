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

/**
 * Four examples × four rows: Y[b, i] = Σ_k X[b, k] A[i, k] with sixteen accumulators, so each
 * load of x or A feeds four multiply-adds. Y is [4, m] at y, X [4, n] at x, A [m, n] at a.
 */
const gemmXAt = (v: Buf, y: number, a: number, x: number, m: number, n: number): void => {
  const x0 = x, x1 = x + n, x2 = x1 + n, x3 = x2 + n;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = a + i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let k = 0; k < n; k++) {
      const a0 = v[r0 + k]!, a1 = v[r1 + k]!, a2 = v[r2 + k]!, a3 = v[r3 + k]!;
      const e0 = v[x0 + k]!, e1 = v[x1 + k]!, e2 = v[x2 + k]!, e3 = v[x3 + k]!;
      s00 += e0 * a0; s01 += e0 * a1; s02 += e0 * a2; s03 += e0 * a3;
      s10 += e1 * a0; s11 += e1 * a1; s12 += e1 * a2; s13 += e1 * a3;
      s20 += e2 * a0; s21 += e2 * a1; s22 += e2 * a2; s23 += e2 * a3;
      s30 += e3 * a0; s31 += e3 * a1; s32 += e3 * a2; s33 += e3 * a3;
    }
    const y0 = y + i, y1 = y0 + m, y2 = y1 + m, y3 = y2 + m;
    v[y0] = s00; v[y0 + 1] = s01; v[y0 + 2] = s02; v[y0 + 3] = s03;
    v[y1] = s10; v[y1 + 1] = s11; v[y1 + 2] = s12; v[y1 + 3] = s13;
    v[y2] = s20; v[y2 + 1] = s21; v[y2 + 2] = s22; v[y2 + 3] = s23;
    v[y3] = s30; v[y3 + 1] = s31; v[y3 + 2] = s32; v[y3 + 3] = s33;
  }
  for (; i < m; i++) {
    const r = a + i * n;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let k = 0; k < n; k++) {
      const ak = v[r + k]!;
      s0 += v[x0 + k]! * ak; s1 += v[x1 + k]! * ak; s2 += v[x2 + k]! * ak; s3 += v[x3 + k]! * ak;
    }
    v[y + i] = s0; v[y + m + i] = s1; v[y + 2 * m + i] = s2; v[y + 3 * m + i] = s3;
  }
};

/**
 * dA[i, k] += Σ_b dY[b, i] X[b, k] over all B examples (A shared): four rows × four columns
 * of dA at a time, the sum over the batch in registers. dY [B, m] at gy (in g), X [B, n] at x.
 */
const gemmDyTX = (g: Buf, v: Buf, ga: number, gy: number, x: number, m: number, n: number, B: number): void => {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    let k = 0;
    for (; k + 4 <= n; k += 4) {
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
      for (let b = 0; b < B; b++) {
        const d = gy + b * m + i, e = x + b * n + k;
        const d0 = g[d]!, d1 = g[d + 1]!, d2 = g[d + 2]!, d3 = g[d + 3]!;
        const e0 = v[e]!, e1 = v[e + 1]!, e2 = v[e + 2]!, e3 = v[e + 3]!;
        s00 += d0 * e0; s01 += d0 * e1; s02 += d0 * e2; s03 += d0 * e3;
        s10 += d1 * e0; s11 += d1 * e1; s12 += d1 * e2; s13 += d1 * e3;
        s20 += d2 * e0; s21 += d2 * e1; s22 += d2 * e2; s23 += d2 * e3;
        s30 += d3 * e0; s31 += d3 * e1; s32 += d3 * e2; s33 += d3 * e3;
      }
      const r0 = ga + i * n + k, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      g[r0] += s00; g[r0 + 1] += s01; g[r0 + 2] += s02; g[r0 + 3] += s03;
      g[r1] += s10; g[r1 + 1] += s11; g[r1 + 2] += s12; g[r1 + 3] += s13;
      g[r2] += s20; g[r2 + 1] += s21; g[r2 + 2] += s22; g[r2 + 3] += s23;
      g[r3] += s30; g[r3 + 1] += s31; g[r3 + 2] += s32; g[r3 + 3] += s33;
    }
    for (; k < n; k++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let b = 0; b < B; b++) {
        const d = gy + b * m + i, ek = v[x + b * n + k]!;
        s0 += g[d]! * ek; s1 += g[d + 1]! * ek; s2 += g[d + 2]! * ek; s3 += g[d + 3]! * ek;
      }
      const r = ga + i * n + k;
      g[r] += s0; g[r + n] += s1; g[r + 2 * n] += s2; g[r + 3 * n] += s3;
    }
  }
  for (; i < m; i++) {
    for (let k = 0; k < n; k++) {
      let s0 = 0;
      for (let b = 0; b < B; b++) s0 += g[gy + b * m + i]! * v[x + b * n + k]!;
      g[ga + i * n + k] += s0;
    }
  }
};

/**
 * dX[b, k] += Σ_i dY[b, i] A[i, k] for four examples (dX [4, n] at gx, dY [4, m] at gy):
 * four examples × four columns at a time, the sum over rows in registers.
 */
const gemmDyA = (g: Buf, v: Buf, gx: number, gy: number, a: number, m: number, n: number): void => {
  const d0 = gy, d1 = gy + m, d2 = d1 + m, d3 = d2 + m;
  let k = 0;
  for (; k + 4 <= n; k += 4) {
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let i = 0; i < m; i++) {
      const r = a + i * n + k;
      const a0 = v[r]!, a1 = v[r + 1]!, a2 = v[r + 2]!, a3 = v[r + 3]!;
      const e0 = g[d0 + i]!, e1 = g[d1 + i]!, e2 = g[d2 + i]!, e3 = g[d3 + i]!;
      s00 += e0 * a0; s01 += e0 * a1; s02 += e0 * a2; s03 += e0 * a3;
      s10 += e1 * a0; s11 += e1 * a1; s12 += e1 * a2; s13 += e1 * a3;
      s20 += e2 * a0; s21 += e2 * a1; s22 += e2 * a2; s23 += e2 * a3;
      s30 += e3 * a0; s31 += e3 * a1; s32 += e3 * a2; s33 += e3 * a3;
    }
    const x0 = gx + k, x1 = x0 + n, x2 = x1 + n, x3 = x2 + n;
    g[x0] += s00; g[x0 + 1] += s01; g[x0 + 2] += s02; g[x0 + 3] += s03;
    g[x1] += s10; g[x1 + 1] += s11; g[x1 + 2] += s12; g[x1 + 3] += s13;
    g[x2] += s20; g[x2 + 1] += s21; g[x2 + 2] += s22; g[x2 + 3] += s23;
    g[x3] += s30; g[x3 + 1] += s31; g[x3 + 2] += s32; g[x3 + 3] += s33;
  }
  for (; k < n; k++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = 0; i < m; i++) {
      const ak = v[a + i * n + k]!;
      s0 += g[d0 + i]! * ak; s1 += g[d1 + i]! * ak; s2 += g[d2 + i]! * ak; s3 += g[d3 + i]! * ak;
    }
    g[gx + k] += s0; g[gx + n + k] += s1; g[gx + 2 * n + k] += s2; g[gx + 3 * n + k] += s3;
  }
};

/** dx += Σ_i dy[i] · A[i, :] for one example. */
const dxRow = (g: Buf, v: Buf, d: number, gy: number, a: number, m: number, n: number): void => {
  for (let i = 0; i < m; i++) {
    const dyi = g[gy + i]!;
    if (dyi === 0) continue;
    const r = a + i * n;
    for (let k = 0; k < n; k++) g[d + k] += dyi * v[r + k]!;
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
    let b = 0;
    // a shared A and batched x: Y[B, m] = X[B, n] · Aᵀ: the plan's wasm kernel, or four examples × four rows at a time
    if (as === 0 && xs === n && s.outStride === m) {
      const wasm = s.gemm?.kernels;
      if (wasm !== undefined) return wasm.nt(s.outOff, xo, ao, s.nb, m, n);
      for (; b + 4 <= s.nb; b += 4) gemmXAt(v, s.outOff + b * m, ao, xo + b * n, m, n);
    }
    for (; b < s.nb; b++) matvecInto(v, s.outOff + b * s.outStride, ao + b * as, xo + b * xs, m, n);
  },
  vjp: (v, g, s) => {
    const [m, n] = s.inShape[0] as [number, number];
    const [ao, xo] = s.inOff as [number, number], [as, xs] = s.inStride as [number, number];
    const [ga, gx] = s.gIn as [number, number];
    if (as === 0 && xs === n && s.outStride === m) {
      // shared A, batched x: dA += dYᵀ X (the sum over the batch) and dX += dY A, blocked
      const wasm = s.gemm?.kernels;
      if (wasm !== undefined) {
        const base = s.gemm!.gradBase;
        if (ga >= 0) wasm.tnAcc(base + ga, base + s.gOut, xo, s.nb, m, n);
        if (gx >= 0) wasm.nnAcc(base + gx, base + s.gOut, ao, s.nb, m, n);
        return;
      }
      if (ga >= 0) gemmDyTX(g, v, ga, s.gOut, xo, m, n, s.nb);
      if (gx >= 0) {
        let b = 0;
        for (; b + 4 <= s.nb; b += 4) gemmDyA(g, v, gx + b * n, s.gOut + b * m, ao, m, n);
        for (; b < s.nb; b++) dxRow(g, v, gx + b * n, s.gOut + b * m, ao, m, n);
      }
      return;
    }
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
      if (gx >= 0) dxRow(g, v, gx + b * xs, gy, a, m, n);
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
