/**
 * PyTorch as a peer of `npm run bench:compare`, where Debian's torch is installed
 * (`apt-get install python3-torch`): `/usr/bin/python3 -c 'import torch'` must work.
 *
 * The gradient check runs bench/compare/torch_check.py on the same problem files as the other
 * peers (torch.nn.RNN/GRU/LSTM + Linear, float32, 1 thread); the timing is
 * ../shared/bench/torch_step.py's (same workload and step-count policy, its own seeded data),
 * run once per size for the cells whose check passed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellName, SizeName } from '../common';
import os from 'node:os';
import { checkAgainst, flopsOf, labelOf, problemPath, readReference, type Check, type CompareRow } from './problem';
import { spawnLines } from '../spawn';

export const PYTHON = '/usr/bin/python3';
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const TORCH_STEP = join(repoRoot, '..', 'shared', 'bench', 'torch_step.py');
const TORCH_CHECK = fileURLToPath(new URL('./torch_check.py', import.meta.url));
/**
 * torch.set_num_threads(n) (torch_step.py --threads n) does not stop Debian's OpenBLAS
 * (openblas-pthread) from starting a thread per core inside a GEMM: pin it to n too (1 for the
 * `torch` peer, as TF.js and jax-js here run on one; the machine's cores for `torch-threads`).
 */
const envFor = (threads: number): NodeJS.ProcessEnv => ({ ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) });

