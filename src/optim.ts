/**
 * Optimizers (SGD, Adam/AdamW, RMSProp): a pure `step` on plain data, built on an in-place fast path.
 *
 * ```ts
 * const opt = optim.adam({ lr: 1e-3 });
 * let params = init(graph, { seed: 1 }), state = opt.init(params);
 * ({ params, state } = opt.step(params, plan.valueAndGrad(params, batch).grads, state));   // new arrays
 * opt.stepInPlace(params, grads, state);                                                  // no allocation
 * ```
 * Every update follows PyTorch 1.13's `torch.optim` single-tensor code line by line (same
 * operations in the same order), so results agree with PyTorch float64 to rounding
 * (`test/fixtures/torch/make_optim_fixtures.py`). Moments are kept in float64 whatever the
 * dtype of the parameters; float32 parameters are rounded once per update, when written.
 */
import * as E from 'fp-ts/Either';
import { getOrThrow, issue, LoopgradError, type LoopgradIssue } from './errors';
import type { Buf } from './primitives/types';

// -------------------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------------------

/** Named arrays: parameters, or their gradients under the same names. @since 0.1.0 @category model */
export type Tensors = { readonly [name: string]: Buf };

/** One gradient per parameter of `P`, float64 or float32 (a float32 plan's). @since 0.1.0 @category model */
export type GradsOf<P> = { readonly [K in keyof P]: Buf };

/** The optimizers. @since 0.1.0 @category model */
export type OptimizerName = 'sgd' | 'adam' | 'rmsprop';

/**
 * An optimizer's state, plain data: `step` counts the updates taken, `slots[slot][param]` holds
 * the per-parameter buffers (PyTorch's names in camelCase: `momentumBuffer`, `expAvg`,
 * `expAvgSq`, `squareAvg`, `gradAvg`). `stepInPlace` mutates it; `step` returns a new one.
 * @since 0.1.0
 * @category model
 */
export interface OptState {
  readonly optimizer: OptimizerName;
  step: number;
  readonly slots: { readonly [slot: string]: { readonly [param: string]: Float64Array } };
}

/** New parameters and state from a pure step. @since 0.1.0 @category model */
export interface StepResult<P> {
  readonly params: P;
  readonly state: OptState;
}

/**
 * A learning rate, or a schedule: a function of the number of updates already taken (0 for the
 * first), like PyTorch's `LambdaLR` with `lr(t) = base · λ(t)`.
 * @since 0.1.0
 * @category model
 */
export type LearningRate = number | ((step: number) => number);

