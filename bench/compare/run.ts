/**
 * `npm run bench:compare`: the benchmark workload (/work/shared/bench/WORKLOAD.md) in loopgrad
 * and its peers, in one run: TF.js (cpu and wasm backends), jax-js (jit on wasm) and PyTorch
 * (Debian's, where installed). The peers are pinned in bench/package.json, outside loopgrad's
 * own install.
 *
 * 1. A reference worker draws every (cell, size) problem and computes loopgrad's float64 loss
 *    and gradients.
 * 2. Each peer × dtype runs in its own process: one step on the same weights and data, checked
 *    against the reference (a disagreeing peer is FAILED, not timed), then timed.
 * 3. A table of ms/step, GFLOP/s and the ratio to loopgrad float32 (how many times slower).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CELL_NAMES, SIZE_NAMES, SIZES, parseList, type CellName, type SizeName } from '../common';
import { PEERS, STEP_LIMIT_S, CHECK_RTOL, dtypesOf, flopsOf, labelOf, type CompareRow, type PeerName } from './problem';
import { spawnLines } from '../spawn';
import { runTorch } from './torch';

const DEFAULT_BUDGET_S = 900;
/** A row's worker (load, checked step incl. jit, ≤ 6 steps of ≤ 20 s) is killed after this. */
const ROW_DEADLINE_S = 240;

const USAGE = `usage: npm run bench:compare -- [options]   (or, once bench/ is installed: npx tsx bench/compare/run.ts [options])

  --cells LIST    comma list of ${CELL_NAMES.join(', ')} (default: all)
  --sizes LIST    comma list of ${SIZE_NAMES.join(', ')} (default: all)
  --peers LIST    comma list of ${PEERS.join(', ')} (default: all; loopgrad and loopgrad-threads
                  give a float32 and a float64 row)
  --budget S      seconds per peer × dtype (default ${DEFAULT_BUDGET_S}); rows left when it runs out are skipped
  --json          print {date, machine, peers, rows} as JSON on stdout; the tables go to stderr
  --markdown      print the tables as Markdown
  --out FILE      also write the JSON document to FILE
  --help          this text

Every peer runs float32 in its own process, is checked against loopgrad float64 on the same
weights and data (loss and every gradient, |Δ|∞/|ref|∞ ≤ ${CHECK_RTOL}) and only then timed: median of
≥ 10 steps after ≥ 3 warm-ups (3 after 3 when a step takes > 1.5 s, marked *); a row whose step
takes more than ${STEP_LIMIT_S} s is skipped (—), as is one whose first (checked) step, or the step predicted
from the peer's previous size, takes more than ${1.5 * STEP_LIMIT_S} s, or whose worker process (one per row)
is still running after ${ROW_DEADLINE_S} s. ratio = ms / loopgrad float32 ms.
`;

