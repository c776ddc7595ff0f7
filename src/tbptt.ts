/**
 * Truncated BPTT, TBPTT(k₁, k₂): every k₁ steps, the losses of those k₁ steps are
 * backpropagated through the last k₂ steps only (k₂ ≥ k₁), starting from the state the forward
 * pass reached there, and the gradients of all segments are summed. Memory and time per update
 * grow with k₂, not with T; the price is that no gradient reaches further back than k₂ steps.
 *
 * ```ts
 * const tb = tbptt(cell, { k1: 20, k2: 50, readout: { output: 2 }, batch: 8 });
 * const r = tb.valueAndGrad(params, { inputs, targets });   // any T; loss = Σ_t E_t
 * tb.valueAndGrad(params, next);                             // stateful: starts where the last call ended
 * ```
 * With k₁ = k₂ = T there is one segment, the whole sequence: exactly full BPTT. With k₂ = T and
 * any k₁, every segment reaches back to the start: the sum is again the full gradient.
 *
 * Stateful training carries the final state of one call into the next (the batch rows continue
 * the same streams), as in language modelling over a long text; `reset()` forgets it.
 */
import * as E from 'fp-ts/Either';
import type { Cell } from './cell';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import type { LossSpec } from './loss';
import { compile, type Batch, type ParamValues, type Plan } from './plan';
import type { Dtype } from './program';
import { isDim, numel } from './shape';
import type { ThreadPool } from './kernels/threads';
import { unroll } from './unroll';

/** Options of {@link tbptt}. @since 0.1.0 @category model */
export interface TbpttOptions {
  /** Steps between updates: each segment's losses. */
  readonly k1: number;
  /** Steps backpropagated through (k₂ ≥ k₁). */
  readonly k2: number;
  readonly batch: number;
  readonly readout?: { readonly output: number };
  readonly loss?: LossSpec;
  readonly dtype?: Dtype;
  /** Carry the final state into the next call (default false). */
  readonly stateful?: boolean;
  /** Worker threads for the segment plans' matrix products (see `compile`'s `threads`). */
  readonly threads?: ThreadPool;
}

/** Loss, summed gradients and final state of one TBPTT pass. Arrays are fresh (owned by the caller). @since 0.1.0 @category model */
export interface TbpttResult {
  readonly loss: number;
  /** E_t for every step of the sequence. */
  readonly stepLosses: Float64Array;
  readonly grads: Readonly<Record<string, Float64Array>>;
  readonly finalState: Readonly<Record<string, Float64Array>>;
  /** How many segments (updates' worth of losses) the sequence was cut into. */
  readonly segments: number;
}

/** A TBPTT driver for one cell; plans are compiled once per window length and reused. @since 0.1.0 @category model */
export interface Tbptt {
  readonly options: TbpttOptions;
  readonly valueAndGradEither: (params: ParamValues<string>, batch: Batch) => E.Either<readonly LoopgradIssue[], TbpttResult>;
  readonly valueAndGrad: (params: ParamValues<string>, batch: Batch) => TbpttResult;
  /** Forgets the carried state (stateful mode). */
  readonly reset: () => void;
}

/**
 * A TBPTT(k₁, k₂) driver, or what is wrong with the options.
 * @since 0.1.0
 * @category constructors
 */