/** Options of {@link sgd} (PyTorch's `SGD`). @since 0.1.0 @category model */
export interface SgdOptions {
  readonly lr: LearningRate;
  /** μ ≥ 0 (default 0: plain SGD). */
  readonly momentum?: number;
  /** τ ∈ [0, 1] (default 0). */
  readonly dampening?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0. */
  readonly nesterov?: boolean;
  /** λ ≥ 0, L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/** Options of {@link adam} (PyTorch's `Adam`, or `AdamW` when `decoupled`). @since 0.1.0 @category model */
export interface AdamOptions {
  readonly lr: LearningRate;
  /** (β1, β2), each in [0, 1) (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number];
  /** ε > 0 (default 1e-8). */
  readonly eps?: number;
  /** λ ≥ 0 (default 0; note PyTorch's `AdamW` defaults to 0.01). */
  readonly weightDecay?: number;
  /** Decay the weights directly, θ ← θ(1 − lr·λ), as `AdamW` (default false: L2 added to the gradient, as `Adam`). */
  readonly decoupled?: boolean;
}

/** Options of {@link rmsprop} (PyTorch's `RMSprop`). @since 0.1.0 @category model */
export interface RmspropOptions {
  readonly lr: LearningRate;
  /** Smoothing constant α ∈ [0, 1) (default 0.99). */
  readonly alpha?: number;
  /** ε > 0 (default 1e-8). */
  readonly eps?: number;
  /** μ ≥ 0 (default 0). */
  readonly momentum?: number;
  /** Normalise by the estimated variance instead of the second moment (default false). */
  readonly centered?: boolean;
  /** λ ≥ 0, L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/**
 * An optimizer: a value holding its validated options, with
 * - `init(params)`: zero state for these parameters;
 * - `step(params, grads, state)`: pure, returns new arrays and leaves its inputs untouched;
 * - `stepInPlace(params, grads, state)`: updates `params` and `state` in place, allocating nothing;
 * - `stepEither`: `step` with problems as values.
 *
 * A gradient that is missing, has the wrong length or holds a non-finite entry, a gradient with
 * no parameter, or a state from another optimizer or other parameters, is an `InputError` naming
 * it; a schedule giving a bad rate is an `OptionError`. Both are found before anything is written.
 * @since 0.1.0
 * @category model
 */
export interface Optimizer {
  readonly name: OptimizerName;
  /** The options with their defaults filled in. */
  readonly options: Required<SgdOptions> | Required<AdamOptions> | Required<RmspropOptions>;
  /** The state slots, e.g. `['expAvg', 'expAvgSq']`. */
  readonly slotNames: readonly string[];
  readonly init: (params: Tensors) => OptState;
  readonly step: <P extends Tensors>(params: P, grads: GradsOf<P>, state: OptState) => StepResult<P>;
  readonly stepEither: <P extends Tensors>(params: P, grads: GradsOf<P>, state: OptState) => E.Either<readonly LoopgradIssue[], StepResult<P>>;
  readonly stepInPlace: <P extends Tensors>(params: P, grads: GradsOf<P>, state: OptState) => void;
}

// -------------------------------------------------------------------------------------------------
// internals: validation and the generic driver
// -------------------------------------------------------------------------------------------------

/** Updates one parameter in place; `t` is the 1-based number of this update. */
type Kernel = (lr: number, t: number, p: Buf, g: Buf, slots: OptState['slots'], name: string) => void;

interface Rule<O> {
  readonly name: OptimizerName;
  readonly options: O;
  readonly slotNames: readonly string[];
  readonly kernel: Kernel;
}

const show = (x: unknown): string => (typeof x === 'function' ? 'a function' : Array.isArray(x) ? JSON.stringify(x) : String(x));

interface FieldCheck {
  readonly ok: (x: number) => boolean;
  readonly expected: string;
}
const nonNegative: FieldCheck = { ok: (x) => Number.isFinite(x) && x >= 0, expected: 'a finite number ≥ 0' };
const positive: FieldCheck = { ok: (x) => Number.isFinite(x) && x > 0, expected: 'a positive finite number' };
const unitOpen: FieldCheck = { ok: (x) => x >= 0 && x < 1, expected: 'a number in [0, 1)' };
const unitClosed: FieldCheck = { ok: (x) => x >= 0 && x <= 1, expected: 'a number in [0, 1]' };

/** Checks the option object's keys, `lr`, and each numeric or boolean field present. */
const checkOptions = (
  name: OptimizerName,
  options: unknown,
  numbers: { readonly [field: string]: FieldCheck },
  booleans: readonly string[],
  others: readonly string[] = [],
): LoopgradIssue[] => {
  if (typeof options !== 'object' || options === null) return [issue('OptionError', [name], `options are ${show(options)}; expected an object with lr`)];
  const o = options as Record<string, unknown>;
  const known = ['lr', ...Object.keys(numbers), ...others, ...booleans];
  const bad: LoopgradIssue[] = [];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) bad.push(issue('OptionError', [name, k], `unknown option '${k}'; ${name}'s options are: ${known.join(', ')}`));
  }
  const lr = o['lr'];
  if (typeof lr !== 'function' && !(typeof lr === 'number' && nonNegative.ok(lr))) {
    bad.push(issue('OptionError', [name, 'lr'], `lr is ${show(lr)}; expected ${nonNegative.expected} or a function of the step count`));
  }
  for (const [k, c] of Object.entries(numbers)) {
    const x = o[k];
    if (x !== undefined && !(typeof x === 'number' && c.ok(x))) bad.push(issue('OptionError', [name, k], `${k} is ${show(x)}; expected ${c.expected}`));
  }
  for (const k of booleans) {
    const x = o[k];
    if (x !== undefined && typeof x !== 'boolean') bad.push(issue('OptionError', [name, k], `${k} is ${show(x)}; expected true or false`));
  }
  return bad;
};

