/**
 * `npm run bench:memory`: memory of one training step on the workload's large LSTM (float32):
 * the plan's arenas against the values the backward pass must keep, and the process's peak
 * RSS. Run in a fresh process so the RSS is this plan's.
 * Usage: tsx bench/memory.ts [--cell lstm] [--size large] [--dtype float32] [--threads N]
 * (--threads N > 1: the plan is compiled with a pool of N threads; its workers count in the RSS).
 */
import { parseArgs } from 'node:util';
import { compile, init, startThreads, unroll } from '../src/index';
import { CELLS, SIZES, type CellName, type SizeName } from './common';

const { values } = parseArgs({ options: { cell: { type: 'string', default: 'lstm' }, size: { type: 'string', default: 'large' }, dtype: { type: 'string', default: 'float32' }, threads: { type: 'string', default: '1' } } });
const cellName = values.cell as CellName, sizeName = values.size as SizeName, dtype = values.dtype as 'float32' | 'float64';
const s = SIZES[sizeName];
const MiB = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const rssBefore = process.memoryUsage().rss;
const u = unroll(CELLS[cellName].make(s), { steps: s.T, readout: { output: s.O } });
const threads = Number(values.threads);
const pool = threads > 1 ? await startThreads({ threads }) : undefined;
const plan = compile(u, { batch: s.B, dtype, ...(pool ? { threads: pool } : {}) });
const params = init(u, { seed: 1, range: 0.1 });
const batch = { inputs: new Float32Array(s.T * s.B * s.I).map((_, i) => Math.sin(i)), targets: new Float32Array(s.T * s.B * s.O) };
for (let i = 0; i < 3; i++) plan.valueAndGrad(params, batch);
const width = dtype === 'float32' ? 4 : 8;
const m = plan.memory;
const saved = m.savedElements * width;
const peakRss = process.resourceUsage().maxRSS * 1024;
console.log(`${cellName} ${sizeName} ${dtype} (B ${s.B}, T ${s.T}, I ${s.I}, H ${s.H}, O ${s.O}), kernels ${plan.kernels}, ${plan.threads} thread(s)`);
console.log(`  values the backward pass keeps   ${MiB(saved)} MiB`);
console.log(`  value arena                      ${MiB(m.valueElements * width)} MiB  (${(m.valueElements / m.savedElements).toFixed(2)}× the kept values)`);
console.log(`  cotangent arena                  ${MiB(m.gradElements * width)} MiB`);
console.log(`  both arenas                      ${MiB(m.bytes)} MiB  (${(m.bytes / saved).toFixed(2)}× the kept values)`);
console.log(`  process peak RSS                 ${MiB(peakRss)} MiB  (${MiB(rssBefore)} MiB before compiling; the rest is Node, the graph and the plan's tables)`);
await pool?.close();
