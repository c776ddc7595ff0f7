/**
 * Gradient-flow diagnostics for one batch: where BPTT's gradient vanishes or explodes.
 *
 * - ‖∂E/∂s_t‖: the total derivative of the whole loss with respect to the state after input t
 *   (every later loss included), from the plan's reverse walk;
 * - ‖∂E_T/∂s_t‖: the last step's loss alone traced back (the graph unrolled with
 *   `lossAt: 'last'`), the curve that shows the vanishing gradient of a tanh RNN: it falls by a
 *   constant factor per step going back, where an LSTM's stays level;
 * - gate saturation: the fraction of each sigmoid / tanh gate's activations (over steps and
 *   examples) close to its asymptotes, where its derivative, and so the gradient through it,
 *   is small.
 *
 * These compile their own plans: a diagnostic, not a training step.
 */
import { compile, type Batch, type ParamValues } from './plan';
import { formatFlow, saturation, summarizeFlow, type FlowSummary } from './flow';
import { Program, type Dtype } from './program';
import { cellPrimitives } from './cell';
import { numel } from './shape';
import { unroll, type Unrolled } from './unroll';

/** One gate's saturation. @since 0.1.0 @category model */
export interface GateSaturation {
  /** The gate's name in the cell (`i`, `f`, `g`, `o` for the LSTM; `r`, `z`, `n` for the GRU). */
  readonly gate: string;
  readonly kind: 'sigmoid' | 'tanh';
  /** Fraction of its activations over all steps and examples with σ < 0.05 or > 0.95 (|tanh| > 0.95). */
  readonly fraction: number;
}

/** What {@link gradientFlow} measures. @since 0.1.0 @category model */
export interface GradientFlow {
  /** ‖∂E/∂s_t‖ per state field, t = 0 … T−1. */
  readonly total: Readonly<Record<string, Float64Array>>;
  /** ‖∂E_T/∂s_t‖ per state field: the last step's loss alone, traced back. */
  readonly last: Readonly<Record<string, Float64Array>>;
  /** The summary of `last` for the first state field (`h` for the built-in cells). */
  readonly summary: FlowSummary;
  readonly saturation: readonly GateSaturation[];
}

const copyAll = (r: Readonly<Record<string, ArrayLike<number>>>): Record<string, Float64Array> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

/**
 * Measures the gradient flow of an unrolled graph on one batch (float64 unless `dtype` says).
 * @since 0.1.0
 * @category diagnostics
 */
export const gradientFlow = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, options: { readonly batch: number; readonly dtype?: Dtype },
): GradientFlow => {
  const B = options.batch, dtype = options.dtype ?? 'float64';
  const total = copyAll(compile(u, { batch: B, dtype }).valueAndGrad(params, batch).flow);
  const lastOnly = u.options.lossAt === 'last' ? u : (unrollLike(u) as Unrolled<PN, SN>);
  const last = copyAll(compile(lastOnly, { batch: B, dtype }).valueAndGrad(params, batch).flow);
  const first = u.cell.state[0]!.name;
  return { total, last, summary: summarizeFlow(last[first]!), saturation: gateSaturation(u, params, batch, B) };
};

/** The same unrolled graph with the loss at the last step only. */
const unrollLike = (u: Unrolled): Unrolled => unroll(u.cell, { ...u.options, lossAt: 'last' });

/**
 * Saturation of every sigmoid and tanh in the cell's step, over all steps and examples: one
 * forward pass, values read where the gates are computed. Gates are reported by their name
 * in the cell (`op.name`), in the order they first appear.
 * @since 0.1.0
 * @category diagnostics
 */
export const gateSaturation = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, B: number,
): GateSaturation[] => {
  const g = u.graph;
  const gates = g.eqns.filter((e) => e.op === 'sigmoid' || e.op === 'tanh');
  const p = new Program({ graph: g, batch: B, dtype: 'float64', wrt: [], keep: gates.map((e) => e.out), customs: cellPrimitives(u.cell) });
  const put = (v: number, a: ArrayLike<number>, from = 0): void => {
    const n = p.len[v]!;
    for (let i = 0; i < n; i++) p.values[p.valueAt[v]! + i] = a[from + i]!;
  };
  u.params.forEach((q) => put(q.var, (params as Record<string, ArrayLike<number>>)[q.name]!));
  u.inputs.forEach((v, t) => put(v, batch.inputs, t * p.len[v]!));
  u.targets.forEach((v, t) => put(v, batch.targets, t * p.len[v]!));
  u.initialState.forEach((s) => {
    const given = (batch.initialState as Record<string, ArrayLike<number>> | undefined)?.[s.name];
    put(s.var, given ?? new Float64Array(B * numel(s.shape)));
  });
  u.masks.forEach((v, t) => put(v, batch.mask!, t * B));
  p.forward();
  const groups = new Map<string, { kind: 'sigmoid' | 'tanh'; values: number[] }>();
  for (const e of gates) {
    const name = g.vars[e.out]!.label.replace(/@\d+$/, '');
    const group = groups.get(name) ?? { kind: e.op as 'sigmoid' | 'tanh', values: [] };
    const at = p.valueAt[e.out]!;
    for (let i = 0; i < p.len[e.out]!; i++) group.values.push(p.values[at + i]!);
    groups.set(name, group);
  }
  return [...groups].map(([gate, { kind, values }]) => ({ gate, kind, fraction: saturation(values, kind) }));
};

/**
 * A few lines of text: the flow summary and the gate saturations.
 * @since 0.1.0
 * @category diagnostics
 */
export const formatGradientFlow = (f: GradientFlow, name: string): string => {
  const sat = f.saturation.length === 0 ? '' : `\n  saturated: ${f.saturation.map((s) => `${s.gate} ${(100 * s.fraction).toFixed(0)}%`).join(', ')}`;
  return `${formatFlow(f.summary, name, '‖∂E_T/∂h_t‖')}${sat}`;
};
