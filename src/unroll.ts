/**
 * The unroller: a cell and a length in, one expanded graph out, with the weights shared.
 *
 * `unroll(cell, { steps: T, readout, loss })` is the graph of this plain loop (per example;
 * the batch is added when the graph is compiled):
 * ```
 * s = s_0                                   // zeros, or given (+ a learned s₀ if asked)
 * for t in 0 … T−1:
 *   (s′, o_t) = cell.step(params, x_t, s)   // the same param vars at every t
 *   s = masked ? m_t ⊙ s′ + (1 − m_t) ⊙ s : s′   // a padded step (m_t = 0) keeps the state
 *   y_t = readout ? V o_t + c : o_t
 *   E_t = w_t · loss(y_t, target_t)         // w_t: step weight × (mask, or "is last step")
 * E = Σ_t E_t
 * ```
 * Because every step reads the same param vars, the reverse pass accumulates ∂E/∂W over all
 * uses: the explicit (per-step) and implicit (through earlier states) parts of BPTT are summed
 * by the ordinary fan-in rule, with no special case.
 */
import * as E from 'fp-ts/Either';
import { cellPrimitives, replayStep, type Cell } from './cell';
import { issue, getOrThrow, type LoopgradIssue } from './errors';
import type { Graph, VarId } from './ir';
import { stepLoss, type LossSpec } from './loss';
import * as op from './op';
import { isDim, type Shape } from './shape';
import { Tracer, withTracer, type Mat, type Scalar, type Sym, type Vec } from './trace';

/** Options of {@link unroll}. @since 0.1.0 @category model */
export interface UnrollOptions {
  /** Sequence length T ≥ 1. */
  readonly steps: number;
  /** A linear readout y_t = V o_t + c with params `readout.weight` [O, out], `readout.bias` [O]; omit for y_t = o_t. */
  readonly readout?: { readonly output: number };
  /** The per-step loss; default mean squared error. */
  readonly loss?: LossSpec;
  /**
   * Give every step its own copy of every parameter, named `name@t` (default false). The
   * untied graph computes the same values; its gradient for `name@t` is step t's contribution,
   * and Σ_t of them is the tied gradient (the weight-sharing law checks exactly this).
   */
  readonly untied?: boolean;
  /**
   * Which steps carry a loss: `'every'` (many-to-many, the default) or `'last'`
   * (many-to-one: only the last step, or with `masked` each sequence's last valid step).
   */
  readonly lossAt?: 'every' | 'last';
  /** A constant weight per step multiplying E_t (length T; 0 drops the step's loss). */
  readonly stepWeights?: readonly number[];
  /**
   * Sequences of different lengths in one batch: the batch then carries `mask`, [T, B] of 0
   * (padding) and 1 (valid). A padded step adds no loss and leaves the state unchanged, so the
   * final state is each sequence's last valid one. E_t stays a mean over the whole batch.
   */
  readonly masked?: boolean;
  /**
   * Learn the initial state: a parameter `init.<field>` [n] shared by all examples, added to
   * the batch's initial state (zeros by default); its gradient is Σ_b ∂E/∂s_0.
   */
  readonly learnInitialState?: boolean;
}

/** {@link UnrollOptions} with every default filled in. @since 0.1.0 @category model */
export interface ResolvedUnrollOptions {
  readonly steps: number;
  readonly readout?: { readonly output: number };
  readonly loss: LossSpec;
  readonly untied: boolean;
  readonly lossAt: 'every' | 'last';
  readonly stepWeights?: readonly number[];
  readonly masked: boolean;
  readonly learnInitialState: boolean;
}

/** Names of the readout parameters (those of a PyTorch `nn.Linear` called `readout`). @since 0.1.0 @category model */
export type ReadoutParam = 'readout.weight' | 'readout.bias';

/**
 * The expanded graph and where everything is in it. Pure data, like the cell.
 * @since 0.1.0
 * @category model
 */
