/**
 * The IR: a graph is plain readonly data `{ vars, eqns, inputs, outputs }` with eqns in
 * topological order by construction (an eqn only reads vars defined before it). Every consumer
 * (evaluation, backprop, printing) is a loop over `eqns`; nothing on a graph is recursive.
 */
import type { Shape } from './shape';

/** Index of a var in `Graph.vars`. @since 0.1.0 @category model */
export type VarId = number;

/**
 * Static parameters of each primitive, by tag. The union of tags, {@link OpTag}, is closed:
 * the primitive table is typed against it, so adding a tag without its rules does not compile.
 * @since 0.1.0
 * @category model
 */
export interface OpParams {
  readonly matvec: Record<string, never>;
  readonly add: Record<string, never>;
  readonly sub: Record<string, never>;
  readonly mul: Record<string, never>;
  readonly neg: Record<string, never>;
  readonly scale: { readonly factor: number };
  readonly shift: { readonly offset: number };
  readonly tanh: Record<string, never>;
  readonly sigmoid: Record<string, never>;
  readonly relu: Record<string, never>;
  readonly exp: Record<string, never>;
  readonly log: Record<string, never>;
  readonly concat: Record<string, never>;
  readonly slice: { readonly start: number; readonly size: number };
  readonly sum: Record<string, never>;
  readonly mean: Record<string, never>;
  readonly softmax: Record<string, never>;
  readonly logSoftmax: Record<string, never>;
  readonly fill: { readonly shape: Shape; readonly value: number };
  readonly copy: Record<string, never>;
  readonly batchMean: Record<string, never>;
}

/** The closed set of primitive tags. @since 0.1.0 @category model */
export type OpTag = keyof OpParams;

/** All tags, in table order. @since 0.1.0 @category model */
export const opTags: readonly OpTag[] = [
  'matvec', 'add', 'sub', 'mul', 'neg', 'scale', 'shift', 'tanh', 'sigmoid', 'relu', 'exp', 'log',
  'concat', 'slice', 'sum', 'mean', 'softmax', 'logSoftmax', 'fill', 'copy', 'batchMean',
];

/** One equation `out = op[params](...inputs)` of a built-in primitive. @since 0.1.0 @category model */
export type BuiltinEqn = {
  readonly [K in OpTag]: {
    readonly op: K;
    readonly params: OpParams[K];
    readonly inputs: readonly VarId[];
    readonly out: VarId;
  };
}[OpTag];

/**
 * An equation of a user-declared primitive (`definePrimitive`), named in the graph; its rules
 * travel with the cell, not in the graph data.
 * @since 0.1.0
 * @category model
 */
export interface CustomEqn {
  readonly op: 'custom';
  readonly params: { readonly name: string };
  readonly inputs: readonly VarId[];
  readonly out: VarId;
}

/** One equation. @since 0.1.0 @category model */
export type Eqn = BuiltinEqn | CustomEqn;

/**
 * What is known of a var before any number runs: its per-example shape, whether it carries the
 * batch dimension (params and constants do not; inputs, state and everything computed from
 * them do), and a label used in messages and listings.
 * @since 0.1.0
 * @category model
 */
export interface VarInfo {
  readonly shape: Shape;
  readonly batched: boolean;
  readonly label: string;
}

/** A graph: vars, eqns in topological order, and which vars are its inputs and outputs. @since 0.1.0 @category model */
export interface Graph {
  readonly vars: readonly VarInfo[];
  readonly eqns: readonly Eqn[];
  readonly inputs: readonly VarId[];
  readonly outputs: readonly VarId[];
}
