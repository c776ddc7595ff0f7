/**
 * jax-js as a peer of `npm run bench:compare`: @jax-js/jax on its 'wasm' device, float32,
 * the step being jit(valueAndGrad(loss)) of WORKLOAD.md's equations (the T-step loop unrolled
 * at trace time, as a Python loop under jax.jit would be; the input projection of all steps one
 * matmul, the readout one matmul over the stacked h_t).
 *
 * Node 20 has no Float16Array, which jax-js refers to: a stand-in class is installed before it
 * loads (no float16 array is ever made). jax-js arrays are reference counted: every use of an
 * array consumes it, `.ref` adds a use.
 */
import { readFileSync } from 'node:fs';
import type { Problem, Stepper } from './problem';

type Jax = typeof import('@jax-js/jax');
type JArray = import('@jax-js/jax').Array;

let loaded: Jax | undefined;

/** Loads jax-js and initialises its wasm device (Node 20 needs `init('wasm')` and the Float16Array stand-in). */
export const loadJax = async (): Promise<{ jax: Jax; version: string; threads: string }> => {
  if (loaded === undefined) {
    const g = globalThis as { Float16Array?: unknown };
    if (g.Float16Array === undefined) g.Float16Array = class Float16Array {};
    loaded = await import('@jax-js/jax');
    const devices = await loaded.init('wasm');
    if (!devices.includes('wasm')) throw new Error(`jax-js: init('wasm') gave ${JSON.stringify(devices)}`);
    loaded.defaultDevice('wasm');
  }
  // jax-js runs wasm kernels on a worker pool only where SharedArrayBuffer and a global Worker exist.
  const threads = typeof (globalThis as { Worker?: unknown }).Worker === 'undefined' ? '1 (no global Worker in Node 20)' : 'worker pool';
  let version = 'unknown';
  try {
    const pkg = new URL('../node_modules/@jax-js/jax/package.json', import.meta.url);
    version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    /* not where bench/package.json installs it */
  }
  return { jax: loaded, version, threads };
};

type Params = Record<string, JArray>;

export const jaxStepper = (jax: Jax, p: Problem): Stepper => {
  const { numpy: np, nn } = jax;
  const { B, T, I, H, O } = p.dims;
  const cell = p.cell;
  const names = p.params.map((q) => q.name);
  const params: Params = Object.fromEntries(p.params.map((q) => [q.name, np.array(q.data).reshape([...q.shape])]));
  const x = np.array(p.inputs).reshape([T * B, I]);
  const target = np.array(p.targets).reshape([T * B, O]);

  /** E = (1/2B) Σ ‖y − target‖²; consumes every argument exactly once. */
  const lossFn = (q: Params, xs: JArray, tgt: JArray): JArray => {
    const whhT = q['weight_hh']!.transpose();
    const bhh = q['bias_hh']!;
    const xp = np.unstack(np.matmul(xs, q['weight_ih']!.transpose()).add(q['bias_ih']!).reshape([T, B, -1]));
    let h = np.zeros([B, H]);
    let c = np.zeros([B, H]);
    const hs: JArray[] = [];
    for (let t = 0; t < T; t++) {
      const gi = xp[t]!;
      const gh = np.matmul(h.ref, whhT.ref).add(bhh.ref);
      if (cell === 'vanilla') {
        h.dispose();
        h = np.tanh(gi.add(gh));
      } else if (cell === 'gru') {
        const [ir, iz, inn] = np.split(gi, 3, 1);
        const [hr, hz, hn] = np.split(gh, 3, 1);
        const r = nn.sigmoid(ir!.add(hr!));
        const z = nn.sigmoid(iz!.add(hz!));
        const n = np.tanh(inn!.add(r.mul(hn!)));
        h = n.ref.add(z.mul(h.sub(n))); // (1 − z)·n + z·h
      } else {
        const [gI, gF, gG, gO] = np.split(gi.add(gh), 4, 1);
        c = nn.sigmoid(gF!).mul(c).add(nn.sigmoid(gI!).mul(np.tanh(gG!)));
        h.dispose();
        h = nn.sigmoid(gO!).mul(np.tanh(c.ref));
      }
      hs.push(h.ref);
    }
    h.dispose();
    c.dispose();
    whhT.dispose();
    bhh.dispose();
    const y = np.matmul(np.stack(hs).reshape([T * B, H]), q['readout.weight']!.transpose()).add(q['readout.bias']!);
    return np.square(y.sub(tgt)).sum().mul(0.5 / B);
  };
  const vg = jax.jit(jax.valueAndGrad(lossFn));

  let last: { loss: number; grads: Float32Array[] } | undefined;
  return {
    step: () => {
      const args = Object.fromEntries(names.map((n) => [n, params[n]!.ref]));
      const [value, grads] = vg(args, x.ref, target.ref) as unknown as [JArray, Params];
      // dataSync: the step is finished (and its results on the JS side) when it returns.
      last = { loss: (value.dataSync() as Float32Array)[0]!, grads: names.map((n) => grads[n]!.dataSync() as Float32Array) };
    },
    result: () => {
      if (last === undefined) throw new Error('no step run yet');
      const l = last;
      return { loss: l.loss, grads: Object.fromEntries(names.map((n, i) => [n, l.grads[i]!])) };
    },
    dispose: () => {
      for (const n of names) params[n]!.dispose();
      x.dispose();
      target.dispose();
    },
  };
};
