// Checkpointed BPTT against one plan over the whole sequence: same loss, gradients, input and
// initial-state gradients and flow; less memory; no typed-array allocation after the first call.
import { describe, expect, it } from 'vitest';
import { builtin, checkpointed, checkpointedEither, compile, formatIssues, getOrThrow, init, unroll, type Cell } from '../src/index';
import { mulberry32 } from '../src/random';
import { countingTypedArrays } from './support/allocations';
import { mgu } from './support/mgu';

const uniform = (seed: number, n: number) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
};
const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `${what}[${i}]`).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b[i]!)));
};

describe('checkpointed', () => {
  const cells: [string, Cell][] = [['lstm', builtin.lstm({ input: 2, hidden: 3 })], ['gru', builtin.gru({ input: 2, hidden: 3 })], ['mgu', getOrThrow(mgu.instantiate({ input: 2, hidden: 3 }))]];
  it.each(cells)('%s: every k (dividing T or not) gives the full BPTT results', (_n, cell) => {
    const T = 11, B = 2, O = 2;
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const params = init(u, { seed: 1, range: 0.8 });
    const batch = { inputs: uniform(2, T * B * 2), targets: uniform(3, T * B * O), initialState: Object.fromEntries(cell.state.map((s) => [s.name, uniform(4, B * 3)])) };
    const full = compile(u, { batch: B }).valueAndGrad(params, batch);
    for (const every of [1, 3, 4, 11, 20]) {
      const r = checkpointed(cell, { steps: T, every, batch: B, readout: { output: O } }).valueAndGrad(params, batch);
      expect(Math.abs(r.loss - full.loss)).toBeLessThanOrEqual(1e-13 * full.loss);
      close(r.stepLosses, full.stepLosses, 'stepLosses');
      for (const [k, g] of Object.entries(full.grads)) close(r.grads[k]!, g, k);
      close(r.inputGrads, full.inputGrads, 'inputGrads');
      for (const [k, g] of Object.entries(full.initialStateGrads)) close(r.initialStateGrads[k]!, g as ArrayLike<number>, `initialStateGrads.${k}`);
      for (const [k, g] of Object.entries(full.flow)) close(r.flow[k]!, g as ArrayLike<number>, `flow.${k}`);
    }
  });

  it('masked batches too', () => {
    const cell = builtin.gru({ input: 2, hidden: 3 }), T = 9, B = 3;
    const mask = Float64Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < [9, 4, 6][i % B]! ? 1 : 0));
    const batch = { inputs: uniform(5, T * B * 2), targets: uniform(6, T * B), mask };
    const u = unroll(cell, { steps: T, readout: { output: 1 }, masked: true });
    const params = init(u, { seed: 2 });
    const full = compile(u, { batch: B }).valueAndGrad(params, batch);
    const r = checkpointed(cell, { steps: T, every: 4, batch: B, readout: { output: 1 }, masked: true }).valueAndGrad(params, batch);
    for (const [k, g] of Object.entries(full.grads)) close(r.grads[k]!, g, k);
  });

  it('an LSTM over T = 2,000 with k = 45 holds a fraction of one plan\'s memory, and a second call allocates nothing', () => {
    const cell = builtin.lstm({ input: 4, hidden: 16 }), T = 2000, B = 2;
    const run = checkpointed(cell, { steps: T, every: 45, batch: B, readout: { output: 1 } });
    const whole = compile(unroll(cell, { steps: T, readout: { output: 1 } }), { batch: B });
    expect(run.memory.bytes).toBeLessThan(whole.memory.bytes / 5);
    const params = init(whole.unrolled, { seed: 3 });
    const batch = { inputs: uniform(7, T * B * 4), targets: uniform(8, T * B) };
    const a = run.valueAndGrad(params, batch);
    const b = whole.valueAndGrad(params, batch);
    expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-12 * b.loss);
    close(a.grads['weight_hh']!, b.grads.weight_hh, 'weight_hh');
    countingTypedArrays((counts) => {
      run.valueAndGrad(params, batch);
      expect(counts.n).toBe(0);
    });
  });

  it('bad options and input are named', () => {
    const cell = builtin.vanilla({ input: 1, hidden: 2 });
    const e = checkpointedEither(cell, { steps: 0, every: 2, batch: 1 });
    expect(e._tag === 'Left' && formatIssues(e.left)).toBe('checkpointed › steps: steps is 0; expected a positive integer');
    const run = checkpointed(cell, { steps: 3, every: 2, batch: 1 });
    const r = run.valueAndGradEither(init(unroll(cell, { steps: 3 })), { inputs: new Float64Array(2), targets: new Float64Array(6) });
    expect(r._tag === 'Left' && formatIssues(r.left)).toBe('batch › inputs: inputs has 2 numbers; expected 3');
  });
});
