// Fused element-wise groups (src/fuse.ts): a plan that runs each run of element-wise eqns as one
// pass gives exactly the bits of the plan that runs them one by one (values, gradients, flow),
// for the built-in cells, a custom cell, stacked and masked unrolls, random generated cells, and
// over 1, 2 or 3 threads; it keeps the transient gate values out of the arena; and it only
// applies where it can (the wasm kernels, not under memory: 'keep').
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cellRecipe, recipeCell } from '../laws/random-cells';
import { builtin, compile, defineCell, getOrThrow, init, op, stack, unroll, type Cell } from '../src/index';
import { sameBits, splitPools, uniform } from './support/bits';
import { mgu } from './support/mgu';

const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => sameBits(a, b, what, ['fused', 'unfused']);

type AnyPlan = ReturnType<typeof compile>;
type Batch = Parameters<AnyPlan['valueAndGrad']>[1];

/** Everything a training step returns, copied out of the plan's buffers. */
const snapshot = (plan: AnyPlan, params: Parameters<AnyPlan['valueAndGrad']>[0], batch: Batch) => {
  const r = plan.valueAndGrad(params, batch);
  const copy = (o: Record<string, ArrayLike<number>>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
  const f = plan.forward(params, batch);
  return {
    loss: [r.loss], stepLosses: Array.from(r.stepLosses), grads: copy(r.grads), inputGrads: Array.from(r.inputGrads),
    initialStateGrads: copy(r.initialStateGrads), flow: copy(r.flow), outputs: Array.from(f.outputs), finalState: copy(f.finalState),
  };
};
const sameSnapshots = (a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>, what: string) => {
  for (const key of Object.keys(b) as (keyof typeof b)[]) {
    const x = a[key], y = b[key];
    if (Array.isArray(y)) same(x as number[], y, `${what} ${key}`);
    else for (const [k, v] of Object.entries(y)) same((x as Record<string, number[]>)[k]!, v, `${what} ${key}.${k}`);
  }
};

const I = 5, H = 12, O = 4, T = 6, B = 3;
// biases subtracted and added inside the gate math: their gradients are the groups' row sums
const biased = getOrThrow(defineCell({
  name: 'biased',
  sizes: ['input', 'hidden'],
  params: ({ input, hidden }) => ({ W: [hidden, input + hidden], b: [hidden], c: [hidden] }),
  state: ({ hidden }) => ({ h: [hidden] }),
  step: (p, x, { h }) => {
    const z = op.sub(op.matvec(p.W, op.concat(x, h)), p.b);
    const next = op.tanh(op.add(op.mul(z, op.sigmoid(op.sub(p.c, z))), p.c));
    return { state: { h: next }, output: next };
  },
}).instantiate({ input: I, hidden: H })) as Cell;
const cells: [string, Cell][] = [
  ['vanilla tanh', builtin.vanilla({ input: I, hidden: H })],
  ['vanilla relu', builtin.vanilla({ input: I, hidden: H, nonlinearity: 'relu' })],
  ['gru', builtin.gru({ input: I, hidden: H })],
  ['lstm', builtin.lstm({ input: I, hidden: H })],
  ['mgu (custom)', getOrThrow(mgu.instantiate({ input: I, hidden: H })) as Cell],
  ['biased (custom: shared operands added and subtracted)', biased],
  ['stacked lstm + gru', stack(builtin.lstm({ input: I, hidden: H }), builtin.gru({ input: H, hidden: H }))],
];

const pools = splitPools();

describe('fused element-wise groups', () => {
  it.each(cells)('%s: loss, outputs, gradients and flow are bit-identical fused and unfused (float32, float64, 1–3 threads)', (_name, cell) => {
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const params = init(u, { seed: 3, range: 0.8 });
    const batch = { inputs: uniform(1, T * B * I), targets: uniform(2, T * B * O) };
    for (const dtype of ['float32', 'float64'] as const) {
      const plain = compile(u, { batch: B, dtype, fuse: false });
      expect(plain.fused).toBe(0);
      const want = snapshot(plain, params, batch);
      for (const threads of [undefined, pools.two, pools.three]) {
        const fused = compile(u, { batch: B, dtype, ...(threads ? { threads } : {}) });
        expect(fused.fused, 'groups').toBeGreaterThanOrEqual(T);
        sameSnapshots(snapshot(fused, params, batch), want, `${dtype} ${threads?.threads ?? 1} thread(s)`);
      }
    }
  });

  it('masked batches: the same bits fused and unfused', () => {
    const cell = builtin.lstm({ input: I, hidden: H });
    const mask = Float64Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < 2 + (i % B) ? 1 : 0));
    const batch = { inputs: uniform(7, T * B * I), targets: uniform(8, T * B * O), mask };
    const u = unroll(cell, { steps: T, readout: { output: O }, masked: true });
    const params = init(u, { seed: 5 });
    for (const dtype of ['float32', 'float64'] as const) {
      sameSnapshots(snapshot(compile(u, { batch: B, dtype, threads: pools.two }), params, batch), snapshot(compile(u, { batch: B, dtype, fuse: false }), params, batch), `masked ${dtype}`);
    }
  });

  it('random generated cells: fused and unfused plans agree bit for bit', () => {
    let fusedRuns = 0, runs = 0;
    fc.assert(
      fc.property(
        cellRecipe({ maxInput: 3, maxHidden: 6, maxStateFields: 2, maxOps: 10 }).map((r) => ({ ...r, hidden: r.hidden + 3 })),
        fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 6 }), fc.constantFrom('float32', 'float64'),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (recipe, steps, batchSize, output, dtype, seed) => {
          const u = unroll(recipeCell(recipe), { steps, readout: { output } });
          const params = init(u, { seed });
          const batch = { inputs: uniform(seed + 1, steps * batchSize * recipe.input), targets: uniform(seed + 2, steps * batchSize * output) };
          const fused = compile(u, { batch: batchSize, dtype, threads: pools.two });
          runs++;
          if (fused.fused > 0) fusedRuns++;
          sameSnapshots(snapshot(fused, params, batch), snapshot(compile(u, { batch: batchSize, dtype, fuse: false }), params, batch), 'random cell');
        },
      ),
      { numRuns: 60, seed: 20261127 },
    );
    expect(fusedRuns / runs, 'share of generated cells that had a group to fuse').toBeGreaterThan(0.5);
  });

  it('a GRU step is one group: the input-gate slices are carried past the hidden projection to join it', () => {
    const u = unroll(builtin.gru({ input: I, hidden: H }), { steps: T, readout: { output: 2 } });
    // readout O = 2 is under the minimum width: only the cells' groups
    expect(compile(u, { batch: B }).fused).toBe(T);
  });

  it('needs about the arena of the unfused plan (gate sums and slices get no slot; a group keeps its reads to its end)', () => {
    for (const cell of [builtin.lstm({ input: I, hidden: 64 }), builtin.gru({ input: I, hidden: 64 })]) {
      const u = unroll(cell, { steps: 16, readout: { output: O } });
      const fused = compile(u, { batch: 8 }), plain = compile(u, { batch: 8, fuse: false });
      expect(fused.fused).toBeGreaterThan(0);
      expect(fused.memory.valueElements).toBeLessThanOrEqual(1.02 * plain.memory.valueElements);
      expect(fused.memory.gradElements).toBeLessThanOrEqual(1.02 * plain.memory.gradElements);
      expect(fused.memory.savedElements).toBe(plain.memory.savedElements);
    }
  });

  it('applies only on the wasm kernels and not under memory: keep', () => {
    const u = unroll(builtin.lstm({ input: I, hidden: H }), { steps: T, readout: { output: 2 } });
    expect(compile(u, { batch: B }).fused).toBe(T);
    expect(compile(u, { batch: B, kernels: 'js' }).fused).toBe(0);
    expect(compile(u, { batch: B, memory: 'keep' }).fused).toBe(0);
    expect(compile(u, { batch: B, fuse: false }).fused).toBe(0);
  });
});
