// The planned typed-array engine against the scalar reference engine (a hand-written BPTT loop),
// over random cells, sizes, lengths, batches and values: loss, every gradient and ‖∂E/∂h_t‖.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, nest, torchName, unroll } from '../src/index';
import { referenceGrad } from './reference/rnn';
import { caseArb, decodeCase, kinds, makeFiles, maxViolation } from './support/models';

const engineGrad = (files: ReturnType<typeof makeFiles>, dtype: 'float64' | 'float32' = 'float64', memory: 'reuse' | 'keep' = 'reuse') => {
  const { model, data } = decodeCase(files, files.model);
  const u = unroll(model.cell, { steps: data.steps, readout: { output: model.outputSize } });
  const r = compile(u, { batch: data.batch, dtype, memory }).valueAndGrad(model.params, data);
  const grads: Record<string, unknown> = {};
  for (const p of u.params) grads[torchName(p.name)] = nest(r.grads[p.name], p.shape);
  grads['inputs'] = nest(r.inputGrads, [data.steps, data.batch, model.cell.inputSize]);
  return { loss: r.loss, grads, dLoss_dh_norm: Array.from(r.flow.h ?? []) };
};

describe('planned engine = scalar reference engine', () => {
  for (const kind of kinds) {
    it(`${kind}: loss, all gradients and ‖∂E/∂h_t‖ agree to 1e-10 relative (float64)`, () => {
      fc.assert(
        fc.property(caseArb(kind), (c) => {
          const files = makeFiles(c);
          const ref = referenceGrad(files.model, files.data);
          const got = engineGrad(files);
          // Both are exact float64 computations differing only in summation order.
          expect(maxViolation(got.loss, ref.loss, 1e-10, 1e-14)).toBeLessThanOrEqual(1);
          for (const [name, g] of Object.entries(ref.grads)) {
            expect(maxViolation(got.grads[name], g, 1e-10, 1e-14), name).toBeLessThanOrEqual(1);
          }
          expect(maxViolation(got.dLoss_dh_norm, ref.dLoss_dh_norm, 1e-10, 1e-14)).toBeLessThanOrEqual(1);
        }),
        { numRuns: 40, seed: 42 },
      );
    });
  }

  it('float32 plans agree with the float64 reference within single-precision tolerance', () => {
    fc.assert(
      fc.property(caseArb(), (c) => {
        const files = makeFiles(c);
        const ref = referenceGrad(files.model, files.data);
        const got = engineGrad(files, 'float32');
        expect(maxViolation(got.loss, ref.loss, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
        for (const [name, g] of Object.entries(ref.grads)) expect(maxViolation(got.grads[name], g, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 40, seed: 7 },
    );
  });

  it('memory reuse changes nothing: plans with and without slot reuse give bit-identical results', () => {
    fc.assert(
      fc.property(caseArb(undefined, 8), (c) => {
        const files = makeFiles(c);
        expect(engineGrad(files, 'float64', 'reuse')).toEqual(engineGrad(files, 'float64', 'keep'));
      }),
      { numRuns: 40, seed: 3 },
    );
  });
});
