// Checks the reference oracles themselves (scalar engine, hand-written RNN loops) against finite differences and hand math.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random';
import { centralDifference } from './finite-diff.js';
import { buildReferenceGraph, referenceGrad, type RefData, type RefModel } from './rnn.js';
import { Scalar, add, backward, exp, log, mul, neg, relu, scalar, scale, sigmoid, sub, sum, tanh } from './scalar.js';

/**
 * |a − b| / max(|a|, |b|, 1e-3). Pure relative error is meaningless for entries that are (nearly) 0,
 * where central differences carry an absolute error of roughly 1e-10 (rounding in f divided by 2·eps);
 * the 1e-3 floor turns the test into an absolute tolerance of 1e-9 for such tiny entries.
 */
function relError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-3);
}

function expectAllClose(actual: number[], expected: number[], tol: number): void {
  expect(actual.length).toBe(expected.length);
  const worst = Math.max(0, ...actual.map((a, i) => relError(a, expected[i] ?? Number.NaN)));
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Nested number arrays (params, inputs, grads), flattened and refilled in one fixed order. */
type Nested = number | Nested[];

function flatten(x: Nested): number[] {
  return typeof x === 'number' ? [x] : x.flatMap(flatten);
}

/** Writes flat[...] into the leaves of xs in flatten() order, in place. */
function overwrite(xs: Nested[], flat: readonly number[], cursor = { i: 0 }): void {
  for (const [k, x] of xs.entries()) {
    if (typeof x === 'number') xs[k] = flat[cursor.i++] ?? Number.NaN;
    else overwrite(x, flat, cursor);
  }
}

function zerosLike(x: Nested): Nested {
  return typeof x === 'number' ? 0 : x.map(zerosLike);
}

function need<T>(x: T | undefined, what: string): T {
  if (x === undefined) throw new Error(`test: missing ${what}`);
  return x;
}

// ---------------------------------------------------------------------------------------------
describe('scalar engine', () => {
  // One expression touching every op, with x and y fanning out to several uses.
  const build = ([x = 0, y = 0, z = 0]: number[]): { out: Scalar; leaves: Scalar[] } => {
    const [sx, sy, sz] = [scalar(x), scalar(y), scalar(z)];
    const out = sum([
      mul(log(add(exp(mul(sx, sy)), sigmoid(sz))), tanh(sub(sx, sz))),
      mul(relu(sy), mul(sx, sx)),
      scale(neg(sigmoid(mul(sy, sz))), 0.7),
    ]);
    return { out, leaves: [sx, sy, sz] };
  };
  const byHand = ([x = 0, y = 0, z = 0]: number[]): number => {
    const sig = (v: number): number => 1 / (1 + Math.exp(-v));
    return Math.log(Math.exp(x * y) + sig(z)) * Math.tanh(x - z) + Math.max(y, 0) * x * x - 0.7 * sig(y * z);
  };

  it('computes the forward value of a mixed expression', () => {
    for (const point of [[0.3, -1.2, 0.8], [-0.7, 0.4, -2.1]]) {
      expect(build(point).out.data).toBeCloseTo(byHand(point), 14);
    }
  });

  it('matches central differences on a mixed expression (fan-out accumulates)', () => {
    for (const point of [[0.3, -1.2, 0.8], [-0.7, 0.4, -2.1], [1.1, 0.9, 0.05]]) {
      const { out, leaves } = build(point);
      backward(out);
      expectAllClose(leaves.map((l) => l.grad), centralDifference(byHand, point), 1e-6);
    }
  });

  it('gives x·x the derivative 2x (same node listed twice as a parent)', () => {
    const x = scalar(1.5);
    backward(mul(x, x));
    expect(x.grad).toBe(3);
  });

  it('resets grads, so a second backward gives the same answer', () => {
    const { out, leaves } = build([0.3, -1.2, 0.8]);
    backward(out);
    const first = leaves.map((l) => l.grad);
    backward(out);
    expect(leaves.map((l) => l.grad)).toEqual(first);
  });

  it('keeps sigmoid finite for huge |x|', () => {
    for (const x of [-1000, -800, 800, 1000]) {
      const sx = scalar(x);
      const y = sigmoid(sx);
      backward(y);
      expect(Number.isFinite(y.data) && Number.isFinite(sx.grad)).toBe(true);
    }
    expect(sigmoid(scalar(-1000)).data).toBe(0);
    expect(sigmoid(scalar(1000)).data).toBe(1);
  });

  it('handles a 100k-deep chain without overflowing the stack', () => {
    const N = 100_000;
    const c = 1.0000001;
    const x = scalar(0.5);
    let y = x;
    for (let k = 0; k < N; k++) y = mul(y, scalar(c)); // y = x·c^N, so dy/dx = c^N ≈ e^0.01
    backward(y);
    expect(relError(x.grad, Math.pow(c, N))).toBeLessThan(1e-12);
    const chain = ([v = 0]: number[]): number => {
      let out = v;
      for (let k = 0; k < N; k++) out *= c;
      return out;
    };
    expectAllClose([x.grad], centralDifference(chain, [0.5]), 1e-6);
  });

  it('handles a 100k-deep tanh chain', () => {
    const N = 100_000;
    const x = scalar(0.9);
    let y = x;
    for (let k = 0; k < N; k++) y = tanh(y);
    backward(y);
    // d/dx tanh^N(x) = Π_k (1 − y_k²), with y_k the k-th iterate.
    let v = 0.9;
    let expected = 1;
    for (let k = 0; k < N; k++) {
      v = Math.tanh(v);
      expected *= 1 - v * v;
    }
    expect(relError(x.grad, expected)).toBeLessThan(1e-12);
    expect(x.grad).toBeGreaterThan(0);
  });
});

describe('centralDifference', () => {
  it('differentiates a known function and does not mutate x', () => {
    const x = [0.5, -2];
    const g = centralDifference(([a = 0, b = 0]) => a * a * b + Math.sin(b), x);
    expect(x).toEqual([0.5, -2]);
    expectAllClose(g, [2 * 0.5 * -2, 0.25 + Math.cos(-2)], 1e-8);
  });
});

// ---------------------------------------------------------------------------------------------
const PARAM_NAMES = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'readout.weight', 'readout.bias'];
const GATES = { vanilla: 1, gru: 3, lstm: 4 } as const;

