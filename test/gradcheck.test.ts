// gradcheck: user-defined and built-in cells pass it, and it catches (and names) a wrong VJP.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { builtin, getOrThrow, gradcheck, formatGradcheck, init, primitives, unroll, loss } from '../src/index';
import { mgu } from './support/mgu';
import { randomBatch } from './support/models';

describe('gradcheck', () => {
  it('a user-defined cell (MGU, public API only) passes the full check over random sizes and lengths', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1e6 }),
        (I, H, T, B, seed) => {
          const cell = getOrThrow(mgu.instantiate({ input: I, hidden: H }));
          const u = unroll(cell, { steps: T, readout: { output: 2 } });
          const report = gradcheck(u, init(u, { seed, range: 0.8 }), randomBatch(seed + 1, T, B, I, 2));
          expect(report.ok, formatGradcheck(report)).toBe(true);
          expect(report.checked).toBe(u.params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0) + T * B * I + B * H);
        },
      ),
      { numRuns: 25, seed: 11 },
    );
  });

  it('built-in cells pass the full check over random sizes, lengths, batches and values (float64)', () => {
    const make = {
      vanilla_tanh: (I: number, H: number) => builtin.vanilla({ input: I, hidden: H }),
      vanilla_relu: (I: number, H: number) => builtin.vanilla({ input: I, hidden: H, nonlinearity: 'relu' }),
      gru: (I: number, H: number) => builtin.gru({ input: I, hidden: H }),
      lstm: (I: number, H: number) => builtin.lstm({ input: I, hidden: H }),
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(make) as (keyof typeof make)[])), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom(0.3, 0.8),
        fc.integer({ min: 0, max: 1e6 }),
        (kind, I, H, T, B, O, range, seed) => {
          const u = unroll(make[kind](I, H), { steps: T, readout: { output: O } });
          const report = gradcheck(u, init(u, { seed, range }), randomBatch(seed + 1, T, B, I, O));
          expect(report.ok, `${kind}\n${formatGradcheck(report)}`).toBe(true);
        },
      ),
      { numRuns: 60, seed: 12 },
    );
  });

  it('float32 analytic gradients pass with the documented float32 tolerances', () => {
    for (const cell of [builtin.vanilla({ input: 2, hidden: 3 }), builtin.gru({ input: 2, hidden: 3 }), builtin.lstm({ input: 2, hidden: 3 })]) {
      const u = unroll(cell, { steps: 6, readout: { output: 2 } });
      const report = gradcheck(u, init(u, { seed: 5 }), randomBatch(6, 6, 2, 2, 2), { dtype: 'float32' });
      expect(report.ok, `${cell.name}\n${formatGradcheck(report)}`).toBe(true);
    }
  });

  it('the direction mode agrees on a longer sequence, and works with a cross-entropy loss', () => {
    const u = unroll(builtin.lstm({ input: 3, hidden: 6 }), { steps: 30, readout: { output: 4 }, loss: loss.softmaxCrossEntropy() });
    const batch = randomBatch(8, 30, 2, 3, 4);
    // targets must be distributions for cross-entropy: softmax of the random numbers per row
    for (let row = 0; row < 30 * 2; row++) {
      const t = batch.targets.subarray(row * 4, row * 4 + 4);
      const z = t.reduce((s, x) => s + Math.exp(x), 0);
      t.forEach((x, i) => (t[i] = Math.exp(x) / z));
    }
    for (const seed of [1, 2, 3]) {
      const report = gradcheck(u, init(u, { seed: 9 }), batch, { mode: 'direction', seed });
      expect(report.ok, formatGradcheck(report)).toBe(true);
    }
  });

  it('never mutates what it is given', () => {
    const u = unroll(builtin.gru({ input: 2, hidden: 2 }), { steps: 3, readout: { output: 1 } });
    const params = init(u, { seed: 1 });
    const batch = randomBatch(2, 3, 2, 2, 1);
    const before = JSON.stringify([params, batch].map((o) => Object.entries(o).map(([k, v]) => [k, Array.from(v)])));
    gradcheck(u, params, batch);
    gradcheck(u, params, batch, { mode: 'direction' });
    expect(JSON.stringify([params, batch].map((o) => Object.entries(o).map(([k, v]) => [k, Array.from(v)])))).toBe(before);
  });

  describe('with a deliberately wrong sigmoid VJP', () => {
    const original = primitives.sigmoid.vjp;
    afterEach(() => {
      (primitives.sigmoid as { vjp: typeof original }).vjp = original;
    });
    it('fails, naming the parameter, index and gate that disagree', () => {
      // d σ(x) = y (1 − y) dx; the bug drops the (1 − y) factor
      (primitives.sigmoid as { vjp: typeof original }).vjp = (v, g, s) => {
        const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff;
        for (let i = 0; i < total; i++) g[d + i] += v[y + i]! * g[gy + i]!;
      };
      const u = unroll(builtin.lstm({ input: 2, hidden: 3 }), { steps: 3, readout: { output: 2 } });
      const report = gradcheck(u, init(u, { seed: 2 }), randomBatch(3, 3, 2, 2, 2));
      expect(report.ok).toBe(false);
      const names = new Set(report.mismatches.map((m) => m.name));
      expect([...names].some((n) => ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].includes(n))).toBe(true);
      const gates = new Set(report.mismatches.map((m) => m.gate).filter((g) => g !== undefined));
      expect([...gates].every((g) => ['i', 'f', 'o'].includes(g!))).toBe(true); // tanh gate g is not affected
      expect(formatGradcheck(report)).toMatch(/FAILED[\s\S]*\(gate [ifo]\): analytic .* vs numeric .*, relative error/);
      const direction = gradcheck(u, init(u, { seed: 2 }), randomBatch(3, 3, 2, 2, 2), { mode: 'direction' });
      expect(direction.ok).toBe(false);
    });
  });
});

describe('gradcheck with a seed on the final state', () => {
  it('checks the gradient of E + ⟨seed, s_T⟩, which is what the plan computes with finalStateGrad', () => {
    const u = unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 4, readout: { output: 1 } });
    const batch = {
      inputs: Float64Array.from({ length: 16 }, (_, i) => Math.sin(i)), targets: Float64Array.from({ length: 8 }, (_, i) => Math.cos(i)),
      finalStateGrad: { h: Float64Array.from({ length: 6 }, (_, i) => 0.5 - 0.2 * i) },
    };
    const r = gradcheck(u, init(u, { seed: 1 }), batch);
    expect(r.ok, formatGradcheck(r)).toBe(true);
  });
});
