/**
 * TensorFlow.js as a peer of `npm run bench:compare`: @tensorflow/tfjs-core with the 'cpu'
 * (plain JS kernels) or 'wasm' (XNNPACK, SIMD) backend, float32.
 *
 * The step is written as plain tf ops over WORKLOAD.md's equations, differentiated by
 * tf.valueAndGrads: the input projection X·W_ihᵀ + b_ih of all T steps is one matmul, the
 * recurrence a hand loop of T steps (h·W_hhᵀ + b_hh, then the gate math), the readout one
 * matmul over all stacked h_t. PyTorch's gate order and layouts (W_ih [G·H, I], ...).
 */
import type { Problem, Stepper } from './problem';

type Tf = typeof import('@tensorflow/tfjs-core');
type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;

let loaded: Tf | undefined;

/** Loads tfjs-core and both backends, and makes `backend` the active one. */
export const loadTfjs = async (backend: 'cpu' | 'wasm'): Promise<{ tf: Tf; version: string; flags: string }> => {
  if (loaded === undefined) {
    // tfjs-core prints a banner recommending tfjs-node when it first runs in Node: keep it off the table.
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      loaded = await import('@tensorflow/tfjs-core');
      // tf.grad needs the gradient table, which tfjs-core's Node build leaves out (its ESM
      // register_all_gradients does not load in Node); the union package's Node build registers it.
      await import('@tensorflow/tfjs');
      await import('@tensorflow/tfjs-backend-cpu');
      await import('@tensorflow/tfjs-backend-wasm');
    } finally {
      console.warn = warn;
    }
  }
  const tf = loaded;
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
    await tf.ready();
    // Touch the engine once so that the banner (if any) is printed while warnings are off.
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
  } finally {
    console.warn = warn;
  }
  const f = tf.env().features as Record<string, unknown>;
  const flags = backend === 'wasm' ? `simd=${String(f['WASM_HAS_SIMD_SUPPORT'])}, threads=${String(f['WASM_HAS_MULTITHREAD_SUPPORT'])}` : 'js';
  return { tf, version: tf.version_core, flags };
};

export const tfjsStepper = (tf: Tf, p: Problem): Stepper => {
  const { B, T, I, H, O } = p.dims;
  const cell = p.cell;
  const names = p.params.map((q) => q.name);
  const vars = p.params.map((q) => tf.tensor(q.data, [...q.shape], 'float32'));
  const x = tf.tensor2d(p.inputs, [T * B, I], 'float32');
  const target = tf.tensor2d(p.targets, [T * B, O], 'float32');
  const at = (args: Tensor[], name: string): Tensor => args[names.indexOf(name)]!;

  const lossFn = (...args: Tensor[]): Tensor => {
    const wih = at(args, 'weight_ih') as Tensor2D, whh = at(args, 'weight_hh') as Tensor2D;
    const bih = at(args, 'bias_ih'), bhh = at(args, 'bias_hh');
    const v = at(args, 'readout.weight') as Tensor2D, c = at(args, 'readout.bias');
    // All T input projections at once: [T·B, G·H] → T tensors [B, G·H].
    const xp = tf.unstack(tf.reshape(tf.add(tf.matMul(x, wih, false, true), bih), [T, B, -1]));
    let h = tf.zeros([B, H]) as Tensor2D;
    let cs = tf.zeros([B, H]) as Tensor2D;
    const hs: Tensor2D[] = [];
    for (let t = 0; t < T; t++) {
      const gi = xp[t]!;
      const gh = tf.add(tf.matMul(h, whh, false, true), bhh);
      if (cell === 'vanilla') {
        h = tf.tanh(tf.add(gi, gh)) as Tensor2D;
      } else if (cell === 'gru') {
        const [ir, iz, inn] = tf.split(gi, 3, 1);
        const [hr, hz, hn] = tf.split(gh, 3, 1);
        const r = tf.sigmoid(tf.add(ir!, hr!));
        const z = tf.sigmoid(tf.add(iz!, hz!));
        const n = tf.tanh(tf.add(inn!, tf.mul(r, hn!)));
        h = tf.add(n, tf.mul(z, tf.sub(h, n))) as Tensor2D; // (1 − z)·n + z·h
      } else {
        const [gI, gF, gG, gO] = tf.split(tf.add(gi, gh), 4, 1);
        cs = tf.add(tf.mul(tf.sigmoid(gF!), cs), tf.mul(tf.sigmoid(gI!), tf.tanh(gG!))) as Tensor2D;
        h = tf.mul(tf.sigmoid(gO!), tf.tanh(cs)) as Tensor2D;
      }
      hs.push(h);
    }
    const y = tf.add(tf.matMul(tf.reshape(tf.stack(hs), [T * B, H]) as Tensor2D, v, false, true), c);
    return tf.mul(tf.sum(tf.square(tf.sub(y, target))), 0.5 / B);
  };
  const vg = tf.valueAndGrads(lossFn);

  let last: { loss: number; grads: Float32Array[] } | undefined;
  return {
    step: () => {
      const { value, grads } = vg(vars);
      // dataSync: the step is finished (and its results on the JS side) when it returns.
      last = { loss: value.dataSync()[0]!, grads: grads.map((g) => g.dataSync() as Float32Array) };
      value.dispose();
      tf.dispose(grads);
    },
    result: () => {
      if (last === undefined) throw new Error('no step run yet');
      const l = last;
      return { loss: l.loss, grads: Object.fromEntries(names.map((n, i) => [n, l.grads[i]!])) };
    },
    dispose: () => {
      tf.dispose([...vars, x, target]);
    },
  };
};
