// Optimizers: hand-computed steps, a scalar reference written from the formulas, PyTorch float64
// fixtures, purity, no allocation in place, convergence on a quadratic, and errors naming the field.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { countingTypedArrays } from './support/allocations';
import { formatIssues, LoopgradError, type LoopgradIssue } from '../src/errors';
import * as optim from '../src/optim';
import type { Optimizer, OptState, Tensors } from '../src/optim';

const f64 = (...xs: number[]): Float64Array => Float64Array.from(xs);

/** Runs `steps` pure steps with the same gradient each time; returns p after each step (param `p`). */
const trajectory = (opt: Optimizer, p0: number[], grads: number[][]): number[][] => {
  let params: Tensors = { p: Float64Array.from(p0) };
  let state = opt.init(params);
  return grads.map((g) => {
    ({ params, state } = opt.step(params, { p: Float64Array.from(g) }, state));
    return Array.from(params['p']!);
  });
};

const expectClose = (a: readonly number[], b: readonly number[], rtol: number, atol = 0): void => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]!), `entry ${i}: ${x} vs ${b[i]}`).toBeLessThanOrEqual(atol + rtol * Math.abs(b[i]!)));
};

describe('the first steps, computed by hand from the equations', () => {
  it('SGD: plain, momentum, Nesterov, weight decay', () => {
    expectClose(trajectory(optim.sgd({ lr: 0.1 }), [1], [[2], [2]]).flat(), [0.8, 0.6], 1e-15);
    // b = 1, 1.9, 2.71; θ = 1 − 0.1·b cumulated
    expectClose(trajectory(optim.sgd({ lr: 0.1, momentum: 0.9 }), [1], [[1], [1], [1]]).flat(), [0.9, 0.71, 0.439], 1e-15);
    // Nesterov: update = g + 0.9·b = 1.9, 2.71, 3.439
    expectClose(trajectory(optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), [1], [[1], [1], [1]]).flat(), [0.81, 0.539, 0.1951], 1e-14);
    // dampening 0.5: b = 1 (first step copies g), then 0.9 + 0.5 = 1.4
    expectClose(trajectory(optim.sgd({ lr: 0.1, momentum: 0.9, dampening: 0.5 }), [1], [[1], [1]]).flat(), [0.9, 0.76], 1e-15);
    // L2 decay with a zero gradient: θ ← θ − 0.1·0.5·θ = 0.95 θ
    expectClose(trajectory(optim.sgd({ lr: 0.1, weightDecay: 0.5 }), [1], [[0], [0]]).flat(), [0.95, 0.9025], 1e-15);
  });

  it('Adam: a constant gradient moves θ by lr·g/(|g| + ε) every step (bias correction); AdamW decays θ by (1 − lr·λ)', () => {
    const stepBy = (0.1 * 2) / (2 + 1e-8);
    expectClose(trajectory(optim.adam({ lr: 0.1 }), [1], [[2], [2], [2]]).flat(), [1 - stepBy, 1 - 2 * stepBy, 1 - 3 * stepBy], 1e-14);
    expectClose(trajectory(optim.adam({ lr: 0.1, weightDecay: 0.5, decoupled: true }), [1], [[0], [0]]).flat(), [0.95, 0.9025], 1e-15);
    // coupled L2 with g = 0: d = 0.5·θ = 0.5 > 0, so the first step is −lr·d/(|d| + ε)
    expectClose(trajectory(optim.adam({ lr: 0.1, weightDecay: 0.5 }), [1], [[0]]).flat(), [1 - (0.1 * 0.5) / (0.5 + 1e-8)], 1e-15);
  });

  it('RMSProp: plain, centered, momentum', () => {
    const eps = 1e-8;
    const s1 = 0.01, s2 = 0.99 * 0.01 + 0.01;
    const plain1 = 1 - 0.01 / (Math.sqrt(s1) + eps);
    expectClose(trajectory(optim.rmsprop({ lr: 0.01 }), [1], [[1], [1]]).flat(), [plain1, plain1 - 0.01 / (Math.sqrt(s2) + eps)], 1e-15);
    // centered: s̃ = s − a², a = 0.01 after one step
    expectClose(trajectory(optim.rmsprop({ lr: 0.01, centered: true }), [1], [[1]]).flat(), [1 - 0.01 / (Math.sqrt(0.01 - 0.0001) + eps)], 1e-15);
    // momentum 0.5: b = u1, then 0.5·u1 + u2
    const u1 = 1 / (Math.sqrt(s1) + eps), u2 = 1 / (Math.sqrt(s2) + eps);
    expectClose(trajectory(optim.rmsprop({ lr: 0.01, momentum: 0.5 }), [1], [[1], [1]]).flat(), [1 - 0.01 * u1, 1 - 0.01 * u1 - 0.01 * (0.5 * u1 + u2)], 1e-15);
  });

  it('a learning-rate schedule is called with the number of updates already taken', () => {
    const seen: number[] = [];
    const opt = optim.sgd({ lr: (t) => (seen.push(t), 0.1 * 0.5 ** t) });
    expectClose(trajectory(opt, [0], [[1], [1], [1]]).flat(), [-0.1, -0.15, -0.175], 1e-15);
    expect(seen).toEqual([0, 1, 2]);
  });
});

