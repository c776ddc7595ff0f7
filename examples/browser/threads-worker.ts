/**
 * The threads check's worker: starts a pool of worker threads from inside a Web Worker (nested
 * workers over a shared WebAssembly memory, which needs the page to be cross-origin isolated),
 * runs one LSTM training step with and without the pool, and reports whether the gradients are
 * bit-identical and how long each step took.
 */
import { builtin, compile, init, startThreads, unroll } from '../../src/index';
import type { ThreadsReport } from './messages';

const post = (r: ThreadsReport): void => (self as unknown as { postMessage(m: ThreadsReport): void }).postMessage(r);

const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;

const check = async (): Promise<ThreadsReport> => {
  const isolated = (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
  const pool = await startThreads(); // one thread per core
  try {
    // the workload's medium LSTM (B 32, I 64, H 128, O 64) over 16 steps
    const B = 32, T = 16, I = 64, H = 128, O = 64;
    const u = unroll(builtin.lstm({ input: I, hidden: H }), { steps: T, readout: { output: O } });
    const params = init(u, { seed: 1 });
    const batch = {
      inputs: Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(i)),
      targets: Float32Array.from({ length: T * B * O }, (_, i) => Math.cos(i)),
    };
    const plain = compile(u, { batch: B, dtype: 'float32' });
    const threaded = compile(u, { batch: B, dtype: 'float32', threads: pool });
    const a = plain.valueAndGrad(params, batch);
    const want = Object.fromEntries(Object.entries(a.grads).map(([k, g]) => [k, Float32Array.from(g)]));
    const b = threaded.valueAndGrad(params, batch);
    const identical = b.loss === a.loss && Object.entries(want).every(([k, g]) => g.every((x, i) => Object.is(x, b.grads[k as keyof typeof b.grads][i])));
    const time = (p: typeof plain): number => {
      const ts: number[] = [];
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now();
        p.valueAndGrad(params, batch);
        ts.push(performance.now() - t0);
      }
      return median(ts.slice(3));
    };
    return { type: 'threads', ok: true, isolated, poolThreads: pool.threads, planThreads: threaded.threads, kernels: threaded.kernels, identical, msPlain: time(plain), msThreaded: time(threaded) };
  } finally {
    await pool.close();
  }
};

check().then(post, (e: unknown) => post({ type: 'threads', ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
