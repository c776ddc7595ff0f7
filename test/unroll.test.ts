// unroll(cell, T) against the plain loop that defines it: T one-step graphs chained by hand,
// forward (state carried) and backward (the state's cotangent carried back as finalStateGrad).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { builtin, compile, getOrThrow, init, mulberry32, unroll, type Cell } from '../src/index';
import { mgu } from './support/mgu';

const cells: Record<string, (I: number, H: number) => Cell> = {
  mgu: (I, H) => getOrThrow(mgu.instantiate({ input: I, hidden: H })),
  lstm: (I, H) => builtin.lstm({ input: I, hidden: H }),
  gru: (I, H) => builtin.gru({ input: I, hidden: H }),
  vanilla_relu: (I, H) => builtin.vanilla({ input: I, hidden: H, nonlinearity: 'relu' }),
};

const close = (a: ArrayLike<number>, b: ArrayLike<number>, rtol = 1e-12): void => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(1e-14 + rtol * Math.max(Math.abs(a[i]!), Math.abs(b[i]!)));
};

describe('unroll equals the hand-written loop', () => {
  for (const [name, make] of Object.entries(cells)) {
    it(`${name}: values bit-identical, gradients summed over steps equal to 1e-12`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 3 }), fc.nat(),
          (I, H, T, B, seed) => {
            const O = 2;
            const cell = make(I, H);
            const full = unroll(cell, { steps: T, readout: { output: O } });
            const one = unroll(cell, { steps: 1, readout: { output: O } });
            const params = init(full, { seed, range: 0.7 });
            const r = mulberry32(seed + 1);
            const xs = Float64Array.from({ length: T * B * I }, () => 2 * r() - 1);
            const ys = Float64Array.from({ length: T * B * O }, () => 2 * r() - 1);
            const s0 = Object.fromEntries(cell.state.map((s) => [s.name, Float64Array.from({ length: B * s.shape[0]! }, () => r() - 0.5)]));
            const x = (t: number) => xs.subarray(t * B * I, (t + 1) * B * I);
            const y = (t: number) => ys.subarray(t * B * O, (t + 1) * B * O);

            const fullPlan = compile(full, { batch: B });
            const f = fullPlan.forward(params, { inputs: xs, targets: ys, initialState: s0 });
            const fullOutputs = Float64Array.from(f.outputs);
            const fullFinal = Object.fromEntries(Object.entries(f.finalState).map(([k, v]) => [k, Float64Array.from(v as Float64Array)]));
            const g = fullPlan.valueAndGrad(params, { inputs: xs, targets: ys, initialState: s0 });

            // forward: s_t = step(s_{t−1}, x_t), one compiled step reused T times
            const step = compile(one, { batch: B });
            const states = [s0];
            let lossSum = 0;
            for (let t = 0; t < T; t++) {
              const o = step.forward(params, { inputs: x(t), targets: y(t), initialState: states[t]! });
              expect(o.stepLosses[0]).toBe(g.stepLosses[t]);
              expect(Array.from(o.outputs)).toEqual(Array.from(fullOutputs.subarray(t * B * O, (t + 1) * B * O)));
              lossSum += o.loss;
              states.push(Object.fromEntries(Object.entries(o.finalState).map(([k, v]) => [k, Float64Array.from(v as Float64Array)])));
            }
            expect(lossSum).toBe(g.loss);
            for (const k of Object.keys(fullFinal)) expect(Array.from(states[T]![k]!)).toEqual(Array.from(fullFinal[k]!));

            // backward: walk t = T−1 … 0 carrying ∂E/∂s_t into the previous step
            const sums = Object.fromEntries(full.params.map((p) => [p.name, new Float64Array(p.shape.reduce((a, b) => a * b, 1))]));
            let carry: Record<string, Float64Array> | undefined;
            for (let t = T - 1; t >= 0; t--) {
              const o = step.valueAndGrad(params, { inputs: x(t), targets: y(t), initialState: states[t]!, ...(carry ? { finalStateGrad: carry } : {}) });
              for (const [k, v] of Object.entries(o.grads)) (v as Float64Array).forEach((d, i) => (sums[k]![i] += d));
              close(o.inputGrads, g.inputGrads.subarray(t * B * I, (t + 1) * B * I));
              for (const s of cell.state) close([o.flow[s.name]![0]!], [g.flow[s.name]![t]!]);
              carry = Object.fromEntries(Object.entries(o.initialStateGrads).map(([k, v]) => [k, Float64Array.from(v as Float64Array)]));
            }
            for (const p of full.params) close(sums[p.name]!, g.grads[p.name]!);
            for (const s of cell.state) close(carry![s.name]!, g.initialStateGrads[s.name]!);
          }),
        { numRuns: 30, seed: 17 },
      );
    });
  }
});
