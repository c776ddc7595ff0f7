/**
 * The unroller: a cell and a length in, one expanded graph out, with the weights shared.
 *
 * `unroll(cell, { steps: T, readout, loss })` is the graph of this plain loop (per example;
 * the batch is added when the graph is compiled):
 * ```
 * s = s_0                                   // zeros, or given
 * for t in 0 … T−1:
 *   (s, o_t) = cell.step(params, x_t, s)    // the same param vars at every t
 *   y_t = readout ? V o_t + c : o_t
 *   E_t = loss(y_t, target_t)
 * E = Σ_t E_t
 * ```
 * Because every step reads the same param vars, the reverse pass accumulates ∂E/∂W over all
 * uses: the explicit (per-step) and implicit (through earlier states) parts of BPTT are summed
 * by the ordinary fan-in rule, with no special case.
 */
import * as E from 'fp-ts/Either';
import { cellPrimitives, type Cell } from './cell';
import { issue, getOrThrow, type LoopgradIssue } from './errors';
import type { Graph, VarId } from './ir';
import { stepLoss, type LossSpec } from './loss';
import * as op from './op';
import { isDim, type Shape } from './shape';
import { Tracer, withTracer, type Mat, type Sym, type Vec } from './trace';

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
  /** Inputs: params, x_t, target_t, s_0; outputs: E, E_t, y_t, s_T (each group in time order). */
  readonly graph: Graph;
  /** Parameters (the cell's, then the readout's), each one var shared by all steps (per step when untied). */
  readonly params: readonly { readonly name: PN; readonly shape: Shape; readonly var: VarId }[];
  /** x_t, per step. */
  readonly inputs: readonly VarId[];
  /** target_t, per step. */
  readonly targets: readonly VarId[];
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
  /** Size of y_t (and of target_t). */
  readonly outputSize: number;
}

/**
 * Expands `cell` over `steps` time steps (see the module doc for the loop it equals), or says
 * what is wrong with the options.
 * @since 0.1.0
 * @category constructors
 */
export function unrollEither<PN extends string, SN extends string>(
  cell: Cell<PN, SN>,
  options: UnrollOptions & { readonly readout: { readonly output: number } },
): E.Either<readonly LoopgradIssue[], Unrolled<PN | ReadoutParam, SN>>;
export function unrollEither<PN extends string, SN extends string>(
  cell: Cell<PN, SN>,
  options: UnrollOptions,
): E.Either<readonly LoopgradIssue[], Unrolled<PN, SN>>;
export function unrollEither(cell: Cell, options: UnrollOptions): E.Either<readonly LoopgradIssue[], Unrolled> {
  const bad: LoopgradIssue[] = [];
  if (!isDim(options.steps)) bad.push(issue('OptionError', ['unroll', 'steps'], `steps is ${String(options.steps)}; expected a positive integer`));
  if (options.readout !== undefined && !isDim(options.readout.output)) {
    bad.push(issue('OptionError', ['unroll', 'readout', 'output'], `readout.output is ${String(options.readout.output)}; expected a positive integer`));
  }
  if (bad.length > 0) return E.left(bad);
  const T = options.steps;
  const lossSpec = options.loss ?? { kind: 'mse' };
  const c = cell.graph;
  const t = new Tracer([cell.name, 'unroll'], new Map(cellPrimitives(cell)));

  const params: { name: string; shape: Shape; var: VarId }[] = [];
  const O = options.readout?.output ?? cell.outputSize;
  const declare = (suffix: string) => {
    const input = (name: string, shape: Shape): Sym => {
      const s = t.input(shape, false, name + suffix);
      params.push({ name: name + suffix, shape, var: s.id });
      return s;
    };
    const cellParams = cell.params.map((p) => input(p.name, p.shape));
    const readout = options.readout === undefined
      ? undefined
      : { w: input('readout.weight', [O, cell.outputSize]) as Mat, b: input('readout.bias', [O]) as Vec };
    return { cellParams, readout };
  };
  const shared = options.untied ? undefined : declare('');
  const perStep = Array.from({ length: options.untied ? T : 0 }, (_, k) => declare(`@${k}`));
  const paramsAt = (k: number) => shared ?? perStep[k]!;
  const xs = Array.from({ length: T }, (_, k) => t.input([cell.inputSize], true, `x@${k}`));
  const targets = Array.from({ length: T }, (_, k) => t.input([O], true, `target@${k}`));
  let state: Sym[] = cell.state.map((s) => t.input(s.shape, true, `${s.name}@init`));
  const initialState = cell.state.map((s, k) => ({ name: s.name, shape: s.shape, var: state[k]!.id }));

  const states: VarId[][] = [];
  const outputs: VarId[] = [];
  const stepLosses: VarId[] = [];
  let total: Sym | undefined;
  withTracer(t, () => {
    for (let k = 0; k < T; k++) {
      // Replay the cell's eqns with its inputs bound to (params, x_t, s_{t−1}).
      const env: Sym[] = new Array(c.vars.length);
      const { cellParams, readout } = paramsAt(k);
      c.inputs.forEach((v, i) => {
        env[v] = i < cellParams.length ? cellParams[i]! : i === cellParams.length ? xs[k]! : state[i - cellParams.length - 1]!;
      });
      for (const e of c.eqns) {
        env[e.out] = t.emit(e.op, e.params as never, e.inputs.map((i) => env[i]), `${c.vars[e.out]!.label}@${k}`);
      }
      const outs = c.outputs.map((o) => env[o]!);
      state = outs.slice(0, cell.state.length);
      const o = outs[outs.length - 1]! as Vec;
      const y = readout ? op.linear(readout.w, o, readout.b) : o;
      const ek = stepLoss(lossSpec, y, targets[k]! as Vec);
      states.push(state.map((s) => s.id));
      outputs.push(y.id);
      stepLosses.push(ek.id);
      total = total === undefined ? ek : op.add(total, ek);
    }
  });
  if (t.issues.length > 0) return E.left(t.issues);
  return E.right({
    format: 'loopgrad.unrolled/1',
    cell,
    steps: T,
    loss: lossSpec,
    graph: {
      vars: t.vars,
      eqns: t.eqns,
      inputs: [...params.map((p) => p.var), ...xs.map((x) => x.id), ...targets.map((x) => x.id), ...initialState.map((s) => s.var)],
      outputs: [total!.id, ...stepLosses, ...outputs, ...state.map((s) => s.id)],
    },
    params,
    inputs: xs.map((x) => x.id),
    targets: targets.map((x) => x.id),
    initialState,
    states,
    outputs,
    stepLosses,
    total: total!.id,
    outputSize: O,
  });
}

/**
 * {@link unrollEither}, throwing a `LoopgradError` on bad options.
 * @since 0.1.0
 * @category constructors
 */
export function unroll<PN extends string, SN extends string>(
  cell: Cell<PN, SN>,
  options: UnrollOptions & { readonly readout: { readonly output: number } },
): Unrolled<PN | ReadoutParam, SN>;
export function unroll<PN extends string, SN extends string>(cell: Cell<PN, SN>, options: UnrollOptions): Unrolled<PN, SN>;
export function unroll(cell: Cell, options: UnrollOptions): Unrolled {
  return getOrThrow(unrollEither(cell, options));
}
