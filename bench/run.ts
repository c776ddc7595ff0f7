/**
 * `npm run bench`: runs the benchmark workload, one worker process per dtype, and prints a
 * table (or, with --json, one JSON document on stdout and the table on stderr).
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnLines } from './spawn';
import { CELL_NAMES, DTYPES, SIZE_NAMES, parseList, type DtypeName, type Row } from './common';

const USAGE = `usage: npm run bench -- [options]   (or: npx tsx bench/run.ts [options])

  --cells LIST   comma list of ${CELL_NAMES.join(', ')} (default: all)
  --sizes LIST   comma list of ${SIZE_NAMES.join(', ')} (default: all)
  --dtype LIST   comma list of ${DTYPES.join(', ')} (default: both; one worker process each)
  --threads LIST comma list of thread counts (default: 1 and the machine's ${os.availableParallelism()}); N > 1 compiles
                 with a pool of N threads (startThreads); one worker process per dtype × count
  --json         print {date, node, cpu, rows} as JSON on stdout; the table goes to stderr
  --out FILE     also write that JSON document to FILE
  --help         this text

Workload: /work/shared/bench/WORKLOAD.md (the same rows as torch_step.py).
`;

const fail = (msg: string): never => {
  process.stderr.write(`bench: ${msg}\n\n${USAGE}`);
  process.exit(2);
};

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs one worker; resolves with its rows and exit status (stderr is forwarded as it comes). */
const runWorker = async (dtype: DtypeName, threads: number, cells: string, sizes: string): Promise<{ rows: Row[]; code: number | null; signal: string | null }> => {
  const r = await spawnLines(process.execPath, ['--import', 'tsx', workerPath, '--dtype', dtype, '--threads', String(threads), '--cells', cells, '--sizes', sizes], { cwd: repoRoot, label: `worker ${dtype} ${threads}t` });
  return { rows: r.lines as Row[], code: r.code, signal: r.signal };
};

const fmt = (x: number | undefined, digits: number): string => (x === undefined ? '' : x.toFixed(digits));

/** The human table. */
const table = (rows: readonly Row[]): string => {
  const head = ['cell', 'size', 'dtype', 'pool', 'median ms/step', 'GFLOP/s', 'timed steps', 'loss'];
  const body = rows.map((r) => [
    r.cell, r.size, r.dtype, r.pool === 1 ? '1' : `${r.pool}${r.threads === 1 ? ' (ran 1)' : ''}`,
    r.skipped ? (r.error !== undefined ? 'ERROR' : 'SKIPPED') : fmt(r.medianMs, 3),
    r.skipped ? '' : fmt(r.gflops, 3),
    r.skipped ? (r.error ?? r.reason ?? '') : `${r.timedSteps}${r.reduced ? ' (reduced)' : ''}`,
    r.loss === undefined || r.loss === null ? '' : r.loss.toPrecision(6),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (i === 6 && b[4] === 'ERROR' ? 0 : b[i]!.length))));
  const line = (cols: readonly string[]): string => cols.map((c, i) => (i >= 3 && i <= 6 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n') + '\n';
};

const main = async (): Promise<void> => {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        cells: { type: 'string' }, sizes: { type: 'string' }, dtype: { type: 'string' }, threads: { type: 'string' },
        json: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(USAGE);
    return;
  }
  const cells = parseList('--cells', 'cell', v.cells, CELL_NAMES);
  const sizes = parseList('--sizes', 'size', v.sizes, SIZE_NAMES);
  const dtypes = parseList('--dtype', 'dtype', v.dtype, DTYPES);
  if (typeof cells === 'string') return fail(cells);
  if (typeof sizes === 'string') return fail(sizes);
  if (typeof dtypes === 'string') return fail(dtypes);
  const threadCounts = (v.threads ?? `1,${os.availableParallelism()}`).split(',').map((x) => Number(x.trim()));
  if (threadCounts.some((n) => !(Number.isInteger(n) && n >= 1 && n <= 256))) return fail(`--threads takes positive integers, not '${v.threads}'`);

  const rows: Row[] = [];
  let failed = false;
  for (const dtype of dtypes) for (const threads of [...new Set(threadCounts)]) {
    const r = await runWorker(dtype, threads, cells.join(','), sizes.join(','));
    rows.push(...r.rows);
    const expected = cells.length * sizes.length;
    if (r.code !== 0 || r.rows.length !== expected) {
      failed = true;
      process.stderr.write(`bench: the ${dtype} ${threads}-thread worker exited with ${r.signal ?? `code ${r.code}`} after ${r.rows.length} of ${expected} rows\n`);
    }
  }
  if (rows.some((r) => r.error !== undefined)) failed = true;
  // side by side: each cell × size with its dtypes and thread counts together
  rows.sort((a, b) => SIZE_NAMES.indexOf(a.size) - SIZE_NAMES.indexOf(b.size) || CELL_NAMES.indexOf(a.cell) - CELL_NAMES.indexOf(b.cell) || DTYPES.indexOf(a.dtype) - DTYPES.indexOf(b.dtype) || a.pool - b.pool);

  const doc = { date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model ?? 'unknown', rows };
  const text = table(rows);
  if (v.json) {
    process.stderr.write(text);
    process.stdout.write(`${JSON.stringify(doc, null, 1)}\n`);
  } else {
    process.stdout.write(`\n${text}`);
  }
  if (v.out !== undefined) writeFileSync(v.out, `${JSON.stringify(doc, null, 1)}\n`);
  if (failed) process.exitCode = 1;
};

await main();
