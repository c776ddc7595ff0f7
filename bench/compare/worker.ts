/**
 * bench:compare worker: one peer × dtype in its own process (as bench/worker.ts: monomorphic
 * kernels, and one peer's JIT or wasm heap does not disturb another's). Prints one JSON line
 * `{"meta": …}` then one JSON row per (cell, size) on stdout; progress on stderr.
 *
 *   node --import tsx bench/compare/worker.ts --role reference --dir D --cells … --sizes …
 *   node --import tsx bench/compare/worker.ts --peer tfjs-wasm --dtype float32 --dir D --cells … --sizes …
 *
 * The reference role draws every problem, computes loopgrad's float64 loss and gradients and
 * writes both to D; the peer role reads them, runs one step of the peer on the same numbers,
 * checks it (a disagreeing peer is not timed) and times it by the policy of bench/common.ts.
 * run.ts starts one worker per row (a per-row deadline, and the peer budget, are its business).
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { CELL_NAMES, DTYPES, SIZE_NAMES, parseList, timeSteps, type CellName, type DtypeName, type SizeName } from '../common';
import { loopgradKernels, loopgradStepper, reference } from './loopgrad';
import {
  COMPARE_POLICY, PEERS, STEP_LIMIT_S, checkAgainst, flopsOf, labelOf, makeProblem, readProblem, readReference, writeProblem, writeReference,
  type CompareRow, type PeerName, type Problem, type Stepper,
} from './problem';

const out = (x: unknown): void => {
  process.stdout.write(`${JSON.stringify(x)}\n`);
};
const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const errText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** Loads the peer; returns its stepper factory and a description of its setup. */
const loadPeer = async (peer: PeerName, dtype: DtypeName): Promise<{ make: (p: Problem) => Stepper; meta: Record<string, string> }> => {
  switch (peer) {
    case 'loopgrad': {
      const kernels = loopgradKernels(dtype);
      return { make: (p) => loopgradStepper(p, dtype), meta: { setup: `compile(unroll(builtin cell)) with default options (kernels: ${kernels}), plan.valueAndGrad, 1 thread` } };
    }
    case 'loopgrad-threads': {
      const { startThreads } = await import('../../src/kernels/threads');
      const pool = await startThreads();
      const kernels = loopgradKernels(dtype);
      return {
        make: (p) => loopgradStepper(p, dtype, pool),
        meta: { setup: `compile(…, { threads: await startThreads() }) (kernels: ${kernels}), ${pool.threads} threads; plans with no product of ≥ ${pool.minFlops} flops run on 1` },
      };
    }
    case 'tfjs-cpu':
    case 'tfjs-wasm': {
      const { loadTfjs, tfjsStepper } = await import('./tfjs');
      const backend = peer === 'tfjs-cpu' ? 'cpu' : 'wasm';
      const { tf, version, flags } = await loadTfjs(backend);
      return { make: (p) => tfjsStepper(tf, p), meta: { version: `@tensorflow/tfjs-core ${version}`, setup: `backend ${backend} (${flags}), tf.valueAndGrads over tf ops, hand loop over T` } };
    }
    case 'jaxjs': {
      const { loadJax, jaxStepper } = await import('./jaxjs');
      const { jax, version, threads } = await loadJax();
      return { make: (p) => jaxStepper(jax, p), meta: { version: `@jax-js/jax ${version}`, setup: `device wasm, threads ${threads}, jit(valueAndGrad(loss)), loop over T unrolled at trace time` } };
    }
    case 'torch':
    case 'torch-threads':
      throw new Error('torch runs from run.ts (bench/compare/torch.ts), not in a node worker');
  }
};

const referenceRole = (cells: CellName[], sizes: SizeName[], dir: string): void => {
  out({ meta: { role: 'reference' } });
  for (const size of sizes) {
    for (const cell of cells) {
      const t0 = performance.now();
      try {
        const p = makeProblem(cell, size);
        writeProblem(dir, p);
        const r = reference(p);
        writeReference(dir, cell, size, r);
        const ms = performance.now() - t0;
        log(`reference (loopgrad float64) ${cell} ${size}: loss ${r.loss.toPrecision(8)} (${(ms / 1e3).toFixed(1)} s)`);
        out({ cell, size, ok: true, loss: r.loss, ms });
      } catch (e) {
        log(`reference ${cell} ${size}: ${errText(e)}`);
        out({ cell, size, ok: false, error: errText(e) });
      }
    }
  }
};