function randomProblem(
  cell: RefModel['cell'],
  nonlinearity: 'tanh' | 'relu',
  seed: number,
  { I = 2, H = 3, O = 2, T = 4, B = 2 } = {},
): { model: RefModel; data: RefData } {
  const rng = mulberry32(seed);
  const u = (scaleBy: number): number => (2 * rng() - 1) * scaleBy; // uniform(−s, s)
  const vec = (n: number, s: number): number[] => Array.from({ length: n }, () => u(s));
  const mat = (r: number, c: number, s: number): number[][] => Array.from({ length: r }, () => vec(c, s));
  const GH = GATES[cell] * H;
  const model: RefModel = {
    cell,
    nonlinearity,
    inputSize: I,
    hiddenSize: H,
    outputSize: O,
    params: {
      weight_ih_l0: mat(GH, I, 0.8),
      weight_hh_l0: mat(GH, H, 0.8),
      bias_ih_l0: vec(GH, 0.3),
      bias_hh_l0: vec(GH, 0.3),
      'readout.weight': mat(O, H, 0.8),
      'readout.bias': vec(O, 0.3),
    },
  };
  const data: RefData = {
    inputs: Array.from({ length: T }, () => mat(B, I, 1)),
    targets: Array.from({ length: T }, () => mat(B, O, 1)),
  };
  return { model, data };
}

/** Every differentiable number of the problem, in a fixed order: params (PARAM_NAMES order), then inputs. */
function leavesOf(model: RefModel, data: RefData): Nested[] {
  return [...PARAM_NAMES.map((n) => need(model.params[n], n)), data.inputs];
}

