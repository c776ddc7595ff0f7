// Worker threads: the threaded matrix products give the same bits as the caller's own kernels
// for any shape and split, so a plan compiled with a pool returns exactly what a plan without
// one returns (every built-in cell, a custom cell, stacked, masked, checkpointed, truncated),
// allocates nothing after its first call, survives a closed pool and a worker that traps, and
// bad options are named.
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import {
  builtin, checkpointed, compile, compileEither, formatIssues, getOrThrow, init, stack, startThreads, tbptt, unroll,
  ThreadError, type Cell, type ThreadPool,
} from '../src/index';
import { arenaFor, attachThreads, Pool } from '../src/kernels/threads';
import { sameBits, splitPools, uniform } from './support/bits';
import { countingTypedArrays } from './support/allocations';
import { mgu } from './support/mgu';

/** Same bits, element by element. */
const same = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => sameBits(a, b, what, ['with threads', 'without']);

const pools = splitPools();

describe('threaded kernels', () => {
  it.each(['float32', 'float64'] as const)('%s: nt, tnAcc and nnAcc give the same bits as one thread, any shape, 2 or 3 threads', (dtype) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 41 }), fc.integer({ min: 1, max: 35 }), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (rows, m, n, useThree, seed) => {
          const pool = useThree ? pools.three : pools.two;
          const jobs = (pool as Pool).jobs;
          const X = 0, A = rows * n, Y = A + m * n, Y2 = Y + rows * m, DA = Y2 + rows * m, DX = DA + m * n, size = DX + rows * n;
          const arena = arenaFor(true, 2 * size, dtype)!;
          const threaded = attachThreads(pool, arena)!.gemm;
          expect(threaded).toBeDefined();
          const d = arena.data;
          d.set(uniform(seed, size));
          d.copyWithin(size, 0, size); // the second half: the same inputs, run without threads
          threaded.nt(Y, X, A, rows, m, n);
          arena.nt(size + Y, size + X, size + A, rows, m, n);
          same(d.subarray(Y, Y + rows * m), d.subarray(size + Y, size + Y + rows * m), 'nt');
          threaded.tnAcc(DA, Y2, X, rows, m, n);
          arena.tnAcc(size + DA, size + Y2, size + X, rows, m, n);
          same(d.subarray(DA, DA + m * n), d.subarray(size + DA, size + DA + m * n), 'tnAcc');
          threaded.nnAcc(DX, Y2, A, rows, m, n);
          arena.nnAcc(size + DX, size + Y2, size + A, rows, m, n);
          same(d.subarray(DX, DX + rows * n), d.subarray(size + DX, size + DX + rows * n), 'nnAcc');
          // the workers took blocks whenever there were rows to spare (≥ 2 blocks of 2 or 4)
          if (rows > 4 || m > 4) expect((pool as Pool).jobs).toBeGreaterThan(jobs);
        },
      ),
      { numRuns: 60, seed: 1 },
    );
  });

  it.each(['float32', 'float64'] as const)('%s: tanh and sigmoid split over the threads give the same bits as one thread, any count', (dtype) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (count, offset, useThree, seed) => {
        const pool = useThree ? pools.three : pools.two;
        const arena = arenaFor(true, 2400, dtype)!; // inputs at 0…315, outputs at 1000… and 2000…
        const { elementwise } = attachThreads(pool, arena)!;
        const d = arena.data;
        d.set(uniform(seed, 310).map((v) => 8 * v), offset); // inputs at an odd offset, some large
        const jobs = (pool as Pool).jobs;
        for (const op of ['tanh', 'sigmoid'] as const) {
          elementwise[op](1000, offset, count);
          arena[op](2000, offset, count);
          same(d.subarray(1000, 1000 + count), d.subarray(2000, 2000 + count), op);
        }
        if (count > 4) expect((pool as Pool).jobs).toBeGreaterThan(jobs);
      }),
      { numRuns: 60, seed: 2 },
    );
  });

  it('a worker whose kernel traps makes the call throw a ThreadError; the pool keeps working', () => {
    const arena = arenaFor(true, 16384, 'float32')!; // one 64 KiB page
    const k = attachThreads(pools.two, arena)!.gemm;
    // 8 rows of 2000 from element 8192: the caller's 4 rows end at 16192, inside the page; the worker's run past its end
    expect(() => k.nt(8192, 0, 0, 8, 2000, 1)).toThrow(ThreadError);
    expect(() => k.nt(8192, 0, 0, 8, 2000, 1)).toThrow(/worker thread failed/);
    arena.data.fill(1, 0, 8);
    k.nt(100, 0, 0, 8, 1, 1);
    same(arena.data.subarray(100, 108), new Float32Array(8).fill(1), 'after the trap');
  });
});