const peerRole = async (peer: PeerName, dtype: DtypeName, cells: CellName[], sizes: SizeName[], dir: string): Promise<void> => {
  const { make, meta } = await loadPeer(peer, dtype);
  out({ meta: { peer, dtype, ...meta } });
  const label = labelOf(peer, dtype);
  for (const size of sizes) {
    for (const cell of cells) {
      const flops = flopsOf(cell, size);
      const base = { peer, label, cell, size, dtype, flops } as const;
      const emit = (row: CompareRow): void => {
        const what = row.status === 'ok'
          ? `${row.medianMs!.toFixed(3)} ms/step (${row.timedSteps} timed${row.reduced ? ', reduced' : ''}) ${row.gflops!.toFixed(3)} GFLOP/s, check: grads ${row.check!.maxRelErr.toExponential(1)}, loss ${row.check!.lossRelErr.toExponential(1)}`
          : `${row.status.toUpperCase()} ${row.reason ?? ''}`;
        log(`${label} ${dtype} ${cell} ${size}: ${what}`);
        out(row);
      };
      let stepper: Stepper | undefined;
      try {
        const p = readProblem(dir, cell, size);
        const ref = readReference(dir, cell, size);
        const t0 = performance.now();
        stepper = make(p);
        const setupMs = performance.now() - t0;
        const t1 = performance.now();
        stepper.step();
        const checkStepMs = performance.now() - t1;
        const got = stepper.result();
        const check = checkAgainst(ref, got);
        const known = { ...base, check, checkStepMs, setupMs, loss: got.loss };
        if (!check.ok) {
          emit({ ...known, status: 'failed', reason: `gradients disagree with loopgrad float64: loss ${check.lossRelErr.toExponential(1)}, ${check.worst} ${check.maxRelErr.toExponential(1)} (tolerance ${check.rtol})` });
          continue;
        }
        // The checked step includes one-off costs (jit compilation, heap growth): 1.5× slack.
        if (checkStepMs > 1.5 * STEP_LIMIT_S * 1e3) {
          emit({ ...known, status: 'skipped', reason: `the checked step took ${(checkStepMs / 1e3).toFixed(1)} s (limit ${STEP_LIMIT_S} s, 1.5× for the first step)` });
          continue;
        }
        const s = stepper;
        const timing = timeSteps(() => s.step(), COMPARE_POLICY);
        if (timing.skipped) {
          emit({ ...known, status: 'skipped', reason: timing.reason });
          continue;
        }
        const { skipped: _s, timesMs: _t, ...t } = timing;
        emit({ ...known, ...t, status: 'ok', gflops: flops / (timing.medianMs * 1e6) });
      } catch (e) {
        emit({ ...base, status: 'error', reason: errText(e) });
      } finally {
        try {
          stepper?.dispose();
        } catch {
          /* best effort */
        }
      }
    }
  }
};

const main = async (): Promise<void> => {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'peer' }, peer: { type: 'string' }, dtype: { type: 'string', default: 'float32' },
      cells: { type: 'string' }, sizes: { type: 'string' }, dir: { type: 'string' },
    },
  });
  const cells = parseList('--cells', 'cell', values.cells, CELL_NAMES);
  const sizes = parseList('--sizes', 'size', values.sizes, SIZE_NAMES);
  const dtypes = parseList('--dtype', 'dtype', values.dtype, DTYPES);
  const fail = (m: string): never => {
    log(`bench:compare worker: ${m}`);
    process.exit(2);
  };
  if (typeof cells === 'string') return fail(cells);
  if (typeof sizes === 'string') return fail(sizes);
  if (typeof dtypes === 'string' || dtypes.length !== 1) return fail('give exactly one --dtype');
  if (values.dir === undefined) return fail('--dir is required');
  if (values.role === 'reference') return referenceRole(cells, sizes, values.dir);
  const peer = values.peer as PeerName;
  if (!(PEERS as readonly string[]).includes(peer)) return fail(`unknown --peer '${values.peer}'`);
  await peerRole(peer, dtypes[0]!, cells, sizes, values.dir);
};

await main();