export interface Unrolled<PN extends string = string, SN extends string = string> {
  readonly format: 'loopgrad.unrolled/1';
  readonly cell: Cell<PN, SN>;
  readonly steps: number;
  readonly loss: LossSpec;
  /** The options it was unrolled with, defaults filled in (to unroll the same again). */
  readonly options: ResolvedUnrollOptions;
  /** Inputs: params, x_t, target_t, s_0, m_t (when masked); outputs: E, E_t, y_t, s_T (each group in time order). */
  readonly graph: Graph;
  /** Parameters (the cell's, then the readout's), each one var shared by all steps (per step when untied). */
  readonly params: readonly { readonly name: PN; readonly shape: Shape; readonly var: VarId }[];
  /** x_t, per step. */
  readonly inputs: readonly VarId[];
  /** target_t, per step. */
  readonly targets: readonly VarId[];
  /** m_t, per step, each [1] per example (empty unless masked). */
  readonly masks: readonly VarId[];
  /** s_0, per state field. */
  readonly initialState: readonly { readonly name: SN; readonly shape: Shape; readonly var: VarId }[];
  /** s_t after input t, `[t][field]`. */
  readonly states: readonly (readonly VarId[])[];
  /** y_t, per step. */
  readonly outputs: readonly VarId[];
  /** E_t, per step. */
  readonly stepLosses: readonly VarId[];
  /** E = Σ_t E_t. */
  readonly total: VarId;
  /** Size of x_t (the cell's input size; half its step's input for a bidirectional cell). */
  readonly inputSize: number;
  /** Size of y_t (and of target_t). */
  readonly outputSize: number;
}

/**
 * The parameter names of an unrolled graph: the cell's, the readout's when there is one, and
 * `init.<field>` when the initial state is learned.
 * @since 0.1.0
 * @category model
 */
export type UnrolledParam<PN extends string, SN extends string, O> =
  | PN
  | (O extends { readonly readout: { readonly output: number } } ? ReadoutParam : never)
  | (O extends { readonly learnInitialState: true } ? `init.${SN}` : never);

/**
 * Expands `cell` over `steps` time steps (see the module doc for the loop it equals), or says
 * what is wrong with the options.
 * @since 0.1.0
 * @category constructors
 */