/** The learning rate of the update after `step` updates, or the issue with it. */
const rateAt = (name: OptimizerName, lr: LearningRate, step: number): number | LoopgradIssue => {
  const r = typeof lr === 'number' ? lr : lr(step);
  return typeof r === 'number' && nonNegative.ok(r)
    ? r
    : issue('OptionError', [name, 'lr'], `lr(${step}) is ${show(r)}; expected ${nonNegative.expected}`);
};

/**
 * Validates one step's inputs without writing anything: returns the learning rate, or the
 * issues. Allocates only when something is wrong.
 */
const checkStep = (rule: Rule<{ readonly lr: LearningRate }>, params: Tensors, grads: Tensors, state: OptState): number | LoopgradIssue[] => {
  let bad: LoopgradIssue[] | undefined;
  const report = (x: LoopgradIssue): void => void (bad ??= []).push(x);
  if (typeof state !== 'object' || state === null || state.optimizer !== rule.name || !Number.isInteger(state.step) || state.step < 0) {
    return [issue('InputError', ['state'], `state is not a state of ${rule.name} (with a step count ≥ 0); make one with this optimizer's init`)];
  }
  if (typeof grads !== 'object' || grads === null) return [issue('InputError', ['grads'], `grads are ${show(grads)}; expected one array per parameter`)];
  for (const k in params) {
    const p = params[k]!, g = grads[k];
    if (g === undefined || g === null || typeof g.length !== 'number') {
      report(issue('InputError', ['grads', k], `grad ${k} is missing; expected ${p.length} numbers like param ${k}`));
    } else if (g.length !== p.length) {
      report(issue('InputError', ['grads', k], `grad ${k} has ${g.length} numbers; expected ${p.length} like param ${k}`));
    } else {
      for (let i = 0; i < g.length; i++) {
        if (!Number.isFinite(g[i])) {
          report(issue('InputError', ['grads', k, String(i)], `grad ${k}[${i}] is ${g[i]}; expected a finite number`));
          break;
        }
      }
    }
    for (const s of rule.slotNames) {
      const a = state.slots[s]?.[k];
      if (a === undefined || a.length !== p.length) {
        report(issue('InputError', ['state', s, k], `state ${s} of ${k} has ${a === undefined ? 'no' : a.length} numbers; expected ${p.length} (make the state with init on these params)`));
      }
    }
  }
  for (const k in grads) {
    if (!(k in params)) report(issue('InputError', ['grads', k], `grad ${k} has no parameter; the params are: ${Object.keys(params).join(', ')}`));
  }
  const lr = rateAt(rule.name, rule.options.lr, state.step);
  if (typeof lr !== 'number') report(lr);
  return bad ?? (lr as number);
};

/** Runs the kernel on every parameter: the unchecked core of every step. */
const apply = (kernel: Kernel, lr: number, params: Tensors, grads: Tensors, state: OptState): void => {
  const t = state.step + 1;
  for (const k in params) kernel(lr, t, params[k]!, grads[k]!, state.slots, k);
  state.step = t;
};

const copyTensors = <P extends Tensors>(params: P): P => {
  const out: Record<string, Buf> = {};
  for (const k in params) out[k] = params[k]!.slice();
  return out as P;
};

const copyState = (s: OptState): OptState => ({
  optimizer: s.optimizer,
  step: s.step,
  slots: Object.fromEntries(Object.entries(s.slots).map(([slot, per]) => [slot, copyTensors(per) as { [param: string]: Float64Array }])),
});

