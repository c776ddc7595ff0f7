/** Structural primitives: concatenation and slicing of vectors, and constants. */
import * as E from 'fp-ts/Either';
import { isDim, showShape } from '../shape';
import type { Primitive } from './types';

/** y = [a; b; …] (vectors);  each input's cotangent is its segment of dy */
export const concat: Primitive<'concat'> = {
  arity: 'variadic',
  batching: 'map',
  shape: (ins) => {
    if (ins.length === 0) return E.left('concat needs at least one vector');
    let n = 0;
    for (const x of ins) {
      if (x.shape.length !== 1) return E.left(`${x.label} is ${showShape(x.shape)} but concat joins vectors [n]`);
      n += x.shape[0]!;
    }
    return E.right([n]);
  },
  saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    const h = s.gemm;
    if (h?.elementwise !== undefined && v === h.values) {
      // one row copy per part, over the batch
      let y = s.outOff;
      for (let k = 0; k < s.inOff.length; k++) {
        h.elementwise.copyRows(y, s.outStride, s.inOff[k]!, s.inStride[k]!, s.nb, s.inSize[k]!);
        y += s.inSize[k]!;
      }
      return;
    }
    for (let b = 0; b < s.nb; b++) {
      let y = s.outOff + b * s.outStride;
      for (let k = 0; k < s.inOff.length; k++) {
        const x = s.inOff[k]! + b * s.inStride[k]!, n = s.inSize[k]!;
        for (let i = 0; i < n; i++) v[y + i] = v[x + i]!;
        y += n;
      }
    }
  },
  vjp: (_v, g, s) => {
    for (let b = 0; b < s.nb; b++) {
      let y = s.gOut + b * s.outStride;
      for (let k = 0; k < s.gIn.length; k++) {
        const gi = s.gIn[k]!, n = s.inSize[k]!;
        if (gi >= 0) {
          const d = gi + b * s.inStride[k]!;
          for (let i = 0; i < n; i++) g[d + i] += g[y + i]!;
        }
        y += n;
      }
    }
  },
  jvp: (_v, t, s) => concat.forward(t, s),
};

/** y = x[start : start + size] (a vector);  dx[start : start + size] += dy */
export const slice: Primitive<'slice'> = {
  arity: 1,
  batching: 'map',
  shape: (ins, p) => {
    const x = ins[0]!;
    if (x.shape.length !== 1) return E.left(`${x.label} is ${showShape(x.shape)} but slice takes a vector [n]`);
    const n = x.shape[0]!;
    if (!isDim(p.size)) return E.left(`slice at ${p.start} of ${x.label} ${showShape(x.shape)} has size ${p.size}; expected a positive integer`);
    if (!Number.isSafeInteger(p.start) || p.start < 0 || p.start + p.size > n) {
      return E.left(`slice [${p.start}, ${p.start + p.size}) is outside ${x.label} ${showShape(x.shape)}`);
    }
    return E.right([p.size]);
  },
  saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    const n = s.outSize, x0 = s.inOff[0]! + s.params.start, xs = s.inStride[0]!;
    const h = s.gemm;
    // the wasm kernel (a memmove per row) on the plan's own arena; the loop elsewhere (a JVP's tangents)
    if (h?.elementwise !== undefined && v === h.values) return h.elementwise.copyRows(s.outOff, s.outStride, x0, xs, s.nb, n);
    for (let b = 0; b < s.nb; b++) {
      const x = x0 + b * xs, y = s.outOff + b * s.outStride;
      for (let i = 0; i < n; i++) v[y + i] = v[x + i]!;
    }
  },
  vjp: (v, g, s) => {
    const n = s.outSize, d0 = s.gIn[0]! + s.params.start, xs = s.inStride[0]!;
    const h = s.gemm, k = h?.elementwise;
    // the wasm kernel: g[start + r·xs + i] += dy[r, i] over the rows (xs = 0: the sum over them)
    if (k !== undefined && v === h!.values && g === h!.grads && (s.nb === 1 || s.outStride === n)) {
      return k.accAddRows(h!.gradBase + d0, xs, h!.gradBase + s.gOut, s.nb, n);
    }
    for (let b = 0; b < s.nb; b++) {
      const d = d0 + b * xs, y = s.gOut + b * s.outStride;
      for (let i = 0; i < n; i++) g[d + i] += g[y + i]!;
    }
  },
  jvp: (_v, t, s) => slice.forward(t, s),
};

/** y = a constant of the given shape, shared by all examples; no inputs, no gradient */
export const fill: Primitive<'fill'> = {
  arity: 0,
  batching: 'map',
  shape: (_ins, p) =>
    p.shape.length <= 2 && p.shape.every(isDim) && Number.isFinite(p.value)
      ? E.right(p.shape)
      : E.left(`fill needs a shape of positive integers and a finite value, got ${showShape(p.shape)} and ${p.value}`),
  saves: { inputs: false, output: false },
  domain: { min: -2, max: 2 },
  forward: (v, s) => {
    v.fill(s.params.value, s.outOff, s.outOff + s.nb * s.outSize);
  },
  vjp: () => undefined,
  jvp: (_v, t, s) => {
    t.fill(0, s.outOff, s.outOff + s.nb * s.outSize);
  },
};