export function unrollEither<PN extends string, SN extends string, const O extends UnrollOptions>(
  cell: Cell<PN, SN>,
  options: O,
): E.Either<readonly LoopgradIssue[], Unrolled<UnrolledParam<PN, SN, O>, SN>>;
export function unrollEither(cell: Cell, options: UnrollOptions): E.Either<readonly LoopgradIssue[], Unrolled> {
  const bad: LoopgradIssue[] = [];
  if (!isDim(options.steps)) bad.push(issue('OptionError', ['unroll', 'steps'], `steps is ${String(options.steps)}; expected a positive integer`));
  if (options.readout !== undefined && !isDim(options.readout.output)) {
    bad.push(issue('OptionError', ['unroll', 'readout', 'output'], `readout.output is ${String(options.readout.output)}; expected a positive integer`));
  }
  if (options.lossAt !== undefined && options.lossAt !== 'every' && options.lossAt !== 'last') {
    bad.push(issue('OptionError', ['unroll', 'lossAt'], `lossAt is ${String(options.lossAt)}; expected 'every' or 'last'`));
  }
  const w = options.stepWeights;
  if (w !== undefined) {
    if (!Array.isArray(w) || w.length !== options.steps) {
      bad.push(issue('OptionError', ['unroll', 'stepWeights'], `stepWeights has ${Array.isArray(w) ? w.length : 'no'} entries; expected one per step (${String(options.steps)})`));
    } else {
      const k = w.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
      if (k >= 0) bad.push(issue('OptionError', ['unroll', 'stepWeights', String(k)], `stepWeights[${k}] is ${String(w[k])}; expected a finite number`));
    }
  }
  if (cell.bidirectional !== undefined && options.masked) {
    bad.push(issue('OptionError', ['unroll', 'masked'], `${cell.name} is bidirectional: masked (variable-length) batches would need each example reversed within its own length, which is not supported; pad to equal lengths or bucket by length`));
  }
  if (bad.length > 0) return E.left(bad);
  const resolved: ResolvedUnrollOptions = {
    steps: options.steps,
    ...(options.readout !== undefined ? { readout: { output: options.readout.output } } : {}),
    loss: options.loss ?? { kind: 'mse' },
    untied: options.untied ?? false,
    lossAt: options.lossAt ?? 'every',
    ...(w !== undefined ? { stepWeights: [...w] } : {}),
    masked: options.masked ?? false,
    learnInitialState: options.learnInitialState ?? false,
  };
  const T = options.steps;
  const lossSpec = resolved.loss;
  const t = new Tracer([cell.name, 'unroll'], new Map(cellPrimitives(cell)));

  const params: { name: string; shape: Shape; var: VarId }[] = [];
  const bi = cell.bidirectional;
  /** Sizes of x_t and of o_t (a bidirectional step reads two inputs and returns both directions). */
  const I = bi === undefined ? cell.inputSize : cell.inputSize / 2;
  const oSize = bi === undefined ? cell.outputSize : bi.merge === 'concat' ? bi.forward + bi.backward : bi.forward;
  const O = options.readout?.output ?? oSize;
  const input = (name: string, shape: Shape): Sym => {
    const s = t.input(shape, false, name);
    params.push({ name, shape, var: s.id });
    return s;
  };
  const declare = (suffix: string) => {
    const cellParams = cell.params.map((p) => input(p.name + suffix, p.shape));
    const readout = options.readout === undefined
      ? undefined
      : { w: input('readout.weight' + suffix, [O, oSize]) as Mat, b: input('readout.bias' + suffix, [O]) as Vec };
    return { cellParams, readout };
  };
  const shared = resolved.untied ? undefined : declare('');
  const perStep = Array.from({ length: resolved.untied ? T : 0 }, (_, k) => declare(`@${k}`));
  const paramsAt = (k: number) => shared ?? perStep[k]!;
  const learned = resolved.learnInitialState ? cell.state.map((s) => input(`init.${s.name}`, s.shape)) : [];
  const xs = Array.from({ length: T }, (_, k) => t.input([I], true, `x@${k}`));
  const targets = Array.from({ length: T }, (_, k) => t.input([O], true, `target@${k}`));
  const given: Sym[] = cell.state.map((s) => t.input(s.shape, true, `${s.name}@init`));
  const initialState = cell.state.map((s, k) => ({ name: s.name, shape: s.shape, var: given[k]!.id }));
  const masks = resolved.masked ? Array.from({ length: T }, (_, k) => t.input([1], true, `mask@${k}`)) : [];
  let state: Sym[] = given;

  const states: VarId[][] = [];
  const outputs: VarId[] = [];
  const stepLosses: VarId[] = [];
  let total: Sym | undefined;
  withTracer(t, () => {
    if (learned.length > 0) state = given.map((s, k) => op.add(s as Vec, learned[k]! as Vec));
    // m_t as a per-example scalar (for the loss) and spread over a state field (for the carry)
    const maskScalar = masks.map((m) => op.sum(m as Vec));
    const spread = new Map<number, Mat>();
    const maskOver = (m: Sym, n: number): Vec => {
      if (!spread.has(n)) spread.set(n, op.fill([n, 1], 1));
      return op.matvec(spread.get(n)!, m as Vec);
    };
    // y_t and E_t from the output o_t: the readout, and the loss at the steps that have one
    const head = (k: number, o: Vec): void => {
      const { readout } = paramsAt(k);
      const y = readout ? op.linear(readout.w, o, readout.b) : o;
      // which examples this step's loss counts: all, the valid ones, or the last (valid) one
      const weight = resolved.lossAt === 'last'
        ? resolved.masked ? (k < T - 1 ? op.sub(maskScalar[k]!, maskScalar[k + 1]!) : maskScalar[k]) : k === T - 1 ? undefined : null
        : resolved.masked ? maskScalar[k] : undefined;
      const c_k = resolved.stepWeights?.[k] ?? 1;
      let ek: Sym = weight === null || c_k === 0 ? op.fill([], 0) : stepLoss(lossSpec, y, targets[k]! as Vec, weight);
      if (c_k !== 1 && c_k !== 0) ek = op.scale(ek as Scalar, c_k);
      outputs.push(y.id);
      stepLosses.push(ek.id);
      total = total === undefined ? ek : op.add(total, ek);
    };
    const raw: Vec[] = [];
    for (let k = 0; k < T; k++) {
      // Replay the cell's eqns with its inputs bound to (params, x_t, s_{t−1}).
      const x = bi === undefined ? xs[k]! : op.concat(xs[k]! as Vec, xs[T - 1 - k]! as Vec);
      const { state: next, output } = replayStep(t, cell, paramsAt(k).cellParams, x, state, (l) => `${l}@${k}`);
      // m_t and 1 − m_t spread over a state of size n, once per step and size
      const spreadHere = new Map<number, { keep: Vec; hold: Vec }>();
      const spreadOf = (n: number) => {
        let s = spreadHere.get(n);
        if (s === undefined) {
          const keep = maskOver(masks[k]!, n);
          s = { keep, hold: op.oneMinus(keep) };
          spreadHere.set(n, s);
        }
        return s;
      };
      state = resolved.masked
        ? next.map((s, f) => {
          const { keep, hold } = spreadOf(cell.state[f]!.shape[0]!);
          return op.name(op.add(op.mul(keep, s as Vec), op.mul(hold, state[f]! as Vec)), `${cell.state[f]!.name}@${k}`);
        })
        : next;
      states.push(state.map((s) => s.id));
      raw.push(output as Vec);
      if (bi === undefined) head(k, raw[k]!);
    }
    // a bidirectional cell's step k returned [o^f_k; o^b_{T−1−k}]: re-pair by time, then merge
    if (bi !== undefined) {
      for (let k = 0; k < T; k++) {
        const f = op.slice(raw[k]!, 0, bi.forward), b = op.slice(raw[T - 1 - k]!, bi.forward, bi.backward);
        head(k, bi.merge === 'concat' ? op.concat(f, b) : bi.merge === 'sum' ? op.add(f, b) : op.scale(op.add(f, b), 0.5));
      }
    }
  });
  if (t.issues.length > 0) return E.left(t.issues);
  return E.right({
    format: 'loopgrad.unrolled/1',
    cell,
    steps: T,
    loss: lossSpec,
    options: resolved,
    graph: {
      vars: t.vars,
      eqns: t.eqns,
      inputs: [...params.map((p) => p.var), ...xs.map((x) => x.id), ...targets.map((x) => x.id), ...initialState.map((s) => s.var), ...masks.map((m) => m.id)],
      outputs: [total!.id, ...stepLosses, ...outputs, ...state.map((s) => s.id)],
    },
    params,
    inputs: xs.map((x) => x.id),
    targets: targets.map((x) => x.id),
    masks: masks.map((m) => m.id),
    initialState,
    states,
    outputs,
    stepLosses,
    total: total!.id,
    inputSize: I,
    outputSize: O,
  });
}

/**
 * {@link unrollEither}, throwing a `LoopgradError` on bad options.
 * @since 0.1.0
 * @category constructors
 */
export function unroll<PN extends string, SN extends string, const O extends UnrollOptions>(
  cell: Cell<PN, SN>,
  options: O,
): Unrolled<UnrolledParam<PN, SN, O>, SN>;
export function unroll(cell: Cell, options: UnrollOptions): Unrolled {
  return getOrThrow(unrollEither(cell, options));
}