export const tbpttEither = (cell: Cell, options: TbpttOptions): E.Either<readonly LoopgradIssue[], Tbptt> => {
  const { k1, k2, batch: B } = options;
  const bad: LoopgradIssue[] = [];
  if (!isDim(k1)) bad.push(issue('OptionError', ['tbptt', 'k1'], `k1 is ${String(k1)}; expected a positive integer`));
  if (!isDim(k2)) bad.push(issue('OptionError', ['tbptt', 'k2'], `k2 is ${String(k2)}; expected a positive integer`));
  else if (isDim(k1) && k2 < k1) bad.push(issue('OptionError', ['tbptt', 'k2'], `k2 is ${k2} but k1 is ${k1}: each segment's ${k1} losses must be backpropagated through at least those ${k1} steps (k2 ≥ k1)`));
  if (!isDim(B)) bad.push(issue('OptionError', ['tbptt', 'batch'], `batch is ${String(B)}; expected a positive integer`));
  if (cell.bidirectional !== undefined) bad.push(issue('OptionError', ['tbptt'], `${cell.name} is bidirectional: its outputs depend on the future, so a sequence cannot be cut into segments`));
  if (bad.length > 0) return E.left(bad);

  const I = cell.inputSize, O = options.readout?.output ?? cell.outputSize;
  // a window of L steps whose last `lossSteps` carry a loss
  const plans = new Map<string, Plan<string, string>>();
  const planFor = (L: number, lossSteps: number): Plan<string, string> => {
    const key = `${L}/${lossSteps}`;
    let p = plans.get(key);
    if (p === undefined) {
      const weights = lossSteps === L ? undefined : Array.from({ length: L }, (_, t) => (t >= L - lossSteps ? 1 : 0));
      const u = unroll(cell, {
        steps: L, ...(options.readout ? { readout: options.readout } : {}), ...(options.loss ? { loss: options.loss } : {}),
        ...(weights ? { stepWeights: weights } : {}),
      });
      p = compile(u, { batch: B, ...(options.dtype ? { dtype: options.dtype } : {}), ...(options.threads ? { threads: options.threads } : {}) });
      plans.set(key, p);
    }
    return p;
  };
  let carried: Record<string, Float64Array> | undefined;

  const valueAndGradEither = (params: ParamValues<string>, batch: Batch): E.Either<readonly LoopgradIssue[], TbpttResult> => {
    const perStep = B * I;
    const T = batch?.inputs?.length / perStep;
    if (!Number.isSafeInteger(T) || T < 1) {
      return E.left([issue('InputError', ['batch', 'inputs'], `inputs has ${batch?.inputs?.length} numbers, not a positive multiple of B ${B} × I ${I} = ${perStep}`)]);
    }
    if (batch.targets?.length !== T * B * O) {
      return E.left([issue('InputError', ['batch', 'targets'], `targets has ${batch.targets?.length} numbers; expected T ${T} × B ${B} × O ${O} = ${T * B * O}`)]);
    }
    if (batch.mask !== undefined) return E.left([issue('InputError', ['batch', 'mask'], 'tbptt does not take masks: cut variable-length sequences into equal-length streams')]);
    const xs = Float64Array.from(batch.inputs), ys = Float64Array.from(batch.targets);
    const slice = (from: number, to: number) => ({ inputs: xs.subarray(from * B * I, to * B * I), targets: ys.subarray(from * B * O, to * B * O) });

    // forward, one step at a time: the state at each window start
    const segments = Math.ceil(T / k1);
    const starts = Array.from({ length: segments }, (_, j) => Math.max(0, Math.min(T, (j + 1) * k1) - k2));
    const wanted = new Set(starts);
    const states = new Map<number, Record<string, Float64Array>>();
    const initial = (batch.initialState as Record<string, ArrayLike<number>> | undefined) ?? (options.stateful ? carried : undefined);
    const zeros = () => Object.fromEntries(cell.state.map((s) => [s.name, new Float64Array(B * numel(s.shape))]));
    let s: Record<string, Float64Array> = initial ? Object.fromEntries(cell.state.map((f) => [f.name, Float64Array.from(initial[f.name] ?? new Float64Array(B * numel(f.shape)))])) : zeros();
    const one = planFor(1, 1);
    for (let t = 0; t < T; t++) {
      if (wanted.has(t)) states.set(t, s);
      const r = one.forwardEither(params, { ...slice(t, t + 1), initialState: s });
      if (E.isLeft(r)) return E.left(r.left.map((e) => ({ ...e, path: [...e.path, `step ${t}`] })));
      s = Object.fromEntries(Object.entries(r.right.finalState).map(([k, v]) => [k, Float64Array.from(v)]));
    }

    // backward: each segment's losses through its window, gradients summed
    const grads: Record<string, Float64Array> = {};
    const stepLosses = new Float64Array(T);
    let loss = 0;
    for (let j = 0; j < segments; j++) {
      const end = Math.min(T, (j + 1) * k1), from = starts[j]!, lossFrom = j * k1;
      const r = planFor(end - from, end - lossFrom).valueAndGradEither(params, { ...slice(from, end), initialState: states.get(from)! });
      if (E.isLeft(r)) return E.left(r.left.map((e) => ({ ...e, path: [...e.path, `segment ${j} (steps ${from}…${end - 1})`] })));
      for (const [k, g] of Object.entries<ArrayLike<number>>(r.right.grads)) {
        const acc = grads[k] ?? (grads[k] = new Float64Array(g.length));
        for (let i = 0; i < g.length; i++) acc[i] += g[i]!;
      }
      for (let t = lossFrom; t < end; t++) stepLosses[t] = r.right.stepLosses[t - from]!;
      loss += r.right.loss;
    }
    if (options.stateful) carried = s;
    return E.right({ loss, stepLosses, grads, finalState: s, segments });
  };
  return E.right({
    options,
    valueAndGradEither,
    valueAndGrad: (params, batch) => getOrThrow(valueAndGradEither(params, batch)),
    reset: () => {
      carried = undefined;
    },
  });
};

/**
 * {@link tbpttEither}, throwing a `LoopgradError` on bad options.
 * @since 0.1.0
 * @category constructors
 */
export const tbptt = (cell: Cell, options: TbpttOptions): Tbptt => getOrThrow(tbpttEither(cell, options));
