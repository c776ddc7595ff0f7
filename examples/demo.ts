/**
 * `npm run demo`: an LSTM learns a task that needs memory, and the loss falls.
 *
 * The task (generated, seeded): the input is a stream of random numbers in [−1, 1]; the target
 * at step t is the input DELAY steps earlier (zero before that). The network must hold each
 * number in its state for DELAY steps. One training step is a forward pass over T steps, the
 * summed loss E = Σ_t E_t, and BPTT for every parameter; the update is Adam.
 */
import { builtin, compile, init, mulberry32, unroll } from 'loopgrad';

const T = 30, B = 16, H = 32, DELAY = 4, STEPS = 400, LEARNING_RATE = 0.01;

const cell = builtin.lstm({ input: 1, hidden: H });
const graph = unroll(cell, { steps: T, readout: { output: 1 } });
const plan = compile(graph, { batch: B, dtype: 'float32' });
const params = init(graph, { seed: 1 });

/** A fresh batch of the delayed-echo task: inputs and targets, [T, B, 1] each. */
const rand = mulberry32(42);
const inputs = new Float32Array(T * B);
const targets = new Float32Array(T * B);
const sampleBatch = (): void => {
  for (let i = 0; i < T * B; i++) inputs[i] = 2 * rand() - 1;
  for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) targets[t * B + b] = t >= DELAY ? inputs[(t - DELAY) * B + b]! : 0;
};

/** Adam (Kingma & Ba), in place over every parameter. */
const moments = Object.fromEntries(graph.params.map((p) => [p.name, { m: new Float64Array(params[p.name].length), v: new Float64Array(params[p.name].length) }]));
const adam = (grads: Readonly<Record<string, ArrayLike<number>>>, step: number): void => {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const c1 = 1 - b1 ** step, c2 = 1 - b2 ** step;
  for (const p of graph.params) {
    const w = params[p.name], g = grads[p.name]!, { m, v } = moments[p.name]!;
    for (let i = 0; i < w.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      w[i] -= (LEARNING_RATE * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
    }
  }
};

// Predicting 0 everywhere scores E ≈ (T − DELAY) · E[x²] / 2 = 26/6 ≈ 4.3 per sequence.
console.log(`LSTM (hidden ${H}) learns to echo its input ${DELAY} steps later: T = ${T}, batch ${B}, Adam lr ${LEARNING_RATE}`);
console.log(`params: ${graph.params.map((p) => `${p.name} [${p.shape.join(', ')}]`).join(', ')}\n`);
console.log('  step      loss   ‖∂E/∂h_0‖  ‖∂E/∂h_T−1‖');
const start = performance.now();
let first = 0, last = 0;
for (let step = 1; step <= STEPS; step++) {
  sampleBatch();
  const r = plan.valueAndGrad(params, { inputs, targets });
  if (step === 1) first = r.loss;
  last = r.loss;
  if (step === 1 || step % 25 === 0) {
    const bar = '█'.repeat(Math.max(0, Math.round((r.loss / first) * 30)));
    console.log(`${String(step).padStart(6)}  ${r.loss.toFixed(4).padStart(8)}  ${r.flow.h[0]!.toExponential(2).padStart(10)}  ${r.flow.h[T - 1]!.toExponential(2).padStart(10)}  ${bar}`);
  }
  adam(r.grads, step);
}
const seconds = (performance.now() - start) / 1000;
console.log(`\nloss ${first.toFixed(4)} → ${last.toFixed(4)} in ${STEPS} steps (${seconds.toFixed(1)} s, ${((seconds / STEPS) * 1000).toFixed(1)} ms per training step)`);
