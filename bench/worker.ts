/**
 * Benchmark worker: times one dtype in its own process (one dtype per process keeps V8's
 * kernels monomorphic) and prints one JSON row per (cell, size) on stdout; progress on stderr.
 *
 *   node --import tsx bench/worker.ts --dtype float32 [--cells vanilla,gru,lstm] [--sizes tiny,small] [--threads N]
 *
 * --threads N > 1 compiles every plan with a pool of N threads (startThreads).
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startThreads, type ThreadPool } from '../src/kernels/threads';
import { compile, type ParamValues } from '../src/plan';
import { unroll } from '../src/unroll';
import { numel, type Shape } from '../src/shape';
import {
  CELL_NAMES, CELLS, DTYPES, SIZE_NAMES, SIZES, flopsPerStep, mulberry32, parseList, timeSteps, uniform,
  type CellName, type DtypeName, type Row, type SizeName,
} from './common';

const rssMB = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/** Every parameter uniform(−0.1, 0.1), drawn in the unrolled graph's parameter order. */
const randomParams = <PN extends string>(ps: readonly { readonly name: PN; readonly shape: Shape }[], rand: () => number, dtype: DtypeName): ParamValues<PN> => {
  const out = {} as Record<PN, ArrayLike<number>>;
  for (const p of ps) out[p.name] = uniform(rand, numel(p.shape), -0.1, 0.1, dtype);
  return out;
};

/** Builds, compiles and times one combination; never throws. */
const bench = (cell: CellName, size: SizeName, dtype: DtypeName, pool: ThreadPool | undefined): Row => {
  const s = SIZES[size];
  const base = { peer: 'loopgrad', cell, size, dtype, flops: flopsPerStep(cell, s), pool: pool?.threads ?? 1 } as const;
  try {
    const c0 = performance.now();
    const u = unroll(CELLS[cell].make(s), { steps: s.T, readout: { output: s.O } });
    const plan = compile(u, { batch: s.B, dtype, ...(pool ? { threads: pool } : {}) });
    const compileMs = performance.now() - c0;
    const rand = mulberry32(1234);
    const params = randomParams(u.params, rand, dtype);
    const batch = { inputs: uniform(rand, s.T * s.B * s.I, -1, 1, dtype), targets: uniform(rand, s.T * s.B * s.O, -1, 1, dtype) };
    let loss: number | null = null;
    const timing = timeSteps(() => {
      loss = plan.valueAndGrad(params, batch).loss;
    });
    const extra = { loss, compileMs, threads: plan.threads, arenaBytes: plan.memory.bytes, maxRssMB: rssMB() };
    if (timing.skipped) return { ...base, ...timing, ...extra };
    return { ...base, ...timing, gflops: base.flops / (timing.medianMs * 1e6), ...extra };
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ...base, threads: 0, skipped: true, reason: 'error', error: msg, maxRssMB: rssMB() };
  }
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({ options: { dtype: { type: 'string' }, cells: { type: 'string' }, sizes: { type: 'string' }, threads: { type: 'string', default: '1' } } });
  const dtypes = parseList('--dtype', 'dtype', values.dtype, DTYPES);
  const cells = parseList('--cells', 'cell', values.cells, CELL_NAMES);
  const sizes = parseList('--sizes', 'size', values.sizes, SIZE_NAMES);
  for (const x of [dtypes, cells, sizes]) {
    if (typeof x === 'string') {
      process.stderr.write(`bench worker: ${x}\n`);
      process.exit(2);
    }
  }
  if (typeof dtypes === 'string' || typeof cells === 'string' || typeof sizes === 'string' || dtypes.length !== 1) {
    process.stderr.write('bench worker: give exactly one --dtype\n');
    process.exit(2);
  }
  const dtype = dtypes[0]!;
  const threads = Number(values.threads);
  if (!(Number.isInteger(threads) && threads >= 1)) {
    process.stderr.write(`bench worker: --threads must be a positive integer, not '${values.threads}'\n`);
    process.exit(2);
  }
  const pool = threads > 1 ? await startThreads({ threads }) : undefined;
  for (const size of sizes) {
    for (const cell of cells) {
      const row = bench(cell, size, dtype, pool);
      const what = row.error ?? (row.skipped ? `SKIPPED ${row.reason}` : `${row.medianMs!.toFixed(3)} ms/step (${row.timedSteps} timed${row.reduced ? ', reduced' : ''}) ${row.gflops!.toFixed(3)} GFLOP/s`);
      process.stderr.write(`loopgrad ${dtype} ${threads}t ${cell} ${size}: ${what}\n`);
      process.stdout.write(`${JSON.stringify(row)}\n`);
    }
  }
  await pool?.close();
};

await main();