describe('plans with threads', () => {
  const H = 6, I = 3, O = 2;
  const cells: [string, Cell][] = [
    ['vanilla', builtin.vanilla({ input: I, hidden: H })],
    ['gru', builtin.gru({ input: I, hidden: H })],
    ['lstm', builtin.lstm({ input: I, hidden: H })],
    ['mgu (custom)', getOrThrow(mgu.instantiate({ input: I, hidden: H }))],
    ['stacked lstm', stack(builtin.lstm({ input: I, hidden: H }), builtin.gru({ input: H, hidden: H }))],
  ];
  it.each(cells)('%s: loss, gradients and flow are bit-identical with and without a pool (float32, float64)', (_name, cell) => {
    const T = 7, B = 9;
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const params = init(u, { seed: 4, range: 0.7 });
    const batch = { inputs: uniform(5, T * B * I), targets: uniform(6, T * B * O) };
    for (const dtype of ['float32', 'float64'] as const) {
      const plain = compile(u, { batch: B, dtype }).valueAndGrad(params, batch);
      for (const pool of [pools.two, pools.three]) {
        const plan = compile(u, { batch: B, dtype, threads: pool });
        expect(plan.threads).toBe(pool.threads);
        const jobs = (pool as Pool).jobs;
        const r = plan.valueAndGrad(params, batch);
        expect((pool as Pool).jobs).toBeGreaterThan(jobs);
        expect(r.loss).toBe(plain.loss);
        for (const [k, g] of Object.entries(plain.grads)) same((r.grads as Record<string, ArrayLike<number>>)[k]!, g as ArrayLike<number>, `${dtype} ${k}`);
        same(r.inputGrads, plain.inputGrads, `${dtype} inputGrads`);
        for (const [k, f] of Object.entries(plain.flow)) same((r.flow as Record<string, ArrayLike<number>>)[k]!, f as ArrayLike<number>, `${dtype} flow.${k}`);
      }
    }
  });

  it('masked batches, checkpointed and truncated BPTT: the same bits with a pool', () => {
    const cell = builtin.gru({ input: I, hidden: H }), T = 9, B = 8;
    const mask = Float64Array.from({ length: T * B }, (_, i) => (Math.floor(i / B) < 2 + (i % B) ? 1 : 0));
    const batch = { inputs: uniform(7, T * B * I), targets: uniform(8, T * B * O), mask };
    const u = unroll(cell, { steps: T, readout: { output: O }, masked: true });
    const params = init(u, { seed: 5 });
    const a = compile(u, { batch: B, threads: pools.two }).valueAndGrad(params, batch);
    const b = compile(u, { batch: B }).valueAndGrad(params, batch);
    for (const [k, g] of Object.entries(b.grads)) same(a.grads[k as keyof typeof a.grads], g, `masked ${k}`);

    const plainBatch = { inputs: batch.inputs, targets: batch.targets };
    const cp = (threads?: ThreadPool) => checkpointed(cell, { steps: T, every: 4, batch: B, readout: { output: O }, ...(threads ? { threads } : {}) }).valueAndGrad(params, plainBatch);
    const c1 = cp(pools.two), c0 = cp();
    for (const [k, g] of Object.entries(c0.grads)) same(c1.grads[k]!, g, `checkpointed ${k}`);
    const tb = (threads?: ThreadPool) => tbptt(cell, { k1: 3, k2: 5, batch: B, readout: { output: O }, ...(threads ? { threads } : {}) }).valueAndGrad(params, plainBatch);
    const t1 = getOrThrow(E.right(tb(pools.two))), t0 = tb();
    expect(t1.loss).toBe(t0.loss);
    for (const [k, g] of Object.entries(t0.grads)) same(t1.grads[k]!, g, `tbptt ${k}`);
  });

  it('a second training step allocates no typed array', () => {
    const cell = builtin.lstm({ input: I, hidden: H }), T = 5, B = 8;
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const plan = compile(u, { batch: B, dtype: 'float32', threads: pools.two });
    const params = init(u, { seed: 6 });
    const batch = { inputs: uniform(9, T * B * I), targets: uniform(10, T * B * O) };
    plan.valueAndGrad(params, batch);
    countingTypedArrays((counter) => {
      plan.valueAndGrad(params, batch);
      expect(counter.n).toBe(0);
    });
  });

  it('after close, a plan runs on the calling thread with the same results; new plans report 1 thread', async () => {
    const pool = await startThreads({ threads: 2, minFlops: 0 });
    const cell = builtin.lstm({ input: I, hidden: H }), T = 4, B = 6;
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const params = init(u, { seed: 7 });
    const batch = { inputs: uniform(11, T * B * I), targets: uniform(12, T * B * O) };
    const plan = compile(u, { batch: B, threads: pool });
    const before = Float64Array.from(plan.valueAndGrad(params, batch).grads.weight_hh);
    expect(pool.closed).toBe(false);
    await pool.close();
    expect(pool.closed).toBe(true);
    same(plan.valueAndGrad(params, batch).grads.weight_hh, before, 'weight_hh after close');
    expect(compile(u, { batch: B, threads: pool }).threads).toBe(1);
  });
});