/** torch's version, or why the peer cannot run. */
export const torchAvailable = (): { ok: true; version: string } | { ok: false; reason: string } => {
  if (!existsSync(PYTHON)) return { ok: false, reason: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return { ok: false, reason: `${PYTHON} -c 'import torch' failed (apt-get install python3-torch to include PyTorch)` };
  if (!existsSync(TORCH_STEP)) return { ok: false, reason: `${TORCH_STEP} not found` };
  return { ok: true, version: r.stdout.trim() };
};

interface TorchStepRow {
  cell: CellName; size: SizeName; skipped: boolean; reason?: string; firstMs?: number; warmupSteps?: number; timedSteps?: number;
  reduced?: boolean; medianMs?: number; minMs?: number; maxMs?: number; loss?: number | null;
}

/**
 * Checks, then times, every (cell, size) whose problem files are in `dir`; returns one row
 * each. `budgetS` bounds the whole peer (check and timing); rows left when it runs out are skipped.
 */
export const runTorch = async (
  cells: readonly CellName[], sizes: readonly SizeName[], dir: string, budgetS: number, usable: (c: CellName, s: SizeName) => boolean,
  peer: 'torch' | 'torch-threads' = 'torch',
): Promise<{ rows: CompareRow[]; meta: Record<string, unknown> }> => {
  const avail = torchAvailable();
  const THREADS = peer === 'torch' ? 1 : os.availableParallelism();
  const ENV = envFor(THREADS);
  const label = labelOf(peer, 'float32');
  const base = (cell: CellName, size: SizeName) => ({ peer, label, cell, size, dtype: 'float32', flops: flopsOf(cell, size) }) as const;
  const rows = new Map<string, CompareRow>();
  const key = (c: string, s: string): string => `${c}/${s}`;
  const combos = sizes.flatMap((size) => cells.map((cell) => ({ cell, size })));
  if (!avail.ok) {
    process.stderr.write(`bench:compare: torch: SKIPPED: ${avail.reason}\n`);
    return { rows: combos.map(({ cell, size }) => ({ ...base(cell, size), status: 'skipped', reason: avail.reason })), meta: { peer, skipped: avail.reason } };
  }
  const start = Date.now();
  const leftMs = (): number => budgetS * 1e3 - (Date.now() - start);
  const meta: Record<string, unknown> = { peer, dtype: 'float32', version: `torch ${avail.version} (Debian python3-torch, ${PYTHON})`, threads: THREADS, setup: `torch.nn.RNN/GRU/LSTM + nn.Linear, eager, loss.backward(), torch.set_num_threads(${THREADS}), OPENBLAS_NUM_THREADS=${THREADS}` };

  // 1. The gradient check, on the shared problem files.
  const todo = combos.filter(({ cell, size }) => usable(cell, size));
  for (const { cell, size } of combos) if (!usable(cell, size)) rows.set(key(cell, size), { ...base(cell, size), status: 'error', reason: 'no reference (see the reference worker)' });
  const checked = new Map<string, { check: Check; checkStepMs: number; loss: number }>();
  if (todo.length > 0) {
    const r = await spawnLines(PYTHON, [TORCH_CHECK, '--threads', String(THREADS), '--dtype', 'float32', ...todo.map(({ cell, size }) => problemPath(dir, cell, size))], {
      cwd: repoRoot, env: ENV, timeoutMs: Math.max(leftMs(), 60_000), label: 'torch gradient check',
    });
    for (const x of r.lines) {
      const o = x as { meta?: unknown; cell?: CellName; size?: SizeName; loss?: number; grads?: Record<string, string>; ms?: number; problem?: string; error?: string };
      if (o.meta !== undefined) {
        Object.assign(meta, { check: o.meta });
        continue;
      }
      if (o.error !== undefined) {
        const hit = todo.find(({ cell, size }) => problemPath(dir, cell, size) === o.problem);
        if (hit !== undefined) rows.set(key(hit.cell, hit.size), { ...base(hit.cell, hit.size), status: 'error', reason: o.error });
        continue;
      }
      const cell = o.cell!, size = o.size!;
      const grads = Object.fromEntries(Object.entries(o.grads!).map(([k, v]) => {
        const b = Buffer.from(v, 'base64');
        const a = new Float64Array(b.length / 8);
        new Uint8Array(a.buffer).set(b);
        return [k, a];
      }));
      const check = checkAgainst(readReference(dir, cell, size), { loss: o.loss!, grads });
      checked.set(key(cell, size), { check, checkStepMs: o.ms!, loss: o.loss! });
      if (!check.ok) {
        rows.set(key(cell, size), {
          ...base(cell, size), status: 'failed', check, checkStepMs: o.ms!, loss: o.loss!,
          reason: `gradients disagree with loopgrad float64: loss ${check.lossRelErr.toExponential(1)}, ${check.worst} ${check.maxRelErr.toExponential(1)} (tolerance ${check.rtol})`,
        });
      }
    }
    for (const { cell, size } of todo) {
      if (!rows.has(key(cell, size)) && !checked.has(key(cell, size))) {
        rows.set(key(cell, size), { ...base(cell, size), status: 'error', reason: `torch_check.py gave no result (${r.timedOut ? 'killed at the budget' : `exit ${r.signal ?? r.code}`})` });
      }
    }
  }

  // 2. The timing: torch_step.py, one process per size, for the cells that passed.
  for (const size of sizes) {
    const passed = cells.filter((cell) => checked.get(key(cell, size))?.check.ok === true);
    if (passed.length === 0) continue;
    if (leftMs() <= 0) {
      for (const cell of passed) rows.set(key(cell, size), { ...base(cell, size), ...checked.get(key(cell, size))!, status: 'skipped', reason: `peer budget of ${budgetS} s used up` });
      continue;
    }
    const outFile = join(dir, `torch-${size}.json`);
    const r = await spawnLines(PYTHON, [TORCH_STEP, '--threads', String(THREADS), '--dtype', 'float32', '--cells', passed.join(','), '--sizes', size, '--out', outFile], {
      cwd: repoRoot, env: ENV, timeoutMs: leftMs(), label: `torch_step.py --sizes ${size}`,
    });
    let got: { rows: TorchStepRow[]; blas?: unknown; torch?: string } | undefined;
    try {
      got = JSON.parse(readFileSync(outFile, 'utf8')) as { rows: TorchStepRow[]; blas?: unknown; torch?: string };
      meta['blas'] = got.blas;
    } catch {
      got = undefined;
    }
    for (const cell of passed) {
      const c = checked.get(key(cell, size))!;
      const t = got?.rows.find((x) => x.cell === cell && x.size === size);
      if (t === undefined) {
        rows.set(key(cell, size), { ...base(cell, size), ...c, status: r.timedOut ? 'skipped' : 'error', reason: r.timedOut ? `peer budget of ${budgetS} s used up (torch_step.py killed)` : `torch_step.py gave no row (exit ${r.signal ?? r.code})` });
      } else if (t.skipped) {
        rows.set(key(cell, size), { ...base(cell, size), ...c, status: 'skipped', reason: `torch_step.py: ${t.reason ?? 'skipped'}` });
      } else {
        const fl = flopsOf(cell, size);
        rows.set(key(cell, size), {
          ...base(cell, size), ...c, status: 'ok', firstMs: t.firstMs, warmupSteps: t.warmupSteps, timedSteps: t.timedSteps, reduced: t.reduced,
          medianMs: t.medianMs, minMs: t.minMs, maxMs: t.maxMs, gflops: fl / (t.medianMs! * 1e6),
        });
      }
    }
  }
  return { rows: combos.map(({ cell, size }) => rows.get(key(cell, size))!), meta };
};
