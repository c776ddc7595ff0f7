// The blocked kernels against plain loops written here: every batch size (the 4-example blocks
// and the remainder), every shape (the 4-row blocks and the remainder), both dtypes.
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { primitiveGraph, vjpOf } from '../src/index';
import { mulberry32 } from '../src/random';

const uniform = (seed: number, n: number) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
};

describe('matvec with a shared matrix and batched vectors (the GEMM path)', () => {
  it.each(['float64', 'float32'] as const)('%s: Y = X Aᵀ, dA = dYᵀ X and dX = dY A agree with plain loops', (dtype) => {
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 11 }), fc.nat(),
      (B, m, n, seed) => {
        const g = primitiveGraph('matvec', {}, [{ shape: [m, n], batched: false }, { shape: [n], batched: true }]);
        if (E.isLeft(g)) throw new Error('matvec rejects its operands');
        const A = uniform(seed, m * n), X = uniform(seed + 1, B * n), dY = uniform(seed + 2, B * m);
        const r = vjpOf(g.right.graph, { batch: B, dtype })([A, X], [dY]);
        const f32 = (x: number) => (dtype === 'float32' ? Math.fround(x) : x);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < m; i++) {
            let y = 0;
            for (let k = 0; k < n; k++) y += f32(A[i * n + k]!) * f32(X[b * n + k]!);
            expect(Math.abs(r.outputs[0]![b * m + i]! - y)).toBeLessThanOrEqual(tol * n);
          }
          for (let k = 0; k < n; k++) {
            let dx = 0;
            for (let i = 0; i < m; i++) dx += f32(dY[b * m + i]!) * f32(A[i * n + k]!);
            expect(Math.abs(r.cotangents[1]![b * n + k]! - dx)).toBeLessThanOrEqual(tol * m);
          }
        }
        for (let i = 0; i < m; i++) {
          for (let k = 0; k < n; k++) {
            let da = 0;
            for (let b = 0; b < B; b++) da += f32(dY[b * m + i]!) * f32(X[b * n + k]!);
            expect(Math.abs(r.cotangents[0]![i * n + k]! - da)).toBeLessThanOrEqual(tol * B);
          }
        }
      },
    ), { numRuns: 150, seed: 5 });
  });
});