// ---- a scalar reference, written from the algorithm boxes of PyTorch's docs (bias-corrected m̂, v̂ form) ----
type RefOptions = { lr: number; momentum: number; dampening: number; nesterov: boolean; wd: number; b1: number; b2: number; eps: number; decoupled: boolean; alpha: number; centered: boolean };

const reference = (kind: optim.OptimizerName, o: RefOptions, theta0: number, gs: readonly number[]): number[] => {
  let theta = theta0, b = 0, m = 0, v = 0, gAve = 0;
  return gs.map((g0, k) => {
    const t = k + 1;
    if (kind === 'sgd') {
      let g = g0 + o.wd * theta;
      if (o.momentum !== 0) {
        b = t > 1 ? o.momentum * b + (1 - o.dampening) * g : g;
        g = o.nesterov ? g + o.momentum * b : b;
      }
      theta = theta - o.lr * g;
    } else if (kind === 'adam') {
      if (o.decoupled) theta = theta - o.lr * o.wd * theta;
      const g = o.decoupled ? g0 : g0 + o.wd * theta;
      m = o.b1 * m + (1 - o.b1) * g;
      v = o.b2 * v + (1 - o.b2) * g * g;
      const mHat = m / (1 - o.b1 ** t), vHat = v / (1 - o.b2 ** t);
      theta = theta - (o.lr * mHat) / (Math.sqrt(vHat) + o.eps);
    } else {
      const g = g0 + o.wd * theta;
      v = o.alpha * v + (1 - o.alpha) * g * g;
      let vTilde = v;
      if (o.centered) {
        gAve = o.alpha * gAve + (1 - o.alpha) * g;
        vTilde = vTilde - gAve * gAve;
      }
      if (o.momentum > 0) {
        b = o.momentum * b + g / (Math.sqrt(vTilde) + o.eps);
        theta = theta - o.lr * b;
      } else theta = theta - (o.lr * g) / (Math.sqrt(vTilde) + o.eps);
    }
    return theta;
  });
};

const build = (kind: optim.OptimizerName, o: RefOptions): Optimizer =>
  kind === 'sgd'
    ? optim.sgd({ lr: o.lr, momentum: o.momentum, dampening: o.nesterov ? 0 : o.dampening, nesterov: o.nesterov && o.momentum > 0, weightDecay: o.wd })
    : kind === 'adam'
      ? optim.adam({ lr: o.lr, betas: [o.b1, o.b2], eps: o.eps, weightDecay: o.wd, decoupled: o.decoupled })
      : optim.rmsprop({ lr: o.lr, alpha: o.alpha, eps: o.eps, momentum: o.momentum, centered: o.centered, weightDecay: o.wd });

