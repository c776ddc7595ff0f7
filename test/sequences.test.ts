// Training-time unroll options: variable-length (masked) batches, many-to-one losses, per-step
// weights and a learned initial state. The masked batch is checked against each sequence run
// alone, the other options against the plain unroll they must equal.
import fc from 'fast-check';
import type * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import {
  builtin, compile, formatIssues, getOrThrow, gradcheck, init, LoopgradError, unroll, unrollEither, type Cell, type LoopgradIssue,
} from '../src/index';
import { mulberry32 } from '../src/random';
import { mgu } from './support/mgu';

const cells: readonly [string, Cell][] = [
  ['gru', builtin.gru({ input: 2, hidden: 3 })],
  ['lstm', builtin.lstm({ input: 2, hidden: 3 })],
  ['mgu', getOrThrow(mgu.instantiate({ input: 2, hidden: 3 }))],
];

const uniform = (r: () => number, n: number) => Float64Array.from({ length: n }, () => 2 * r() - 1);
/** Example b's own rows [T_b, 1, n] of a [T, B, n] array. */
const rowsOf = (a: Float64Array, B: number, n: number, b: number, Tb: number) =>
  Float64Array.from({ length: Tb * n }, (_, k) => a[Math.floor(k / n) * B * n + b * n + (k % n)]!);
const close = (a: number, b: number, rel = 1e-12) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(a), Math.abs(b)));

describe('a masked batch of sequences of different lengths', () => {
  it.each(cells)('%s: loss, every gradient and the final state equal running each sequence alone', (_n, cell) => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom<'every' | 'last'>('every', 'last'),
      (lengths, seed, lossAt) => {
        const B = lengths.length, T = Math.max(...lengths), I = cell.inputSize, O = 2, r = mulberry32(seed);
        const u = unroll(cell, { steps: T, readout: { output: O }, masked: true, lossAt });
        const params = init(u, { seed, range: 0.8 });
        const inputs = uniform(r, T * B * I), targets = uniform(r, T * B * O);
        const mask = Float64Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < lengths[i % B]! ? 1 : 0));
        // padding holds garbage: it must not matter
        for (let i = 0; i < T * B; i++) if (mask[i] === 0) for (let k = 0; k < I; k++) inputs[i * I + k] = 1e3;
        const all = compile(u, { batch: B }).valueAndGrad(params, { inputs, targets, mask });
        const sum: Record<string, Float64Array> = Object.fromEntries(Object.entries(all.grads).map(([k, g]) => [k, new Float64Array(g.length)]));
        let loss = 0;
        lengths.forEach((Tb, b) => {
          const alone = compile(unroll(cell, { steps: Tb, readout: { output: O }, lossAt }), { batch: 1 });
          const one = alone.valueAndGrad(params, { inputs: rowsOf(inputs, B, I, b, Tb), targets: rowsOf(targets, B, O, b, Tb) });
          loss += one.loss / B;
          for (const [k, g] of Object.entries<ArrayLike<number>>(one.grads)) for (let i = 0; i < g.length; i++) sum[k]![i] += g[i]! / B;
          const xg = rowsOf(Float64Array.from(all.inputGrads), B, I, b, T);
          for (let i = 0; i < Tb * I; i++) close(xg[i]!, one.inputGrads[i]! / B);
          for (let i = Tb * I; i < T * I; i++) expect(xg[i]).toBe(0); // padded steps get no gradient
          const fin = alone.forward(params, { inputs: rowsOf(inputs, B, I, b, Tb), targets: rowsOf(targets, B, O, b, Tb) }).finalState;
          const batched = compile(u, { batch: B }).forward(params, { inputs, targets, mask }).finalState;
          for (const f of cell.state) {
            const n = f.shape[0]!;
            for (let i = 0; i < n; i++) expect(batched[f.name]![b * n + i]).toBe((fin as Record<string, ArrayLike<number>>)[f.name]![i]);
          }
        });
        close(all.loss, loss);
        for (const [k, g] of Object.entries<ArrayLike<number>>(all.grads)) for (let i = 0; i < g.length; i++) close(g[i]!, sum[k]![i]!);
      },
    ), { numRuns: 25, seed: 7 });
  });

  it('passes gradcheck', () => {
    const u = unroll(builtin.lstm({ input: 2, hidden: 3 }), { steps: 5, readout: { output: 2 }, masked: true });
    const r = mulberry32(5);
    const mask = Float64Array.from([1, 1, 1, 1, 1, 0, 1, 0, 1, 0]); // lengths 5 and 2, [T, B]
    const report = gradcheck(u, init(u, { seed: 2 }), { inputs: uniform(r, 20), targets: uniform(r, 20), mask });
    expect(report.ok).toBe(true);
  });
});