describe('thread options', () => {
  it('startThreads names a bad count or threshold', async () => {
    await expect(startThreads({ threads: 0 })).rejects.toThrow('startThreads: threads is 0; expected an integer from 1 to 256');
    await expect(startThreads({ threads: 1.5 })).rejects.toThrow(ThreadError);
    await expect(startThreads({ minFlops: -1 })).rejects.toThrow('startThreads: minFlops is -1; expected a number ≥ 0');
  });

  it('a plan whose products are all under the pool\'s threshold runs alone, in a plain memory', async () => {
    const pool = await startThreads({ threads: 2 }); // the default threshold, 2^19 flops
    const u = unroll(builtin.lstm({ input: 8, hidden: 16 }), { steps: 4, readout: { output: 8 } });
    expect(compile(u, { batch: 1, threads: pool }).threads).toBe(1); // 2·1·64·16 flops at most
    const big = unroll(builtin.lstm({ input: 64, hidden: 128 }), { steps: 2, readout: { output: 64 } });
    expect(compile(big, { batch: 32, threads: pool }).threads).toBe(2); // 2·32·512·128 = 4.2M
    await pool.close();
  });

  it('one thread starts no worker; its plans run alone', async () => {
    const pool = await startThreads({ threads: 1 });
    expect(pool.threads).toBe(1);
    expect(compile(unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 2 }), { batch: 4, threads: pool }).threads).toBe(1);
    await pool.close();
  });

  it('compile names a threads value that is not a pool, and threads with the typed-array kernels', () => {
    const u = unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 2 });
    const notPool = compileEither(u, { batch: 1, threads: { threads: 2 } as never });
    expect(E.isLeft(notPool) && formatIssues(notPool.left)).toBe('compile › threads: threads is not a pool from startThreads()');
    const js = compileEither(u, { batch: 1, kernels: 'js', threads: pools.two });
    expect(E.isLeft(js) && formatIssues(js.left)).toBe("compile › threads: threads split the WebAssembly kernels' products; kernels: 'js' has none (use 'auto' or 'wasm')");
    expect(compile(u, { batch: 1 }).threads).toBe(1);
  });
});
