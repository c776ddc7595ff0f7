/**
 * The training worker: trains the chosen cell on the adding problem with the library's `train`
 * loop, in slices of about 10 steps / 200 ms, posting the losses after every slice and the
 * gradient flow ‖∂E_T/∂h_t‖ every ~50 steps. Between slices it yields to its event loop so
 * that a 'stop' message gets through.
 */
import {
  addingProblem, builtin, compile, formatGradientFlow, gradientFlow, initWith, optim, train, unroll,
  type OptState,
} from '../../src/index';
import { cellLabels, type CellKind, type FromWorker, type ToWorker } from './messages';

const BATCH = 32, HIDDEN = 16, CLIP_NORM = 1, MAX_STEPS = 20_000;
const SLICE_STEPS = 10, SLICE_MS = 200, FLOW_EVERY = 50;

/** The parts of the worker's global scope used here, typed with the messages. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}
const scope = self as unknown as WorkerScope;
const post = (message: FromWorker): void => scope.postMessage(message);

const makeCell = (cell: CellKind) => {
  const sizes = { input: 2, hidden: HIDDEN };
  switch (cell) {
    case 'tanh': return builtin.vanilla({ ...sizes, nonlinearity: 'tanh' });
    case 'irnn': return builtin.vanilla({ ...sizes, nonlinearity: 'relu' });
    case 'gru': return builtin.gru(sizes);
    case 'lstm': return builtin.lstm(sizes);
  }
};

let busy = false, stopRequested = false;
const pause = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

const run = async (cell: CellKind, length: number): Promise<void> => {
  const u = unroll(makeCell(cell), { steps: length, readout: { output: 1 }, lossAt: 'last' });
  const plan = compile(u, { batch: BATCH, dtype: 'float32' });
  let params = cell === 'irnn' ? initWith(u, 'irnn', { seed: 1 }) : initWith(u, 'pytorch', { seed: 1, ...(cell === 'lstm' ? { forgetBias: 1 } : {}) });
  const lr = cell === 'irnn' ? 5e-4 : 1e-2;
  const optimizer = optim.adam({ lr });
  const task = addingProblem(length, BATCH, 1);
  const probe = addingProblem(length, BATCH, 2).next(); // a fixed batch for the gradient flow
  post({ type: 'started', cell, length, hidden: HIDDEN, batch: BATCH, lr, baseline: task.baseline });

  let state: OptState | undefined, step = 0, flowAt = -Infinity;
  while (!stopRequested && step < MAX_STEPS) {
    if (step - flowAt >= FLOW_EVERY) {
      const f = gradientFlow(u, params, probe, { batch: BATCH });
      post({ type: 'flow', step, norms: Array.from(f.last['h']!), summary: formatGradientFlow(f, cellLabels[cell]) });
      flowAt = step;
    }
    const losses: number[] = [], t0 = performance.now();
    const r = train(plan, params, {
      steps: Math.min(SLICE_STEPS, MAX_STEPS - step), optimizer, clipNorm: CLIP_NORM, data: () => task.next(),
      ...(state ? { state } : {}),
      onStep: (s) => {
        losses.push(s.loss);
        return performance.now() - t0 > SLICE_MS ? 'stop' : undefined;
      },
    });
    params = r.params;
    state = r.state;
    step += r.steps;
    post({ type: 'progress', step, losses, msPerStep: (performance.now() - t0) / Math.max(1, r.steps) });
    if (r.stopped && r.stopped.reason !== 'stopped by onStep') return post({ type: 'done', step, reason: r.stopped.reason });
    await pause();
  }
  post({ type: 'done', step, reason: stopRequested ? 'stopped' : `reached ${MAX_STEPS} steps` });
};

scope.onmessage = ({ data }) => {
  if (data.type === 'stop') stopRequested = true;
  else if (!busy) {
    busy = true;
    stopRequested = false;
    run(data.cell, data.length)
      .catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }))
      .finally(() => { busy = false; });
  }
};