const CASES = [
  { name: 'vanilla tanh', cell: 'vanilla', nonlinearity: 'tanh', seed: 1 },
  { name: 'vanilla relu', cell: 'vanilla', nonlinearity: 'relu', seed: 2 },
  { name: 'gru', cell: 'gru', nonlinearity: 'tanh', seed: 3 },
  { name: 'lstm', cell: 'lstm', nonlinearity: 'tanh', seed: 4 },
] as const;

describe('referenceGrad', () => {
  for (const { name, cell, nonlinearity, seed } of CASES) {
    it(`${name}: gradients of params and inputs match central differences of its own loss`, () => {
      const { model, data } = randomProblem(cell, nonlinearity, seed);
      const result = referenceGrad(model, data);

      const gradLeaves = [...PARAM_NAMES.map((n) => need(result.grads[n], `grad ${n}`)), need(result.grads['inputs'], 'grad inputs')];
      const valueLeaves = leavesOf(model, data);
      gradLeaves.forEach((g, k) => expect(zerosLike(g)).toEqual(zerosLike(valueLeaves[k] ?? []))); // same shapes
      const analytic = gradLeaves.flatMap(flatten);
      expect(Math.max(...analytic.map(Math.abs))).toBeGreaterThan(1e-3); // not vacuously all-zero

      // The loss as a function of one flat vector: write it into the problem in place, run the forward.
      const x0 = valueLeaves.flatMap(flatten);
      const lossAt = (x: number[]): number => {
        overwrite(leavesOf(model, data), x);
        return buildReferenceGraph(model, data).loss.data;
      };
      const numeric = centralDifference(lossAt, x0);
      overwrite(leavesOf(model, data), x0); // restore
      expect(lossAt(x0)).toBe(result.loss);
      expectAllClose(analytic, numeric, 1e-6);
    });

    it(`${name}: dLoss_dh_norm at t = T−1 is the readout derivative (1/B)·Wᵀ(y − target)`, () => {
      const { model, data } = randomProblem(cell, nonlinearity, seed);
      const { dLoss_dh_norm } = referenceGrad(model, data);
      const { outputs } = buildReferenceGraph(model, data);
      const T = data.inputs.length;
      expect(dLoss_dh_norm).toHaveLength(T);

      const W = need(model.params['readout.weight'], 'readout.weight') as number[][];
      // ‖(1/B) Wᵀ(y_t − target_t)‖_F over [B, H]: the part of dL/dh_t that goes straight through y_t.
      const directNorm = (t: number): number => {
        const yB = need(outputs[t], `y_${t}`);
        const B = yB.length;
        let sq = 0;
        for (const [b, y] of yB.entries()) {
          const target = need(data.targets[t]?.[b], `target ${t},${b}`);
          for (let j = 0; j < model.hiddenSize; j++) {
            let d = 0;
            for (const [o, yo] of y.entries()) d += need(W[o]?.[j], 'W') * (yo.data - need(target[o], 'target'));
            sq += (d / B) ** 2;
          }
        }
        return Math.sqrt(sq);
      };
      // The last state has no later uses, so its total derivative is exactly the direct one.
      expect(relError(need(dLoss_dh_norm[T - 1], 'last norm'), directNorm(T - 1))).toBeLessThan(1e-12);
      // Earlier states also feed later steps, so their total derivative must differ from the direct one.
      for (let t = 0; t < T - 1; t++) {
        expect(relError(need(dLoss_dh_norm[t], `norm ${t}`), directNorm(t))).toBeGreaterThan(1e-6);
      }
    });
  }

  it('rejects a missing or wrongly shaped param with a clear error', () => {
    const { model, data } = randomProblem('gru', 'tanh', 5);
    const { bias_hh_l0: _dropped, ...rest } = model.params;
    expect(() => referenceGrad({ ...model, params: rest }, data)).toThrow(/missing param "bias_hh_l0"/);
    const wrong = { ...model, params: { ...model.params, weight_hh_l0: [[1, 2, 3]] } };
    expect(() => referenceGrad(wrong, data)).toThrow(/"weight_hh_l0" must have shape \[9\]\[3\]/);
    const flat = { ...model, params: { ...model.params, 'readout.bias': [[0], [0]] } };
    expect(() => referenceGrad(flat, data)).toThrow(/"readout.bias" must have shape \[2\]/);
  });
});