describe('against a scalar reference written from the formulas', () => {
  const options = fc.record({
    lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }),
    momentum: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 0.95, noNaN: true })),
    dampening: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
    nesterov: fc.boolean(),
    wd: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.2, noNaN: true })),
    b1: fc.double({ min: 0, max: 0.99, noNaN: true }),
    b2: fc.double({ min: 0.5, max: 0.9999, noNaN: true }),
    eps: fc.double({ min: 1e-8, max: 1e-2, noNaN: true }),
    decoupled: fc.boolean(),
    alpha: fc.double({ min: 0.5, max: 0.999, noNaN: true }),
    centered: fc.boolean(),
  });
  const series = fc.array(fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 });
  for (const kind of ['sgd', 'adam', 'rmsprop'] as const) {
    it(`${kind}: every entry follows its own scalar recurrence (random options and gradients)`, () => {
      fc.assert(
        fc.property(options, series, fc.double({ min: -2, max: 2, noNaN: true }), (o, gs, theta0) => {
          const n = gs[0]!.length;
          const grads = gs.map((g) => Array.from({ length: n }, (_, i) => g[i % g.length]!));
          const ours = trajectory(build(kind, { ...o, dampening: o.nesterov ? 0 : o.dampening }), new Array(n).fill(theta0), grads);
          for (let i = 0; i < n; i++) {
            const ref = reference(kind, { ...o, nesterov: o.nesterov && o.momentum > 0, dampening: o.nesterov ? 0 : o.dampening }, theta0, grads.map((g) => g[i]!));
            expectClose(ours.map((p) => p[i]!), ref, 1e-9, 1e-12);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});

// ---- PyTorch fixtures (test/fixtures/torch/make_optim_fixtures.py) ----
interface TorchCase {
  readonly name: string;
  readonly optimizer: optim.OptimizerName;
  readonly options: Record<string, unknown> & { lr: number };
  readonly lrDecay?: number;
  readonly params: readonly Record<string, number[]>[];
  readonly state: Record<string, Record<string, number[]>>;
}
const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/torch/optim.json', import.meta.url)), 'utf8')) as {
  params: Record<string, number[]>;
  grads: Record<string, number[]>[];
  cases: TorchCase[];
};

const fromFixture = (c: TorchCase): Optimizer => {
  const o = { ...c.options, ...(c.lrDecay !== undefined ? { lr: (t: number) => c.options.lr * c.lrDecay! ** t } : {}) };
  return c.optimizer === 'sgd' ? optim.sgd(o) : c.optimizer === 'adam' ? optim.adam(o as optim.AdamOptions) : optim.rmsprop(o);
};
const toTensors = (r: Record<string, number[]>): Record<string, Float64Array> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

/** max |a − b| / |b| over the entries (b ≠ 0; where b = 0, a must be 0). */
const relError = (a: ArrayLike<number>, b: readonly number[]): number => {
  let worst = 0;
  b.forEach((x, i) => (worst = Math.max(worst, x === 0 ? (a[i] === 0 ? 0 : Infinity) : Math.abs(a[i]! - x) / Math.abs(x))));
  return worst;
};

describe('PyTorch float64 fixtures (torch.optim, 5 steps)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s matches to 1e-12 relative, params and state, pure and in place', (_, c) => {
    const opt = fromFixture(c);
    let params: Tensors = toTensors(fixture.params);
    let state = opt.init(params);
    const inPlace = toTensors(fixture.params), inPlaceState = opt.init(inPlace);
    let worst = 0;
    fixture.grads.forEach((g, t) => {
      const grads = toTensors(g);
      ({ params, state } = opt.step(params, grads, state));
      opt.stepInPlace(inPlace, grads, inPlaceState);
      for (const k of Object.keys(fixture.params)) {
        worst = Math.max(worst, relError(params[k]!, c.params[t]![k]!));
        expect(Array.from(inPlace[k]!)).toEqual(Array.from(params[k]!)); // the two paths are the same code
      }
    });
    expect(state.step).toBe(5);
    expect(Object.keys(state.slots).sort()).toEqual(Object.keys(c.state).sort());
    for (const [slot, per] of Object.entries(c.state)) for (const [k, v] of Object.entries(per)) worst = Math.max(worst, relError(state.slots[slot]![k]!, v));
    expect(worst, `${c.name}: max relative deviation ${worst}`).toBeLessThanOrEqual(1e-12);
  });
});

// ---- purity, allocation, float32, convergence ----
const mixed = (): { params: Tensors; grads: Tensors } => ({
  params: { w: f64(0.5, -0.25, 1, 2), b: Float32Array.from([0.1, -0.1]) },
  grads: { w: Float32Array.from([0.3, -0.2, 0.1, 0]), b: f64(1, -2) },
});
const everyOptimizer = (): Optimizer[] => [
  optim.sgd({ lr: 0.1 }),
  optim.sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  optim.adam({ lr: 0.01 }),
  optim.adam({ lr: 0.01, weightDecay: 0.1, decoupled: true }),
  optim.rmsprop({ lr: 0.01 }),
  optim.rmsprop({ lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.1 }),
];

describe('purity and the in-place fast path', () => {
  it('step returns new arrays of the same dtypes and never mutates params, grads or state', () => {
    for (const opt of everyOptimizer()) {
      const { params, grads } = mixed();
      const state = opt.init(params);
      opt.stepInPlace(structuredClone(params), grads, state); // a non-trivial state
      const before = structuredClone({ params, grads, state });
      const next = opt.step(params, grads, state);
      expect({ params, grads, state }).toEqual(before);
      expect(next.params['w']).not.toBe(params['w']);
      expect(next.params['b']).toBeInstanceOf(Float32Array);
      expect(next.state.step).toBe(2);
      expect(next.params['w']).not.toEqual(params['w']);
      for (const slot of opt.slotNames) expect(next.state.slots[slot]!['w']).not.toBe(state.slots[slot]!['w']);
    }
  });

  it('stepInPlace allocates no typed arrays on the second call (counted by instrumenting the constructors)', () => {
    countingTypedArrays((counts) => {
      for (const opt of [...everyOptimizer(), optim.adam({ lr: (t) => 0.01 / (1 + t) })]) {
        const { params, grads } = mixed();
        counts.n = 0;
        const state = opt.init(params);
        if (opt.slotNames.length > 0) expect(counts.n).toBeGreaterThan(0); // the instrument works: init allocates the slots
        opt.stepInPlace(params, grads, state);
        counts.n = 0;
        opt.stepInPlace(params, grads, state);
        opt.stepInPlace(params, grads, state);
        expect(counts.n, opt.name).toBe(0);
      }
    });
  });

  it('float32 parameters and gradients agree with float64 to float32 precision', () => {
    for (const opt of everyOptimizer()) {
      const p64: Tensors = { w: f64(0.5, -0.25, 1, 2) }, p32: Tensors = { w: Float32Array.from(p64['w']!) };
      const s64 = opt.init(p64), s32 = opt.init(p32);
      for (let t = 0; t < 5; t++) {
        const g = f64(Math.sin(t), Math.cos(t), 0.5, -1);
        opt.stepInPlace(p64, { w: g }, s64);
        opt.stepInPlace(p32, { w: Float32Array.from(g) }, s32);
      }
      expectClose(Array.from(p32['w']!), Array.from(p64['w']!), 1e-5, 1e-6);
    }
  });

  it('minimises a badly scaled quadratic ½ Σ a_i (θ_i − c_i)²', () => {
    const a = [1, 10, 0.1], c = [3, -2, 0.5];
    const cases: [Optimizer, number][] = [
      [optim.sgd({ lr: 0.05, momentum: 0.9 }), 600],
      [optim.sgd({ lr: 0.05, momentum: 0.9, nesterov: true }), 600],
      [optim.adam({ lr: (t) => 0.1 / Math.sqrt(1 + t / 10) }), 3000],
      [optim.rmsprop({ lr: (t) => 0.01 / (1 + t / 20), momentum: 0.5, centered: true }), 3000],
    ];
    for (const [opt, steps] of cases) {
      const params = { theta: new Float64Array(3) }, grads = { theta: new Float64Array(3) };
      const state = opt.init(params);
      for (let t = 0; t < steps; t++) {
        for (let i = 0; i < 3; i++) grads.theta[i] = a[i]! * (params.theta[i]! - c[i]!);
        opt.stepInPlace(params, grads, state);
      }
      expectClose(Array.from(params.theta), c, 0, 1e-4);
    }
  });
});

// ---- errors ----
const optionIssues = (r: E.Either<readonly LoopgradIssue[], Optimizer>): string => (E.isLeft(r) ? formatIssues(r.left) : 'no issues');

describe('errors name the field', () => {
  it('bad options are OptionErrors with the optimizer and field in the path', () => {
    expect(optionIssues(optim.sgdEither({ lr: -1 }))).toBe('sgd › lr: lr is -1; expected a finite number ≥ 0 or a function of the step count');
    expect(optionIssues(optim.sgdEither({ lr: 0.1, nesterov: true }))).toBe('sgd › nesterov: nesterov needs momentum > 0 and dampening 0 (as in PyTorch); momentum is 0, dampening 0');
    expect(optionIssues(optim.sgdEither({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }))).toMatch(/^sgd › nesterov: .* dampening 0.1$/);
    expect(optionIssues(optim.sgdEither({ lr: 0.1, momentun: 0.9 } as optim.SgdOptions))).toBe("sgd › momentun: unknown option 'momentun'; sgd's options are: lr, momentum, dampening, weightDecay, nesterov");
    expect(optionIssues(optim.adamEither({ lr: NaN, betas: [0.9, 1], eps: 0 }))).toBe(
      ['adam › lr: lr is NaN; expected a finite number ≥ 0 or a function of the step count', 'adam › eps: eps is 0; expected a positive finite number', 'adam › betas › 1: betas[1] is 1; expected a number in [0, 1)'].join('\n'),
    );
    expect(optionIssues(optim.adamEither({ lr: 1, betas: [0.9] as unknown as [number, number] }))).toBe('adam › betas: betas is [0.9]; expected a pair [β1, β2]');
    expect(optionIssues(optim.rmspropEither({ lr: 0.1, alpha: 1.5, centered: 'yes' as unknown as boolean, weightDecay: -0.1 }))).toBe(
      ['rmsprop › alpha: alpha is 1.5; expected a number in [0, 1)', 'rmsprop › weightDecay: weightDecay is -0.1; expected a finite number ≥ 0', 'rmsprop › centered: centered is yes; expected true or false'].join('\n'),
    );
    expect(optionIssues(optim.rmspropEither(undefined as unknown as optim.RmspropOptions))).toBe('rmsprop: options are undefined; expected an object with lr');
    expect(() => optim.sgd({ lr: Infinity })).toThrow(LoopgradError);
    expect(E.isRight(optim.sgdEither({ lr: 0 }))).toBe(true); // lr = 0 is allowed, as in PyTorch (a schedule may end there)
  });

  it('bad grads or state are InputErrors naming the parameter, found before anything is written', () => {
    const opt = optim.adam({ lr: 0.1 });
    const params = { w: f64(1, 2, 3), b: f64(4) };
    const state = opt.init(params);
    const before = structuredClone({ params, state });
    const issues = (grads: Tensors, s: OptState = state): string => {
      const r = opt.stepEither(params, grads as never, s);
      return E.isLeft(r) ? formatIssues(r.left) : 'no issues';
    };
    expect(issues({ w: f64(1, 2, 3) })).toBe('grads › b: grad b is missing; expected 1 numbers like param b');
    expect(issues(undefined as never)).toBe('grads: grads are undefined; expected one array per parameter');
    expect(issues({ w: f64(1, 2), b: f64(1) })).toBe('grads › w: grad w has 2 numbers; expected 3 like param w');
    expect(issues({ w: f64(1, NaN, Infinity), b: f64(1) })).toBe('grads › w › 1: grad w[1] is NaN; expected a finite number');
    expect(issues({ w: f64(1, 2, 3), b: f64(1), c: f64(0) })).toBe('grads › c: grad c has no parameter; the params are: w, b');
    expect(issues({ w: f64(1, 2, 3), b: f64(1) }, optim.sgd({ lr: 1 }).init(params))).toMatch(/^state: state is not a state of adam/);
    expect(issues({ w: f64(1, 2, 3), b: f64(1) }, opt.init({ w: params.w }))).toBe('state › expAvg › b: state expAvg of b has no numbers; expected 1 (make the state with init on these params)\nstate › expAvgSq › b: state expAvgSq of b has no numbers; expected 1 (make the state with init on these params)');
    const thrown = (() => {
      try {
        opt.stepInPlace(params, { w: f64(1, 2, NaN), b: f64(1) }, state);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(LoopgradError);
    expect((thrown as LoopgradError).issues[0]).toEqual({ _tag: 'InputError', path: ['grads', 'w', '2'], message: 'grad w[2] is NaN; expected a finite number' });
    expect({ params, state }).toEqual(before); // nothing was written
  });

  it('a schedule giving a bad rate is an OptionError at that step', () => {
    const opt = optim.sgd({ lr: (t) => (t < 2 ? 0.1 : -t) });
    const params = { w: f64(1) }, state = opt.init(params);
    opt.stepInPlace(params, { w: f64(1) }, state);
    opt.stepInPlace(params, { w: f64(1) }, state);
    expect(() => opt.stepInPlace(params, { w: f64(1) }, state)).toThrow('sgd › lr: lr(2) is -2; expected a finite number ≥ 0');
    expect(state.step).toBe(2);
    expect(params.w[0]).toBeCloseTo(0.8, 15);
  });
});