describe('many-to-one and per-step weights', () => {
  const cell = builtin.gru({ input: 2, hidden: 3 });
  const T = 4, B = 2, r = mulberry32(11);
  const batch = { inputs: uniform(r, T * B * 2), targets: uniform(r, T * B * 2) };
  const plain = compile(unroll(cell, { steps: T, readout: { output: 2 } }), { batch: B });
  const params = init(unroll(cell, { steps: T, readout: { output: 2 } }), { seed: 1 });
  const base = plain.valueAndGrad(params, batch);
  const stepLosses = Float64Array.from(base.stepLosses);

  it("lossAt 'last' is E_{T−1} alone, and equals stepWeights [0, …, 0, 1]", () => {
    const last = compile(unroll(cell, { steps: T, readout: { output: 2 }, lossAt: 'last' }), { batch: B }).valueAndGrad(params, batch);
    expect(last.loss).toBe(stepLosses[T - 1]);
    expect(Array.from(last.stepLosses.subarray(0, T - 1))).toEqual([0, 0, 0]);
    const lastGrads = Float64Array.from(last.grads.weight_hh);
    const w = compile(unroll(cell, { steps: T, readout: { output: 2 }, stepWeights: [0, 0, 0, 1] }), { batch: B }).valueAndGrad(params, batch);
    expect(Array.from(w.grads.weight_hh)).toEqual(Array.from(lastGrads));
  });

  it('stepWeights scale each E_t and its gradient', () => {
    const weights = [0.5, 0, 2, -1];
    const w = compile(unroll(cell, { steps: T, readout: { output: 2 }, stepWeights: weights }), { batch: B }).valueAndGrad(params, batch);
    weights.forEach((c, t) => close(w.stepLosses[t]!, c * stepLosses[t]!));
    close(w.loss, weights.reduce((s, c, t) => s + c * stepLosses[t]!, 0));
    const u = unroll(cell, { steps: T, readout: { output: 2 }, stepWeights: weights });
    expect(gradcheck(u, params, batch).ok).toBe(true);
  });
});

describe('a learned initial state', () => {
  it('is a parameter init.<field> added to the given state; its gradient sums ∂E/∂s_0 over the batch', () => {
    const cell = builtin.lstm({ input: 2, hidden: 3 });
    const T = 3, B = 2, r = mulberry32(3);
    const u = unroll(cell, { steps: T, readout: { output: 1 }, learnInitialState: true });
    expect(u.params.map((p) => p.name)).toEqual(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'readout.weight', 'readout.bias', 'init.h', 'init.c']);
    const params = { ...init(u, { seed: 4 }), 'init.h': uniform(r, 3), 'init.c': uniform(r, 3) };
    const batch = { inputs: uniform(r, T * B * 2), targets: uniform(r, T * B) };
    const learned = compile(u, { batch: B }).valueAndGrad(params, batch);
    const fixed = unroll(cell, { steps: T, readout: { output: 1 } });
    const tile = (v: Float64Array) => Float64Array.from({ length: B * v.length }, (_, i) => v[i % v.length]!);
    const given = compile(fixed, { batch: B }).valueAndGrad(params, { ...batch, initialState: { h: tile(params['init.h']), c: tile(params['init.c']) } });
    close(learned.loss, given.loss);
    for (const f of ['h', 'c'] as const) {
      const g = learned.grads[`init.${f}`], s0 = given.initialStateGrads[f];
      for (let i = 0; i < 3; i++) close(g[i]!, s0[i]! + s0[3 + i]!);
    }
    expect(gradcheck(u, params, batch).ok).toBe(true);
  });
});

describe('bad options and masks are named', () => {
  const cell = builtin.vanilla({ input: 1, hidden: 2 });
  const issues = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return formatIssues((e as LoopgradError).issues);
    }
    return '';
  };

  it('unroll options', () => {
    expect(formatIssues((unrollEither(cell, { steps: 3, stepWeights: [1, 1] }) as E.Left<readonly LoopgradIssue[]>).left)).toBe('unroll › stepWeights: stepWeights has 2 entries; expected one per step (3)');
    expect(formatIssues((unrollEither(cell, { steps: 2, stepWeights: [1, NaN] }) as E.Left<readonly LoopgradIssue[]>).left)).toBe('unroll › stepWeights › 1: stepWeights[1] is NaN; expected a finite number');
    expect(formatIssues((unrollEither(cell, { steps: 2, lossAt: 'first' as never }) as E.Left<readonly LoopgradIssue[]>).left)).toBe("unroll › lossAt: lossAt is first; expected 'every' or 'last'");
  });

  it('masks', () => {
    const T = 2, B = 2;
    const batch = { inputs: new Float64Array(T * B), targets: new Float64Array(T * B * 2) };
    const params = init(unroll(cell, { steps: T }));
    const masked = compile(unroll(cell, { steps: T, masked: true }), { batch: B });
    const last = compile(unroll(cell, { steps: T, masked: true, lossAt: 'last' }), { batch: B });
    const plain = compile(unroll(cell, { steps: T }), { batch: B });
    expect(issues(() => masked.valueAndGrad(params, batch))).toBe('batch › mask: mask is missing; expected 4 numbers [T 2, B 2]');
    expect(issues(() => masked.valueAndGrad(params, { ...batch, mask: [1, 1, 0.5, 1] }))).toBe('batch › mask › 2: mask[t=1, b=0] is 0.5; expected 0 (padding) or 1 (valid)');
    expect(issues(() => last.valueAndGrad(params, { ...batch, mask: [0, 1, 1, 1] }))).toBe("batch › mask › 2: mask[t=1, b=0] is 1 after a 0: with lossAt 'last' each sequence must be valid steps then padding");
    expect(issues(() => plain.valueAndGrad(params, { ...batch, mask: [1, 1, 1, 1] }))).toBe('batch › mask: a mask is given but the graph was not unrolled with masked: true');
  });
});