const make = <O extends { readonly lr: LearningRate }>(rule: Rule<O>): Optimizer => {
  const stepEither = <P extends Tensors>(params: P, grads: GradsOf<P>, state: OptState): E.Either<readonly LoopgradIssue[], StepResult<P>> => {
    const lr = checkStep(rule, params, grads, state);
    if (typeof lr !== 'number') return E.left(lr);
    const next = { params: copyTensors(params), state: copyState(state) };
    apply(rule.kernel, lr, next.params, grads, next.state);
    return E.right(next);
  };
  return {
    name: rule.name,
    options: rule.options as unknown as Optimizer['options'],
    slotNames: rule.slotNames,
    init: (params) => ({
      optimizer: rule.name,
      step: 0,
      slots: Object.fromEntries(rule.slotNames.map((s) => [s, Object.fromEntries(Object.entries(params).map(([k, p]) => [k, new Float64Array(p.length)]))])),
    }),
    step: (params, grads, state) => getOrThrow(stepEither(params, grads, state)),
    stepEither,
    stepInPlace: (params, grads, state) => {
      const lr = checkStep(rule, params, grads, state);
      if (typeof lr !== 'number') throw new LoopgradError(lr);
      apply(rule.kernel, lr, params, grads, state);
    },
  };
};

// -------------------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------------------

/**
 * Stochastic gradient descent, as PyTorch's `torch.optim.SGD`. With d = g + λθ:
 * ```
 * b_1 = d,  b_t = μ b_{t−1} + (1 − τ) d        (only when μ > 0)
 * d ← nesterov ? d + μ b_t : b_t
 * θ ← θ − lr · d
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const sgdEither = (options: SgdOptions): E.Either<readonly LoopgradIssue[], Optimizer> => {
  const bad = checkOptions('sgd', options, { momentum: nonNegative, dampening: unitClosed, weightDecay: nonNegative }, ['nesterov']);
  if (bad.length > 0) return E.left(bad);
  const o: Required<SgdOptions> = { lr: options.lr, momentum: options.momentum ?? 0, dampening: options.dampening ?? 0, nesterov: options.nesterov ?? false, weightDecay: options.weightDecay ?? 0 };
  if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
    return E.left([issue('OptionError', ['sgd', 'nesterov'], `nesterov needs momentum > 0 and dampening 0 (as in PyTorch); momentum is ${o.momentum}, dampening ${o.dampening}`)]);
  }
  const { momentum: mu, dampening: tau, nesterov, weightDecay: wd } = o;
  const kernel: Kernel = (lr, t, p, g, slots, name) => {
    const n = p.length;
    if (mu === 0) {
      for (let i = 0; i < n; i++) p[i] = p[i]! - lr * (g[i]! + wd * p[i]!);
      return;
    }
    const buf = slots['momentumBuffer']![name]!;
    for (let i = 0; i < n; i++) {
      const d = g[i]! + wd * p[i]!;
      const b = t === 1 ? d : mu * buf[i]! + (1 - tau) * d; // PyTorch starts the buffer as a copy of d
      buf[i] = b;
      p[i] = p[i]! - lr * (nesterov ? d + mu * b : b);
    }
  };
  return E.right(make({ name: 'sgd', options: o, slotNames: mu > 0 ? ['momentumBuffer'] : [], kernel }));
};

/**
 * Adam, as PyTorch's `torch.optim.Adam` (or `AdamW` with `decoupled`). With d = g + λθ (Adam)
 * or d = g after θ ← θ(1 − lr·λ) (AdamW):
 * ```
 * m ← β1 m + (1 − β1) d,   v ← β2 v + (1 − β2) d²
 * θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const adamEither = (options: AdamOptions): E.Either<readonly LoopgradIssue[], Optimizer> => {
  const bad = checkOptions('adam', options, { eps: positive, weightDecay: nonNegative }, ['decoupled'], ['betas']);
  const betas = (options as { betas?: unknown } | null)?.betas;
  if (betas !== undefined) {
    if (!Array.isArray(betas) || betas.length !== 2) bad.push(issue('OptionError', ['adam', 'betas'], `betas is ${show(betas)}; expected a pair [β1, β2]`));
    else betas.forEach((b: unknown, k) => {
      if (!(typeof b === 'number' && unitOpen.ok(b))) bad.push(issue('OptionError', ['adam', 'betas', String(k)], `betas[${k}] is ${show(b)}; expected ${unitOpen.expected}`));
    });
  }
  if (bad.length > 0) return E.left(bad);
  const o: Required<AdamOptions> = { lr: options.lr, betas: [...(options.betas ?? [0.9, 0.999])] as [number, number], eps: options.eps ?? 1e-8, weightDecay: options.weightDecay ?? 0, decoupled: options.decoupled ?? false };
  const [b1, b2] = o.betas, { eps, weightDecay: wd, decoupled } = o;
  const kernel: Kernel = (lr, t, p, g, slots, name) => {
    const m = slots['expAvg']![name]!, v = slots['expAvgSq']![name]!;
    const stepSize = lr / (1 - b1 ** t), bc2Sqrt = Math.sqrt(1 - b2 ** t), shrink = 1 - lr * wd;
    for (let i = 0; i < p.length; i++) {
      const theta = decoupled ? p[i]! * shrink : p[i]!;
      const d = decoupled ? g[i]! : g[i]! + wd * theta;
      const mi = b1 * m[i]! + (1 - b1) * d, vi = b2 * v[i]! + (1 - b2) * d * d;
      m[i] = mi;
      v[i] = vi;
      p[i] = theta + (-stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
    }
  };
  return E.right(make({ name: 'adam', options: o, slotNames: ['expAvg', 'expAvgSq'], kernel }));
};

/**
 * RMSProp, as PyTorch's `torch.optim.RMSprop`. With d = g + λθ:
 * ```
 * s ← α s + (1 − α) d²;   centered: a ← α a + (1 − α) d, s̃ = s − a², else s̃ = s
 * u = d / (√s̃ + ε);   momentum: b ← μ b + u, θ ← θ − lr · b;   else θ ← θ − lr · u
 * ```
 * (s − a² ≥ 0 in exact arithmetic; a rounding below 0 is taken as 0 where PyTorch gives NaN.)
 * @since 0.1.0
 * @category constructors
 */
