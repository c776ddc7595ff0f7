/**
 * The page: starts the training worker, keeps what it reports, and redraws the two plots
 * (at most once per animation frame) with the library's `linePlot`.
 */
import { linePlot, type PlotSeries } from '../../src/index';
import { cellLabels, type CellKind, type FromWorker, type ToWorker } from './messages';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const cellSelect = $<HTMLSelectElement>('cell');
const lengthSelect = $<HTMLSelectElement>('length');
const trainButton = $<HTMLButtonElement>('train');
const stopButton = $<HTMLButtonElement>('stop');
const status = $<HTMLParagraphElement>('status');
const announce = $<HTMLParagraphElement>('announce');
const lossPlot = $<HTMLDivElement>('loss-plot');
const flowPlot = $<HTMLDivElement>('flow-plot');
const flowSummary = $<HTMLPreElement>('flow-summary');

const RECENT = 20; // the status line's loss is the mean of the last RECENT steps

interface Flow { readonly step: number; readonly norms: readonly number[] }
interface Run {
  cell: CellKind; length: number; baseline: number;
  state: 'running' | 'stopped' | 'done' | 'error';
  message: string;
  steps: number[]; losses: number[]; smooth: number[];
  msPerStep: number;
  firstFlow?: Flow; flow?: Flow;
}
let run: Run | undefined;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
const send = (message: ToWorker): void => worker.postMessage(message);

const setRunning = (running: boolean): void => {
  trainButton.disabled = running;
  stopButton.disabled = !running;
  cellSelect.disabled = running;
  lengthSelect.disabled = running;
};

const recentLoss = (r: Run): number => {
  const tail = r.losses.slice(-RECENT);
  return tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
};

const showStatus = (r: Run): void => {
  const step = r.steps.length, loss = recentLoss(r);
  const parts = [
    `${cellLabels[r.cell]}, T = ${r.length}`,
    `step ${step}`,
    step > 0 ? `loss ${loss.toFixed(4)} (mean of last ${Math.min(RECENT, step)}; baseline ${r.baseline.toFixed(4)})` : 'compiling…',
    step > 0 ? `${r.msPerStep.toFixed(1)} ms/step` : '',
    r.message,
  ];
  status.textContent = parts.filter((p) => p !== '').join(' · ');
  Object.assign(status.dataset, {
    state: r.state,
    step: String(step),
    firstLoss: String(r.losses[0] ?? ''),
    recentLoss: String(step > 0 ? loss : ''),
    baseline: String(r.baseline),
    msPerStep: String(r.msPerStep),
    flowStep: String(r.flow?.step ?? ''),
  });
};

const draw = (target: HTMLElement, series: PlotSeries[], title: string, xLabel: string, yLabel: string): void => {
  target.innerHTML = linePlot(series, { title, xLabel, yLabel, logY: true, width: 640, height: 360 });
  target.dataset.points = String(series[0]?.values.length ?? 0);
};

const render = (): void => {
  if (!run) return;
  showStatus(run);
  if (run.losses.length > 0) {
    const last = run.steps[run.steps.length - 1]!;
    draw(lossPlot, [
      { name: 'loss', values: run.losses, x: run.steps },
      { name: 'smoothed', values: run.smooth, x: run.steps },
      { name: 'baseline', values: [run.baseline, run.baseline], x: [1, Math.max(2, last)] },
    ], `${cellLabels[run.cell]}, T = ${run.length}: loss`, 'training step', 'loss');
  }
  if (run.flow) {
    const { firstFlow: first, flow: now } = run; // step 0 keeps the first colour
    const series: PlotSeries[] = [first ?? now, ...(first && first !== now ? [now] : [])].map((f) => ({ name: `step ${f.step}`, values: f.norms }));
    draw(flowPlot, series, `‖∂E_T/∂h_t‖ after ${run.flow.step} steps`, 't', 'gradient norm');
  }
};

let frame = 0;
const scheduleRender = (): void => {
  if (frame === 0) frame = requestAnimationFrame(() => { frame = 0; render(); });
};

const finish = (r: Run, state: Run['state'], message: string): void => {
  r.state = state;
  r.message = message;
  setRunning(false);
  if (document.activeElement === null || document.activeElement === document.body) trainButton.focus();
  announce.textContent = `${cellLabels[r.cell]}: ${message} at step ${r.steps.length}, loss ${recentLoss(r).toFixed(4)}.`;
  scheduleRender();
};

worker.onmessage = ({ data }: MessageEvent<FromWorker>) => {
  if (!run) return;
  switch (data.type) {
    case 'started':
      run.baseline = data.baseline;
      run.message = `hidden ${data.hidden}, batch ${data.batch}, Adam lr ${data.lr}`;
      break;
    case 'progress': {
      let step = data.step - data.losses.length;
      for (const loss of data.losses) {
        const prev = run.smooth[run.smooth.length - 1];
        run.steps.push(++step);
        run.losses.push(loss);
        run.smooth.push(prev === undefined ? loss : 0.95 * prev + 0.05 * loss);
      }
      run.msPerStep = data.msPerStep;
      break;
    }
    case 'flow':
      run.flow = { step: data.step, norms: data.norms };
      run.firstFlow ??= run.flow;
      flowSummary.textContent = data.summary;
      break;
    case 'done':
      return finish(run, data.reason === 'stopped' ? 'stopped' : 'done', data.reason);
    case 'error':
      return finish(run, 'error', `error: ${data.message}`);
  }
  scheduleRender();
};
worker.onerror = (event) => {
  event.preventDefault();
  if (run) finish(run, 'error', `worker error: ${event.message}`);
};

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const cell = cellSelect.value as CellKind, length = Number(lengthSelect.value);
  run = { cell, length, baseline: 1 / 12, state: 'running', message: '', steps: [], losses: [], smooth: [], msPerStep: 0 };
  lossPlot.innerHTML = '<p class="placeholder">Compiling and training…</p>';
  flowPlot.innerHTML = '<p class="placeholder">Measuring the gradient flow…</p>';
  flowSummary.textContent = '';
  setRunning(true);
  announce.textContent = `Training ${cellLabels[cell]} on sequences of length ${length}.`;
  send({ type: 'start', cell, length });
  scheduleRender();
  stopButton.focus();
});
stopButton.addEventListener('click', () => {
  send({ type: 'stop' });
  stopButton.disabled = true; // Train comes back when the worker confirms
});
