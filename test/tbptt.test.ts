// Truncated BPTT against full BPTT: k₁ = k₂ = T is the same computation; k₂ = T with any k₁
// sums to the full gradient; a small k₂ is checked against windows unrolled by hand.
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { builtin, compile, formatIssues, init, tbptt, tbpttEither, unroll } from '../src/index';
import { mulberry32 } from '../src/random';

const cell = builtin.lstm({ input: 2, hidden: 3 });
const T = 7, B = 2, O = 2;
const uniform = (seed: number, n: number) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
};
const inputs = uniform(1, T * B * 2), targets = uniform(2, T * B * O);
const full = unroll(cell, { steps: T, readout: { output: O } });
const params = init(full, { seed: 3, range: 0.7 });
const reference = compile(full, { batch: B }).valueAndGrad(params, { inputs, targets });
const fullGrads = Object.fromEntries(Object.entries(reference.grads).map(([k, g]) => [k, Float64Array.from(g)]));
const fullLoss = reference.loss;

describe('tbptt', () => {
  it('k₁ = k₂ = T gives exactly the full BPTT gradient', () => {
    const r = tbptt(cell, { k1: T, k2: T, batch: B, readout: { output: O } }).valueAndGrad(params, { inputs, targets });
    expect(r.segments).toBe(1);
    expect(r.loss).toBe(fullLoss);
    for (const [k, g] of Object.entries(fullGrads)) expect(Array.from(r.grads[k]!)).toEqual(Array.from(g));
  });

  it.each([1, 2, 3, 5])('k₂ = T with k₁ = %i: every segment reaches the start, so the sum is the full gradient', (k1) => {
    const r = tbptt(cell, { k1, k2: T, batch: B, readout: { output: O } }).valueAndGrad(params, { inputs, targets });
    expect(r.segments).toBe(Math.ceil(T / k1));
    expect(Math.abs(r.loss - fullLoss)).toBeLessThan(1e-13);
    for (const [k, g] of Object.entries(fullGrads)) g.forEach((x, i) => expect(Math.abs(r.grads[k]![i]! - x)).toBeLessThan(1e-13 * Math.max(1, Math.abs(x))));
  });

  it('k₁ = 2, k₂ = 3: each segment is its 2 losses backpropagated through its last 3 steps', () => {
    const r = tbptt(cell, { k1: 2, k2: 3, batch: B, readout: { output: O } }).valueAndGrad(params, { inputs, targets });
    // windows [0,2) [1,4) [3,6) [4,7) (k₂ steps back from each end) with losses on [0,2) [2,4) [4,6) [6,7), each from the true state at its start
    const step = compile(unroll(cell, { steps: 1, readout: { output: O } }), { batch: B });
    const states: Record<string, Float64Array>[] = [{ h: new Float64Array(B * 3), c: new Float64Array(B * 3) }];
    for (let t = 0; t < T; t++) {
      const f = step.forward(params, { inputs: inputs.subarray(t * B * 2, (t + 1) * B * 2), targets: targets.subarray(t * B * O, (t + 1) * B * O), initialState: states[t]! });
      states.push(Object.fromEntries(Object.entries(f.finalState).map(([k, v]) => [k, Float64Array.from(v)])));
    }
    const sum: Record<string, Float64Array> = Object.fromEntries(Object.entries(fullGrads).map(([k, g]) => [k, new Float64Array(g.length)]));
    for (const [from, to, lossFrom] of [[0, 2, 0], [1, 4, 2], [3, 6, 4], [4, 7, 6]] as const) {
      const w = Array.from({ length: to - from }, (_, t) => (from + t >= lossFrom ? 1 : 0));
      const win = compile(unroll(cell, { steps: to - from, readout: { output: O }, stepWeights: w }), { batch: B });
      const g = win.valueAndGrad(params, { inputs: inputs.subarray(from * B * 2, to * B * 2), targets: targets.subarray(from * B * O, to * B * O), initialState: states[from]! });
      for (const [k, v] of Object.entries<ArrayLike<number>>(g.grads)) for (let i = 0; i < v.length; i++) sum[k]![i] += v[i]!;
    }
    for (const [k, g] of Object.entries(sum)) g.forEach((x, i) => expect(r.grads[k]![i]).toBeCloseTo(x, 14));
    // truncation changes the gradient: the recurrent weights lose their long paths
    expect(Array.from(r.grads['weight_hh']!)).not.toEqual(Array.from(fullGrads['weight_hh']!));
    expect(Math.abs(r.loss - fullLoss)).toBeLessThan(1e-13); // the loss itself is not truncated
  });

  it('stateful: two calls on halves continue the stream; the loss equals one call on the whole', () => {
    const tb = tbptt(cell, { k1: 3, k2: 3, batch: B, readout: { output: O }, stateful: true });
    const half = 4;
    const a = tb.valueAndGrad(params, { inputs: inputs.subarray(0, half * B * 2), targets: targets.subarray(0, half * B * O) });
    const b = tb.valueAndGrad(params, { inputs: inputs.subarray(half * B * 2), targets: targets.subarray(half * B * O) });
    expect(Math.abs(a.loss + b.loss - fullLoss)).toBeLessThan(1e-13);
    tb.reset();
    const again = tb.valueAndGrad(params, { inputs: inputs.subarray(half * B * 2), targets: targets.subarray(half * B * O) });
    expect(again.loss).not.toBeCloseTo(b.loss, 10); // from zeros, not from where the first half ended
  });

  it('bad options are named', () => {
    const msg = (e: E.Either<readonly import('../src/index').LoopgradIssue[], unknown>) => (E.isLeft(e) ? formatIssues(e.left) : 'no error');
    expect(msg(tbpttEither(cell, { k1: 4, k2: 2, batch: 1 }))).toBe('tbptt › k2: k2 is 2 but k1 is 4: each segment\'s 4 losses must be backpropagated through at least those 4 steps (k2 ≥ k1)');
    expect(msg(tbpttEither(cell, { k1: 0, k2: 2, batch: 1 }))).toBe('tbptt › k1: k1 is 0; expected a positive integer');
    expect(msg(tbptt(cell, { k1: 2, k2: 2, batch: 2 }).valueAndGradEither(params, { inputs: new Float64Array(5), targets: new Float64Array(6) })))
      .toBe('batch › inputs: inputs has 5 numbers, not a positive multiple of B 2 × I 2 = 4');
  });
});
