/**
 * Ablation of the plan's optional rewrites, side by side in one process: for each cell × size ×
 * dtype it compiles the workload with fusion off and on (and each again over a pool of threads),
 * then times the plans round-robin, one training step each per round, so that a slow stretch of
 * a shared machine slows every variant alike. Prints the median ms per step of each variant and
 * the speed-up fusion gives. This is how "keep what pays" is measured (docs/performance.md).
 *
 *   npm run bench:ablation -- [--cells lstm,gru] [--sizes medium] [--dtype float32] [--threads 2] [--rounds 15]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startThreads, type ThreadPool } from '../src/kernels/threads';
import { compile, type ParamValues, type Plan } from '../src/plan';
import { numel } from '../src/shape';
import { unroll } from '../src/unroll';
import { CELL_NAMES, CELLS, DTYPES, SIZE_NAMES, SIZES, mulberry32, parseList, uniform, type CellName, type DtypeName, type SizeName } from './common';

const USAGE = `usage: npm run bench:ablation -- [options]
  --cells LIST    comma list of ${CELL_NAMES.join(', ')} (default: all)
  --sizes LIST    comma list of ${SIZE_NAMES.join(', ')} (default: small, medium)
  --dtype LIST    comma list of ${DTYPES.join(', ')} (default: float32)
  --threads N     also time each variant over a pool of N threads (default: the machine's ${os.availableParallelism()}; 1: none)
  --rounds R      timed rounds, one step of every variant each (default 15, after 3 warm-up rounds)
  --help          this text`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Variant { readonly plan: Plan<string, string> }

const run = (cell: CellName, size: SizeName, dtype: DtypeName, pool: ThreadPool | undefined, rounds: number): string => {
  const s = SIZES[size];
  const u = unroll(CELLS[cell].make(s), { steps: s.T, readout: { output: s.O } });
  const rand = mulberry32(1234);
  const params = {} as Record<string, ArrayLike<number>>;
  for (const p of u.params) params[p.name] = uniform(rand, numel(p.shape), -0.1, 0.1, dtype);
  const batch = { inputs: uniform(rand, s.T * s.B * s.I, -1, 1, dtype), targets: uniform(rand, s.T * s.B * s.O, -1, 1, dtype) };
  const variants: Variant[] = [];
  for (const threads of pool ? [undefined, pool] : [undefined]) {
    for (const fuse of [false, true]) {
      const plan = compile(u, { batch: s.B, dtype, fuse, ...(threads ? { threads } : {}) });
      variants.push({ plan });
    }
  }
  const times = variants.map((): number[] => []);
  for (let r = 0; r < rounds + 3; r++) {
    variants.forEach((v, j) => {
      const t0 = performance.now();
      v.plan.valueAndGrad(params as ParamValues<string>, batch);
      if (r >= 3) times[j]!.push(performance.now() - t0);
    });
  }
  const ms = times.map(median);
  const cols = ms.map((m) => m.toFixed(m < 1 ? 3 : 2));
  const gains = [];
  for (let j = 0; j + 1 < variants.length; j += 2) gains.push(`${(ms[j]! / ms[j + 1]!).toFixed(2)}×`);
  return `| ${cell} | ${size} | ${dtype} | ${variants[1]!.plan.fused} | ${cols.join(' | ')} | ${gains.join(' / ')} |`;
};

const main = async (): Promise<void> => {
  const { values: v } = parseArgs({
    options: { cells: { type: 'string' }, sizes: { type: 'string' }, dtype: { type: 'string' }, threads: { type: 'string' }, rounds: { type: 'string' }, help: { type: 'boolean' } },
  });
  if (v.help) return void console.log(USAGE);
  const cells = parseList('--cells', 'cell', v.cells, CELL_NAMES);
  const sizes = parseList('--sizes', 'size', v.sizes ?? 'small,medium', SIZE_NAMES);
  const dtypes = parseList('--dtype', 'dtype', v.dtype ?? 'float32', DTYPES);
  for (const x of [cells, sizes, dtypes]) if (typeof x === 'string') return void (console.error(`${x}\n${USAGE}`), (process.exitCode = 2));
  const threads = Number(v.threads ?? os.availableParallelism()), rounds = Number(v.rounds ?? 15);
  if (!(Number.isInteger(threads) && threads >= 1 && threads <= 256)) return void (console.error(`--threads takes a positive integer, not '${v.threads}'`), (process.exitCode = 2));
  if (!(Number.isInteger(rounds) && rounds >= 1)) return void (console.error(`--rounds takes a positive integer, not '${v.rounds}'`), (process.exitCode = 2));
  const pool = threads > 1 ? await startThreads({ threads }) : undefined;
  console.log(`${new Date().toISOString()} · node ${process.version} · ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()} · median ms per training step over ${rounds} round-robin rounds`);
  console.log(`| cell | size | dtype | fused groups | ${pool ? `unfused 1t | fused 1t | unfused ${threads}t | fused ${threads}t` : 'unfused | fused'} | fusion speed-up${pool ? ` (1t / ${threads}t)` : ''} |`);
  console.log(`|---|---|---|---:|${pool ? '---:|---:|---:|---:' : '---:|---:'}|---:|`);
  try {
    for (const dtype of dtypes as DtypeName[]) for (const size of sizes as SizeName[]) for (const cell of cells as CellName[]) console.log(run(cell, size, dtype, pool, rounds));
  } finally {
    await pool?.close();
  }
};

void main();