// ---------------------------------------------------------------------------------------------
// The finite-difference tests only prove backward agrees with forward. These pin the FORWARD to
// PyTorch's equations and gate order, with I = H = O = 1 (so gate block k is row k), T = 2, B = 1.
describe('referenceGrad forward matches the equations by hand (I = H = O = 1)', () => {
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  const rng = mulberry32(42);
  const r = (): number => 2 * rng() - 1;
  const xs = [r(), r()];
  const ts = [r(), r()];
  const [wo, bo] = [r(), r()];
  const data: RefData = { inputs: xs.map((x) => [[x]]), targets: ts.map((t) => [[t]]) };

  /** Runs the one-unit cell by hand and returns Σ_t ½ (y_t − target_t)² (B = 1). */
  const lossByHand = (step: (x: number, h: number, c: number) => [number, number]): number => {
    let [h, c, loss] = [0, 0, 0];
    for (const [t, x] of xs.entries()) {
      [h, c] = step(x, h, c);
      loss += 0.5 * (wo * h + bo - need(ts[t], 'target')) ** 2;
    }
    return loss;
  };
  const check = (cell: RefModel['cell'], nonlinearity: 'tanh' | 'relu', step: (w: Weights) => (x: number, h: number, c: number) => [number, number]): void => {
    const G = GATES[cell];
    const w: Weights = { wi: Array.from({ length: G }, r), wh: Array.from({ length: G }, r), bi: Array.from({ length: G }, r), bh: Array.from({ length: G }, r) };
    const model: RefModel = {
      cell,
      nonlinearity,
      inputSize: 1,
      hiddenSize: 1,
      outputSize: 1,
      params: {
        weight_ih_l0: w.wi.map((v) => [v]),
        weight_hh_l0: w.wh.map((v) => [v]),
        bias_ih_l0: w.bi,
        bias_hh_l0: w.bh,
        'readout.weight': [[wo]],
        'readout.bias': [bo],
      },
    };
    expect(referenceGrad(model, data).loss).toBeCloseTo(lossByHand(step(w)), 14);
  };
  interface Weights { wi: number[]; wh: number[]; bi: number[]; bh: number[] }
  // Gate k's pieces: x-side W_ik x + b_ik and h-side W_hk h + b_hk.
  const xk = (w: Weights, k: number, x: number): number => need(w.wi[k], 'wi') * x + need(w.bi[k], 'bi');
  const hk = (w: Weights, k: number, h: number): number => need(w.wh[k], 'wh') * h + need(w.bh[k], 'bh');

  it('vanilla tanh', () => check('vanilla', 'tanh', (w) => (x, h) => [Math.tanh(xk(w, 0, x) + hk(w, 0, h)), 0]));
  it('vanilla relu', () => check('vanilla', 'relu', (w) => (x, h) => [Math.max(0, xk(w, 0, x) + hk(w, 0, h)), 0]));
  it('gru (gates r, z, n)', () =>
    check('gru', 'tanh', (w) => (x, h) => {
      const rg = sig(xk(w, 0, x) + hk(w, 0, h));
      const z = sig(xk(w, 1, x) + hk(w, 1, h));
      const n = Math.tanh(xk(w, 2, x) + rg * hk(w, 2, h));
      return [(1 - z) * n + z * h, 0];
    }));
  it('lstm (gates i, f, g, o)', () =>
    check('lstm', 'tanh', (w) => (x, h, c) => {
      const i = sig(xk(w, 0, x) + hk(w, 0, h));
      const f = sig(xk(w, 1, x) + hk(w, 1, h));
      const g = Math.tanh(xk(w, 2, x) + hk(w, 2, h));
      const o = sig(xk(w, 3, x) + hk(w, 3, h));
      const c2 = f * c + i * g;
      return [o * Math.tanh(c2), c2];
    }));
});
