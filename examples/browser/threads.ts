/**
 * The threads check page: runs threads-worker.ts and shows what it reports. The server sends
 * the cross-origin isolation headers (COOP same-origin, COEP require-corp) that shared memory
 * needs.
 */
import type { ThreadsReport } from './messages';

const out = document.querySelector<HTMLElement>('#result')!;
const worker = new Worker(new URL('./threads-worker.js', import.meta.url), { type: 'module' });
worker.onmessage = ({ data }: MessageEvent<ThreadsReport>) => {
  out.dataset['state'] = data.ok ? 'done' : 'failed';
  if (!data.ok) {
    out.textContent = `threads could not run here: ${data.error}`;
    return;
  }
  for (const [k, v] of Object.entries(data)) out.dataset[k] = String(v);
  out.textContent = `cross-origin isolated: ${data.isolated}; pool of ${data.poolThreads} threads; the LSTM plan runs on ${data.planThreads} (${data.kernels} kernels); ` +
    `gradients ${data.identical ? 'bit-identical to' : 'DIFFERENT from'} one thread's; ${data.msPlain.toFixed(1)} ms per step on one thread, ${data.msThreaded.toFixed(1)} ms on ${data.planThreads}.`;
};
