// The training loop and the generated tasks: a GRU learns the adding problem past its
// baseline; a run is reproducible; divergence stops cleanly; clipping bounds every update.
import { describe, expect, it } from 'vitest';
import { addingProblem, builtin, charVocabulary, compile, init, optim, train, trainEither, unroll } from '../src/index';

describe('tasks', () => {
  it('the adding problem: two marked steps, one in each half; the target at the last step is their sum', () => {
    const T = 10, B = 5, task = addingProblem(T, B, 3);
    const { inputs, targets } = task.next();
    for (let b = 0; b < B; b++) {
      const marked = Array.from({ length: T }, (_, t) => t).filter((t) => inputs[(t * B + b) * 2 + 1] === 1);
      expect(marked).toHaveLength(2);
      expect(marked[0]).toBeLessThan(T / 2);
      expect(marked[1]).toBeGreaterThanOrEqual(T / 2);
      expect(targets[(T - 1) * B + b]).toBe(inputs[(marked[0]! * B + b) * 2]! + inputs[(marked[1]! * B + b) * 2]!);
      for (let t = 0; t < T - 1; t++) expect(targets[t * B + b]).toBe(0);
    }
    expect(Array.from(addingProblem(T, B, 3).next().inputs)).toEqual(Array.from(inputs)); // seeded
  });

  it('character windows: one-hot inputs and next-character targets', () => {
    const v = charVocabulary('abcabd');
    expect(v.chars).toEqual(['a', 'b', 'c', 'd']);
    expect(v.decode(v.encode('dab'))).toBe('dab');
    const { inputs, targets } = v.windows(3, 2, 1).next();
    for (let tb = 0; tb < 6; tb++) {
      const x = inputs.subarray(tb * 4, tb * 4 + 4), y = targets.subarray(tb * 4, tb * 4 + 4);
      expect(x.reduce((a, b) => a + b)).toBe(1);
      const next = 'abcabd'.indexOf(v.chars[x.indexOf(1)]!);
      expect(next).toBeGreaterThanOrEqual(0);
      expect(y.reduce((a, b) => a + b)).toBe(1);
    }
  });
});

describe('train', () => {
  const T = 20, B = 16;
  const u = unroll(builtin.gru({ input: 2, hidden: 8 }), { steps: T, readout: { output: 1 }, lossAt: 'last' });
  const plan = compile(u, { batch: B });

  it('a GRU learns the adding problem (T = 20) below a tenth of the baseline; the same seed gives the same run', () => {
    const run = () => {
      const task = addingProblem(T, B, 1);
      return train(plan, init(u, { seed: 2 }), { steps: 400, optimizer: optim.adam({ lr: 0.01 }), clipNorm: 1, data: () => task.next() });
    };
    const a = run();
    const tail = a.history.loss.subarray(350).reduce((s, x) => s + x, 0) / 50;
    expect(tail).toBeLessThan(addingProblem(T, B).baseline / 10);
    expect(a.stopped).toBeUndefined();
    const b = run();
    expect(Array.from(b.history.loss)).toEqual(Array.from(a.history.loss));
  });

  it('does not mutate the given params, and continues from an optimizer state', () => {
    const p0 = init(u, { seed: 2 }), copy = Float64Array.from(p0.weight_hh);
    const task = addingProblem(T, B, 1);
    const first = train(plan, p0, { steps: 3, optimizer: optim.adam({ lr: 0.01 }), data: () => task.next() });
    expect(Array.from(p0.weight_hh)).toEqual(Array.from(copy));
    const second = train(plan, first.params, { steps: 2, optimizer: optim.adam({ lr: 0.01 }), data: () => task.next(), state: first.state });
    expect(second.state.step).toBe(5);
  });

  it('clipping bounds the gradient it updates with, and reports when it clipped', () => {
    const task = addingProblem(T, B, 1);
    const seen: boolean[] = [];
    train(plan, init(u, { seed: 2 }), {
      steps: 5, optimizer: optim.sgd({ lr: 0.1 }), clipNorm: 1e-3, data: () => task.next(),
      onStep: (s) => { seen.push(s.clipped && s.gradNorm > 1e-3); },
    });
    expect(seen).toEqual([true, true, true, true, true]);
  });

  it('a diverging run stops at the first non-finite loss, keeping the last finite params', () => {
    const task = addingProblem(T, B, 1);
    const r = train(plan, init(u, { seed: 2 }), { steps: 50, optimizer: optim.sgd({ lr: 1e6 }), data: () => task.next() });
    expect(r.stopped?.reason).toMatch(/not finite|non-finite|the loss is/);
    expect(r.steps).toBeLessThan(50);
    expect(r.history.loss.every(Number.isFinite)).toBe(true);
    for (const v of Object.values(r.params)) expect(v.every(Number.isFinite)).toBe(true);
  });

  it('bad options are values', () => {
    const e = trainEither(plan, init(u), { steps: -1, optimizer: optim.sgd({ lr: 1 }), clipNorm: 0, data: () => addingProblem(T, B).next() });
    expect(e._tag === 'Left' && e.left.map((i) => i.message)).toEqual(['steps is -1; expected a non-negative integer', 'clipNorm is 0; expected a positive number']);
  });
});