export const rmspropEither = (options: RmspropOptions): E.Either<readonly LoopgradIssue[], Optimizer> => {
  const bad = checkOptions('rmsprop', options, { alpha: unitOpen, eps: positive, momentum: nonNegative, weightDecay: nonNegative }, ['centered']);
  if (bad.length > 0) return E.left(bad);
  const o: Required<RmspropOptions> = { lr: options.lr, alpha: options.alpha ?? 0.99, eps: options.eps ?? 1e-8, momentum: options.momentum ?? 0, centered: options.centered ?? false, weightDecay: options.weightDecay ?? 0 };
  const { alpha, eps, momentum: mu, centered, weightDecay: wd } = o;
  const kernel: Kernel = (lr, _t, p, g, slots, name) => {
    const s = slots['squareAvg']![name]!;
    const a = centered ? slots['gradAvg']![name]! : s, b = mu > 0 ? slots['momentumBuffer']![name]! : s;
    for (let i = 0; i < p.length; i++) {
      const d = g[i]! + wd * p[i]!;
      const si = alpha * s[i]! + (1 - alpha) * d * d;
      s[i] = si;
      let avg: number;
      if (centered) {
        const ai = alpha * a[i]! + (1 - alpha) * d;
        a[i] = ai;
        avg = Math.sqrt(Math.max(0, si + -ai * ai)) + eps;
      } else avg = Math.sqrt(si) + eps;
      if (mu > 0) {
        const bi = mu * b[i]! + d / avg;
        b[i] = bi;
        p[i] = p[i]! + -lr * bi;
      } else p[i] = p[i]! + (-lr * d) / avg;
    }
  };
  const slotNames = ['squareAvg', ...(centered ? ['gradAvg'] : []), ...(mu > 0 ? ['momentumBuffer'] : [])];
  return E.right(make({ name: 'rmsprop', options: o, slotNames, kernel }));
};

/** {@link sgdEither}, throwing a `LoopgradError` on bad options. @since 0.1.0 @category constructors */
export const sgd = (options: SgdOptions): Optimizer => getOrThrow(sgdEither(options));

/** {@link adamEither}, throwing a `LoopgradError` on bad options. @since 0.1.0 @category constructors */
export const adam = (options: AdamOptions): Optimizer => getOrThrow(adamEither(options));

/** {@link rmspropEither}, throwing a `LoopgradError` on bad options. @since 0.1.0 @category constructors */
export const rmsprop = (options: RmspropOptions): Optimizer => getOrThrow(rmspropEither(options));
