/**
 * A training loop: compute loss and gradients with a plan, clip, update with an optimizer, and
 * report each step. The loop is the plain composition of the pieces (plan, clip, optimizer); it
 * updates its own copy of the parameters in place (the optimizer's fast path), so a step
 * allocates no typed arrays after the first.
 *
 * ```ts
 * const task = addingProblem(100, 32, 1);
 * const u = unroll(builtin.gru({ input: 2, hidden: 16 }), { steps: 100, readout: { output: 1 }, lossAt: 'last' });
 * const run = train(compile(u, { batch: 32 }), init(u, { seed: 1 }), {
 *   steps: 500, optimizer: optim.adam({ lr: 1e-2 }), clipNorm: 1, data: () => task.next(),
 *   onStep: (s) => { if (s.step % 100 === 0) console.log(s.step, s.loss); },
 * });
 * run.params; run.history.loss;
 * ```
 * A non-finite loss stops the loop with `stopped: { step, reason }` rather than training on
 * NaNs (the parameters are those before the step that diverged).
 */
import * as E from 'fp-ts/Either';
import { clipGradNormEither, clipGradValueEither, globalNorm, globalNormEither } from './clip';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import { cloneParams } from './init';
import type { Optimizer, OptState } from './optim';
import type { Batch, ParamValues, Plan } from './plan';
import type { Buf } from './primitives/types';

/** What happened in one step, given to `onStep`. @since 0.1.0 @category model */
export interface StepInfo {
  /** 1-based. */
  readonly step: number;
  readonly loss: number;
  /** ‖∇E‖ before clipping. */
  readonly gradNorm: number;
  /** Whether clipping changed the gradient. */
  readonly clipped: boolean;
  /** ‖∂E/∂s_t‖ of the first state field, t = 0 … T−1 (the plan's buffer: copy to keep). */
  readonly flow: Float64Array;
  readonly params: Readonly<Record<string, Float64Array>>;
}

/** Options of {@link train}. @since 0.1.0 @category model */
export interface TrainOptions {
  readonly steps: number;
  readonly optimizer: Optimizer;
  /** The batch of each step (1-based). */
  readonly data: (step: number) => Batch;
  /** Clip the gradient's global norm to this (PyTorch's clip_grad_norm_). */
  readonly clipNorm?: number;
  /** Clamp every gradient entry to [−clipValue, clipValue]. */
  readonly clipValue?: number;
  /** Called after every step; return `'stop'` to end early. */
  readonly onStep?: (info: StepInfo) => void | 'stop';
  /** Continue from an optimizer state (default: a fresh one). */
  readonly state?: OptState;
}

/** The outcome of {@link train}. @since 0.1.0 @category model */
export interface TrainResult<PN extends string = string> {
  readonly params: { [K in PN]: Float64Array };
  readonly state: OptState;
  /** Loss and gradient norm (before clipping) of every step taken. */
  readonly history: { readonly loss: Float64Array; readonly gradNorm: Float64Array };
  /** Steps completed. */
  readonly steps: number;
  /** Set when the loop ended before `steps`: a non-finite loss or gradient, or `onStep` said stop. */
  readonly stopped?: { readonly step: number; readonly reason: string };
}

/**
 * Trains: `steps` updates of a copy of `params` (the input is not mutated), or the problem
 * with the options. Numeric trouble (a loss or gradient that is not finite) ends the run with
 * `stopped`, not with an exception: the last finite parameters are returned.
 * @since 0.1.0
 * @category training
 */
export const trainEither = <PN extends string>(
  plan: Plan<PN, string>, params: ParamValues<PN>, options: TrainOptions,
): E.Either<readonly LoopgradIssue[], TrainResult<PN>> => {
  const bad: LoopgradIssue[] = [];
  if (!Number.isSafeInteger(options.steps) || options.steps < 0) bad.push(issue('OptionError', ['train', 'steps'], `steps is ${String(options.steps)}; expected a non-negative integer`));
  for (const k of ['clipNorm', 'clipValue'] as const) {
    const c = options[k];
    if (c !== undefined && !(typeof c === 'number' && c > 0 && Number.isFinite(c))) bad.push(issue('OptionError', ['train', k], `${k} is ${String(c)}; expected a positive number`));
  }
  if (bad.length > 0) return E.left(bad);
  const p = cloneParams(params) as Record<string, Float64Array>;
  const state = options.state ?? options.optimizer.init(p);
  const loss = new Float64Array(options.steps), gradNorm = new Float64Array(options.steps);
  const done = (steps: number, stopped?: { step: number; reason: string }): TrainResult<PN> => ({
    params: p as { [K in PN]: Float64Array }, state, history: { loss: loss.subarray(0, steps), gradNorm: gradNorm.subarray(0, steps) }, steps, ...(stopped ? { stopped } : {}),
  });
  const firstField = plan.unrolled.cell.state[0]!.name;
  for (let step = 1; step <= options.steps; step++) {
    const r = plan.valueAndGradEither(p as unknown as ParamValues<PN>, options.data(step));
    if (E.isLeft(r)) {
      if (r.left.every((e) => e._tag === 'NumericError')) return E.right(done(step - 1, { step, reason: r.left[0]!.message }));
      return E.left(r.left.map((e) => ({ ...e, path: ['train', `step ${step}`, ...e.path] })));
    }
    const grads = r.right.grads as Readonly<Record<string, Buf>>;
    const n = globalNormEither(grads);
    if (E.isLeft(n)) return E.right(done(step - 1, { step, reason: `the gradient is not finite at step ${step} (exploding gradients? try clipNorm): ${n.left[0]!.message}` }));
    const norm = n.right;
    let clipped = false;
    if (options.clipNorm !== undefined) {
      const c = clipGradNormEither(grads, options.clipNorm, { inPlace: true });
      if (E.isRight(c)) clipped = c.right.scale < 1;
    }
    if (options.clipValue !== undefined) {
      clipGradValueEither(grads, options.clipValue, { inPlace: true });
      clipped = clipped || globalNorm(grads) !== norm;
    }
    options.optimizer.stepInPlace(p, grads, state);
    loss[step - 1] = r.right.loss;
    gradNorm[step - 1] = norm;
    const said = options.onStep?.({ step, loss: r.right.loss, gradNorm: norm, clipped, flow: (r.right.flow as Record<string, Float64Array>)[firstField]!, params: p });
    if (said === 'stop') return E.right(done(step, { step, reason: 'stopped by onStep' }));
  }
  return E.right(done(options.steps));
};

/**
 * {@link trainEither}, throwing a `LoopgradError` on bad options or data.
 * @since 0.1.0
 * @category training
 */
export const train = <PN extends string>(plan: Plan<PN, string>, params: ParamValues<PN>, options: TrainOptions): TrainResult<PN> =>
  getOrThrow(trainEither(plan, params, options));