/** The loopgrad being measured: commit, and whether src/ differs from it. */
const gitState = (): string => {
  const git = (...a: string[]): string | undefined => {
    const r = spawnSync('git', a, { cwd: repoRoot, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const head = git('rev-parse', '--short', 'HEAD');
  if (head === undefined) return 'not a git checkout';
  const dirty = git('status', '--porcelain', '--', 'src', 'laws', 'wasm');
  return `${head}${dirty === undefined || dirty === '' ? '' : ` + uncommitted changes in ${dirty.split('\n').length} file(s) of src/, laws/, wasm/`}`;
};

const fail = (msg: string): never => {
  process.stderr.write(`bench:compare: ${msg}\n\n${USAGE}`);
  process.exit(2);
};

const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs one worker process; returns its meta line and its rows (missing rows filled in). */
const runWorker = async (
  args: string[], label: string, timeoutMs: number, expect: { cell: CellName; size: SizeName }[], fill: (cell: CellName, size: SizeName, why: string) => CompareRow,
): Promise<{ meta: Record<string, unknown>; rows: CompareRow[] }> => {
  const r = await spawnLines(process.execPath, ['--import', 'tsx', workerPath, ...args], { cwd: repoRoot, timeoutMs, label });
  let meta: Record<string, unknown> = {};
  const rows: CompareRow[] = [];
  for (const x of r.lines) {
    const o = x as { meta?: Record<string, unknown> } & CompareRow;
    if (o.meta !== undefined) meta = o.meta;
    else rows.push(o);
  }
  const why = r.timedOut ? `${label} killed after ${(timeoutMs / 1e3).toFixed(0)} s` : `${label} exited with ${r.signal ?? `code ${r.code}`}${r.other.length > 0 ? `: ${r.other.at(-1)}` : ''}`;
  const out = expect.map(({ cell, size }) => rows.find((x) => x.cell === cell && x.size === size) ?? fill(cell, size, why));
  return { meta, rows: out };
};

// ---------------------------------------------------------------------------------------------
// Tables

const PEER_ORDER = (r: CompareRow): number => PEERS.indexOf(r.peer) * 2 + (r.dtype === 'float64' ? 1 : 0);
const fmtMs = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const fmtRatio = (x: number): string => (x >= 10 ? x.toFixed(0) : x >= 1 ? x.toFixed(1) : x.toFixed(2));
const fmtErr = (x: number): string => (Number.isFinite(x) ? x.toExponential(1) : String(x));

const msCell = (r: CompareRow): string => {
  if (r.status === 'ok') return `${fmtMs(r.medianMs!)}${r.reduced ? '*' : ''}`;
  if (r.status === 'failed') return 'FAILED';
  if (r.status === 'error') return 'ERROR';
  return '—';
};

interface Table { readonly head: string[]; readonly body: string[][]; readonly right: number[] }

const longTable = (rows: readonly CompareRow[]): Table => ({
  head: ['cell', 'size', 'peer', 'dtype', 'ms/step', 'GFLOP/s', 'ratio', 'steps', 'check', 'grad err', 'loss err', 'note'],
  right: [4, 5, 6, 7, 9, 10],
  body: rows.map((r) => [
    r.cell, r.size, r.label, r.dtype, msCell(r),
    r.status === 'ok' ? r.gflops!.toFixed(3) : '—',
    r.ratio !== undefined ? fmtRatio(r.ratio) : '—',
    r.status === 'ok' ? `${r.warmupSteps}+${r.timedSteps}` : '',
    r.check === undefined ? '' : r.check.ok ? 'ok' : 'FAILED',
    r.check === undefined ? '' : fmtErr(r.check.maxRelErr),
    r.check === undefined ? '' : fmtErr(r.check.lossRelErr),
    r.status === 'ok' ? '' : (r.reason ?? ''),
  ]),
});

/** cell × size rows, one column per peer: "ms (ratio×)". */
const wideTable = (rows: readonly CompareRow[], cells: readonly CellName[], sizes: readonly SizeName[]): Table => {
  const cols = [...new Map(rows.map((r) => [`${r.label}|${r.dtype}`, r])).values()].sort((a, b) => PEER_ORDER(a) - PEER_ORDER(b));
  const head = ['cell', 'size', ...cols.map((c) => `${c.label} ms (×)`)];
  const body: string[][] = [];
  for (const size of sizes) {
    for (const cell of cells) {
      body.push([cell, size, ...cols.map((c) => {
        const r = rows.find((x) => x.cell === cell && x.size === size && x.label === c.label && x.dtype === c.dtype);
        if (r === undefined) return '';
        const m = msCell(r);
        return r.ratio !== undefined ? `${m} (${fmtRatio(r.ratio)}×)` : m;
      })]);
    }
  }
  return { head, body, right: cols.map((_, i) => i + 2) };
};

/**
 * The issue's targets, per cell × size, against loopgrad's best configuration (the faster of one
 * thread and the pool) in each dtype: how many times slower jax-js and the faster TF.js backend
 * are (targets ≥ 3 and ≥ 5), loopgrad ÷ PyTorch (< 1 at tiny/small, ≤ 1.5 medium, ≤ 2 large),
 * and float64 ÷ float32 (≤ 2). A target met is marked ✓, one missed ✗.
 */
const targetTable = (rows: readonly CompareRow[], cells: readonly CellName[], sizes: readonly SizeName[]): Table => {
  const ms = (peer: PeerName, cell: CellName, size: SizeName, dtype = 'float32'): number | undefined => {
    const r = rows.find((x) => x.peer === peer && x.cell === cell && x.size === size && x.dtype === dtype);
    return r?.status === 'ok' ? r.medianMs : undefined;
  };
  const best = (cell: CellName, size: SizeName, dtype: string): number | undefined => {
    const xs = [ms('loopgrad', cell, size, dtype), ms('loopgrad-threads', cell, size, dtype)].filter((x): x is number => x !== undefined);
    return xs.length > 0 ? Math.min(...xs) : undefined;
  };
  const mark = (x: number | undefined, ok: (x: number) => boolean): string => (x === undefined ? '—' : `${fmtRatio(x)} ${ok(x) ? '✓' : '✗'}`);
  const torchLimit = (size: SizeName): number => (size === 'tiny' || size === 'small' ? 1 : size === 'medium' ? 1.5 : 2);
  const body: string[][] = [];
  for (const size of sizes) {
    for (const cell of cells) {
      const b32 = best(cell, size, 'float32'), b64 = best(cell, size, 'float64');
      const jax = ms('jaxjs', cell, size);
      const tfs = [ms('tfjs-cpu', cell, size), ms('tfjs-wasm', cell, size)].filter((x): x is number => x !== undefined);
      const torch = ms('torch', cell, size);
      const div = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? a / b : undefined);
      body.push([
        cell, size,
        b32 === undefined ? '—' : fmtMs(b32), b64 === undefined ? '—' : fmtMs(b64),
        mark(div(jax, b32), (x) => x >= 3),
        mark(tfs.length > 0 ? div(Math.min(...tfs), b32) : undefined, (x) => x >= 5),
        mark(div(b32, torch), (x) => (size === 'tiny' || size === 'small' ? x < 1 : x <= torchLimit(size))),
        mark(div(b64, b32), (x) => x <= 2),
        (() => {
          const both = div(ms('loopgrad-threads', cell, size), ms('torch-threads', cell, size));
          return both === undefined ? '—' : fmtRatio(both);
        })(),
      ]);
    }
  }
  return {
    head: ['cell', 'size', 'loopgrad best f32 ms', 'best f64 ms', 'jax-js ÷ loopgrad (≥ 3)', 'faster TF.js ÷ loopgrad (≥ 5)', 'loopgrad ÷ PyTorch 1t (<1 / ≤1.5 / ≤2)', 'f64 ÷ f32 (≤ 2)', 'both threaded: loopgrad ÷ PyTorch (no target)'],
    body,
    right: [2, 3, 4, 5, 6, 7, 8],
  };
};

const renderText = (t: Table): string => {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.body.map((b) => (i === t.head.length - 1 && t.head[i] === 'note' ? 0 : b[i]!.length))));
  const line = (cols: readonly string[]): string => cols.map((c, i) => (t.right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(t.head), line(widths.map((w) => '-'.repeat(w))), ...t.body.map(line)].join('\n') + '\n';
};

const renderMarkdown = (t: Table): string => {
  const esc = (s: string): string => s.replaceAll('|', '\\|');
  return [`| ${t.head.map(esc).join(' | ')} |`, `|${t.head.map((_, i) => (t.right.includes(i) ? '---:' : '---')).join('|')}|`, ...t.body.map((b) => `| ${b.map(esc).join(' | ')} |`)].join('\n') + '\n';
};

// ---------------------------------------------------------------------------------------------

const main = async (): Promise<void> => {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        cells: { type: 'string' }, sizes: { type: 'string' }, peers: { type: 'string' }, budget: { type: 'string' },
        json: { type: 'boolean' }, markdown: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
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
  const peers = parseList('--peers', 'peer', v.peers, PEERS);
  if (typeof cells === 'string') return fail(cells);
  if (typeof sizes === 'string') return fail(sizes);
  if (typeof peers === 'string') return fail(peers);
  const budgetS = v.budget === undefined ? DEFAULT_BUDGET_S : Number(v.budget);
  if (!(budgetS > 0)) return fail(`--budget must be a positive number of seconds, not '${v.budget}'`);
  const order = PEERS.filter((p) => peers.includes(p));
  const combos = sizes.flatMap((size) => cells.map((cell) => ({ cell, size })));
  const list = ['--cells', cells.join(','), '--sizes', sizes.join(',')];
  const dir = mkdtempSync(join(os.tmpdir(), 'loopgrad-compare-'));
  const started = Date.now();
  const log = (s: string): void => {
    process.stderr.write(`bench:compare: ${s}\n`);
  };
  try {
    // 1. Problems and loopgrad's float64 reference.
    log(`problems and the loopgrad float64 reference in ${dir}`);
    const ref = await spawnLines(process.execPath, ['--import', 'tsx', workerPath, '--role', 'reference', '--dir', dir, ...list], {
      cwd: repoRoot, timeoutMs: 3600_000, label: 'reference worker',
    });
    const refOk = new Set((ref.lines as { cell?: string; size?: string; ok?: boolean }[]).filter((x) => x.ok === true).map((x) => `${x.cell}/${x.size}`));
    const usable = (c: CellName, s: SizeName): boolean => refOk.has(`${c}/${s}`);

    // 2. The peers.
    const rows: CompareRow[] = [];
    const metas: Record<string, unknown>[] = [];
    for (const peer of order) {
      if (peer === 'torch' || peer === 'torch-threads') {
        const n = peer === 'torch' ? 1 : os.availableParallelism();
        log(`${labelOf(peer, 'float32')}: gradient check (bench/compare/torch_check.py), then ../shared/bench/torch_step.py --threads ${n}`);
        const t = await runTorch(cells, sizes, dir, budgetS, usable, peer);
        rows.push(...t.rows);
        metas.push(t.meta);
        continue;
      }
      for (const dtype of dtypesOf(peer)) {
        const label = labelOf(peer, dtype);
        log(`${label}: ${dtype}, one worker process per row`);
        let meta: Record<string, unknown> | undefined;
        let usedS = 0;
        /** ms per flop of this peer's last measured row, per cell: predicts the next size's step. */
        const msPerFlop = new Map<CellName, number>();
        for (const { cell, size } of combos) {
          const base = { peer: peer as PeerName, label, cell, size, dtype, flops: flopsOf(cell, size) } as const;
          const k = msPerFlop.get(cell);
          const predictedS = k === undefined ? undefined : (k * base.flops) / 1e3;
          let row: CompareRow;
          if (!usable(cell, size)) {
            row = { ...base, status: 'error', reason: 'no reference (see the reference worker)' };
          } else if (predictedS !== undefined && predictedS > 1.5 * STEP_LIMIT_S) {
            row = { ...base, status: 'skipped', reason: `one step predicted to take ~${predictedS.toFixed(0)} s (limit ${STEP_LIMIT_S} s)` };
          } else if (usedS > budgetS || (predictedS !== undefined && usedS + 8 * predictedS > budgetS)) {
            row = { ...base, status: 'skipped', reason: `peer budget of ${budgetS} s ${usedS > budgetS ? 'used up' : `would be exceeded (~${predictedS!.toFixed(0)} s/step)`}` };
          } else {
            const t0 = Date.now();
            const w = await runWorker(
              ['--peer', peer, '--dtype', dtype, '--dir', dir, '--cells', cell, '--sizes', size], `${label} ${cell} ${size} worker`, ROW_DEADLINE_S * 1e3,
              [{ cell, size }], (c, s2, why) => ({ ...base, cell: c, size: s2, status: why.includes('killed') ? 'skipped' : 'error', reason: why }),
            );
            usedS += (Date.now() - t0) / 1e3;
            row = w.rows[0]!;
            if (meta === undefined && Object.keys(w.meta).length > 0) meta = w.meta;
            const ms = row.status === 'ok' ? row.medianMs : row.checkStepMs;
            if (ms !== undefined) msPerFlop.set(cell, ms / base.flops);
            else if (row.status === 'skipped') msPerFlop.set(cell, (ROW_DEADLINE_S * 1e3) / base.flops);
          }
          if (row.status !== 'ok' && row.check === undefined) log(`${label} ${dtype} ${cell} ${size}: ${row.status.toUpperCase()} ${row.reason ?? ''}`);
          rows.push(row);
        }
        metas.push(meta ?? { peer, dtype });
      }
    }

    // 3. Ratios and tables.
    for (const r of rows) {
      const base = rows.find((x) => x.peer === 'loopgrad' && x.dtype === 'float32' && x.cell === r.cell && x.size === r.size);
      if (r.status === 'ok' && base?.status === 'ok') r.ratio = r.medianMs! / base.medianMs!;
    }
    rows.sort((a, b) => SIZE_NAMES.indexOf(a.size) - SIZE_NAMES.indexOf(b.size) || CELL_NAMES.indexOf(a.cell) - CELL_NAMES.indexOf(b.cell) || PEER_ORDER(a) - PEER_ORDER(b));
    const render = v.markdown ? renderMarkdown : renderText;
    const text = `${render(wideTable(rows, cells, sizes))}\nTargets (loopgrad best = the faster of 1 thread and the pool, per dtype):\n${render(targetTable(rows, cells, sizes))}\n${render(longTable(rows))}`;
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const doc = {
      date: new Date().toISOString(), loopgrad: gitState(), node: process.version, cpu, nproc: os.availableParallelism(), platform: `${os.type()} ${os.release()} ${os.arch()}`,
      command: `bench/compare/run.ts ${process.argv.slice(2).join(' ')}`.trim(), wallS: (Date.now() - started) / 1e3,
      sizes: Object.fromEntries(sizes.map((s) => [s, SIZES[s]])), checkRtol: CHECK_RTOL, stepLimitS: STEP_LIMIT_S, budgetS, peers: metas, rows,
    };
    const peerLines = metas.map((m) => `  ${[m['peer'], m['dtype'], m['version'], m['setup'], m['skipped']].filter((x) => x !== undefined).join(' · ')}`).join('\n');
    const header = `${doc.date}  loopgrad ${doc.loopgrad}  ${cpu} × ${doc.nproc}  Node ${doc.node}\n${peerLines}\n(ratio = ms / loopgrad float32 ms: how many times slower; * = 3 timed steps; — = skipped)\n\n`;
    if (v.json) {
      process.stderr.write(`\n${header}${text}`);
      process.stdout.write(`${JSON.stringify(doc, null, 1)}\n`);
    } else {
      process.stdout.write(`\n${header}${text}`);
    }
    if (v.out !== undefined) writeFileSync(v.out, `${JSON.stringify(doc, null, 1)}\n`);
    if (rows.some((r) => r.status === 'failed' || r.status === 'error')) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

await main();
