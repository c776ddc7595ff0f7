/**
 * Cells: a recurrent step written once in the DSL, traced into pure data.
 *
 * A {@link CellDefinition} is a recipe over named sizes; `defineCell` checks it with types and
 * `instantiate(sizes)` traces the step with concrete shapes and returns a {@link Cell}: plain,
 * JSON-serializable data `{ name, sizes, params, state, graph }`, or the list of everything
 * wrong with it. The batch never appears: a cell is written for one example.
 */
import * as E from 'fp-ts/Either';
import { issue, LoopgradError, type LoopgradIssue } from './errors';
import type { Graph } from './ir';
import { prune } from './graph';
import { isDim, sameShape, showShape, type Shape } from './shape';
import type { Customs } from './primitives/types';
import { Sym, Tracer, withTracer, type Mat, type Vec } from './trace';

/** A parameter's shape: a vector `[n]` or a matrix `[m, n]`. @since 0.1.0 @category model */
export type ParamShape = readonly [number] | readonly [number, number];
/** A state field's shape: a vector `[n]`. @since 0.1.0 @category model */
export type StateShape = readonly [number];

/** The symbolic value for a declared shape: a matrix for `[m, n]`, a vector for `[n]`. @since 0.1.0 @category model */
export type SymOf<S> = S extends readonly [number, number] ? Mat : S extends readonly [number] ? Vec : never;

/** The params a step receives, typed from the spec. @since 0.1.0 @category model */
export type ParamSyms<P> = { readonly [K in keyof P]: SymOf<P[K]> };
/** The state a step receives and returns, typed from the spec. @since 0.1.0 @category model */
export type StateSyms<S> = { readonly [K in keyof S]: Vec };

/**
 * What a user writes to define a cell. `sizes` names the dimensions; `params` and `state`
 * give shapes in terms of them; `step` maps one example's params, input and state to the next
 * state and an output. `input` gives the input size (default: the size named `input`).
 * @since 0.1.0
 * @category model
 */
export interface CellDefinition<
  Z extends string,
  P extends Record<string, ParamShape>,
  S extends Record<string, StateShape>,
> {
  readonly name: string;
  readonly sizes: readonly Z[];
  readonly input?: (sizes: Readonly<Record<Z, number>>) => number;
  readonly params: (sizes: Readonly<Record<Z, number>>) => P;
  readonly state: (sizes: Readonly<Record<Z, number>>) => S;
  readonly step: (
    params: ParamSyms<P>,
    x: Vec,
    state: StateSyms<S>,
  ) => { readonly state: StateSyms<S>; readonly output: Vec };
}

/** A named, shaped slot (a parameter or a state field). @since 0.1.0 @category model */
export interface Slot<N extends string = string> {
  readonly name: N;
  readonly shape: Shape;
}

/**
 * A cell: pure data. `graph.inputs` are the params (in `params` order), then the input x,
 * then the state fields (in `state` order); `graph.outputs` are the next state fields (same
 * order), then the output. The type parameters carry param and state names for typed results.
 * @since 0.1.0
 * @category model
 */
export interface Cell<PN extends string = string, SN extends string = string> {
  readonly format: 'loopgrad.cell/1';
  readonly name: string;
  readonly sizes: Readonly<Record<string, number>>;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly params: readonly Slot<PN>[];
  readonly state: readonly Slot<SN>[];
  readonly graph: Graph;
  /** Set on a cell built by `bidirectional`: how the unroller pairs and merges its two directions. */
  readonly bidirectional?: Bidirectional;
}

/** How a bidirectional cell merges the two directions' outputs at each step. @since 0.1.0 @category model */
export type Merge = 'concat' | 'sum' | 'mean';

/**
 * Marks a cell as bidirectional. Its step reads [x_t; x_{T−1−t}] (so its graph's input is
 * twice the sequence's input size) and returns [o^f_t; o^b_{T−1−t}], `forward` entries then
 * `backward`; the unroller re-pairs them by time and merges o^f_t with o^b_t.
 * @since 0.1.0
 * @category model
 */
export interface Bidirectional {
  readonly merge: Merge;
  readonly forward: number;
  readonly backward: number;
}

const CUSTOMS: unique symbol = Symbol('loopgrad.customs');

/**
 * Attaches the rules of the custom primitives a cell uses. They are kept under a symbol, not
 * enumerable: a cell stays plain data for JSON, structuredClone and equality, and
 * `decodeCell(json, { primitives })` attaches them again.
 * @since 0.1.0
 * @category combinators
 */
export const withCustoms = <C extends Cell>(cell: C, customs: Customs): C => {
  if (customs.size > 0) Object.defineProperty(cell, CUSTOMS, { value: customs, enumerable: false });
  return cell;
};

/** The custom primitives a cell uses, by name (empty for cells of built-in ops only). @since 0.1.0 @category destructors */
export const cellPrimitives = (cell: Cell): Customs => (cell as { [CUSTOMS]?: Customs })[CUSTOMS] ?? new Map();

/**
 * Replays a cell's step graph in trace `t`, its inputs bound to (params, x, state), each new
 * var labelled `label(its label in the cell)`: what the unroller does at every step and the
 * combinators do for every layer. Returns the next state and the output. @internal
 */
export const replayStep = (
  t: Tracer, cell: Cell, params: readonly Sym[], x: Sym, state: readonly Sym[], label: (cellLabel: string) => string,
): { state: Sym[]; output: Sym } => {
  const g = cell.graph;
  const env: Sym[] = new Array(g.vars.length);
  const bound = [...params, x, ...state];
  g.inputs.forEach((v, i) => (env[v] = bound[i]!));
  for (const e of g.eqns) env[e.out] = t.emit(e.op, e.params as never, e.inputs.map((i) => env[i]), label(g.vars[e.out]!.label));
  const outs = g.outputs.map((o) => env[o]!);
  return { state: outs.slice(0, cell.state.length), output: outs[outs.length - 1]! };
};

/** A defined cell, waiting for sizes. @since 0.1.0 @category model */
export interface CellFamily<Z extends string, PN extends string, SN extends string> {
  readonly name: string;
  readonly sizes: readonly Z[];
  /** Traces the step with these sizes: the cell, or every problem found (sizes, shapes, structure). */
  readonly instantiate: (sizes: Readonly<Record<Z, number>>) => E.Either<readonly LoopgradIssue[], Cell<PN, SN>>;
}

/**
 * Declares a cell. Param and state names and ranks are typed from the specs, so a misspelt
 * name or a vector where a matrix belongs fails to compile; sizes are checked at
 * `instantiate`.
 *
 * ```ts
 * const mgu = defineCell({
 *   name: 'mgu', sizes: ['input', 'hidden'],
 *   params: ({ input: I, hidden: H }) => ({ W_f: [H, I + H], b_f: [H], W_h: [H, I + H], b_h: [H] }),
 *   state: ({ hidden: H }) => ({ h: [H] }),
 *   step: (p, x, { h }) => { ... return { state: { h: hNext }, output: hNext }; },
 * });
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const defineCell = <
  const Z extends string,
  P extends Record<string, ParamShape>,
  S extends Record<string, StateShape>,
>(
  def: CellDefinition<Z, P, S>,
): CellFamily<Z, keyof P & string, keyof S & string> => ({
  name: def.name,
  sizes: def.sizes,
  instantiate: (sizes) => instantiate(def, sizes) as E.Either<readonly LoopgradIssue[], Cell<keyof P & string, keyof S & string>>,
});

/** A read-only record that names the unknown key instead of returning undefined. */
const strictRecord = <V>(what: string, path: readonly string[], entries: Record<string, V>): Record<string, V> =>
  new Proxy(entries, {
    get: (target, key) => {
      if (typeof key !== 'string' || key in target) return Reflect.get(target, key);
      throw new LoopgradError([
        issue('CellSpecError', path, `unknown ${what} '${key}'; the ${what}s are: ${Object.keys(target).join(', ')}`),
      ]);
    },
  });

const checkShapes = (
  path: readonly string[],
  what: string,
  spec: Record<string, readonly number[]>,
  ranks: readonly number[],
): LoopgradIssue[] => {
  const out: LoopgradIssue[] = [];
  for (const [k, s] of Object.entries(spec)) {
    if (!Array.isArray(s) || !ranks.includes(s.length) || !s.every(isDim)) {
      const want = ranks.map((r) => (r === 1 ? '[n]' : '[m, n]')).join(' or ');
      out.push(issue('CellSpecError', [...path, k], `${what} ${k} has shape ${Array.isArray(s) ? showShape(s) : String(s)}; expected ${want} of positive integers`));
    }
  }
  return out;
};

function instantiate<Z extends string, P extends Record<string, ParamShape>, S extends Record<string, StateShape>>(
  def: CellDefinition<Z, P, S>,
  sizes: Readonly<Record<Z, number>>,
): E.Either<readonly LoopgradIssue[], Cell> {
  const name = def.name;
  const sizeIssues = def.sizes
    .filter((z) => !isDim(sizes[z]))
    .map((z) => issue('CellSpecError', [name, 'sizes', z], `size ${z} is ${String(sizes[z])}; expected a positive integer`));
  if (sizeIssues.length > 0) return E.left(sizeIssues);

  const inputSize = def.input ? def.input(sizes) : (sizes as Record<string, number>)['input'];
  if (!isDim(inputSize)) {
    return E.left([issue('CellSpecError', [name, 'input'], `the input size is ${String(inputSize)}; name a size 'input' or give input: (sizes) => n`)]);
  }
  const pSpec = def.params(sizes);
  const sSpec = def.state(sizes);
  const specIssues = [
    ...checkShapes([name, 'params'], 'param', pSpec, [1, 2]),
    ...checkShapes([name, 'state'], 'state field', sSpec, [1]),
  ];
  if (Object.keys(sSpec).length === 0) specIssues.push(issue('CellSpecError', [name, 'state'], 'a cell needs at least one state field'));
  if (specIssues.length > 0) return E.left(specIssues);

  const t = new Tracer([name, 'step']);
  const params = Object.entries(pSpec).map(([k, s]) => ({ name: k, shape: [...s], sym: t.input(s, false, k) }));
  const x = t.input([inputSize], true, 'x');
  const state = Object.entries(sSpec).map(([k, s]) => ({ name: k, shape: [...s], sym: t.input(s, true, k) }));

  let result: { readonly state: Record<string, unknown>; readonly output: unknown };
  try {
    result = withTracer(t, () =>
      def.step(
        strictRecord('param', [name, 'step'], Object.fromEntries(params.map((p) => [p.name, p.sym]))) as ParamSyms<P>,
        x as Vec,
        strictRecord('state field', [name, 'step'], Object.fromEntries(state.map((s) => [s.name, s.sym]))) as StateSyms<S>,
      ),
    );
  } catch (err) {
    if (err instanceof LoopgradError) return E.left([...t.issues, ...err.issues]);
    throw err;
  }
  const issues = [...t.issues];
  const outState = (result?.state ?? {}) as Record<string, unknown>;
  const outputs: number[] = [];
  const returned = (what: string, v: unknown, want: Shape): number | undefined => {
    const path = [name, 'step', what];
    if (!(v instanceof Sym) || v.tracer !== t) {
      issues.push(issue('CellSpecError', path, `${what} must be a value computed in this step, got ${v === undefined ? 'nothing' : typeof v}`));
      return undefined;
    }
    const got = t.vars[v.id]!.shape;
    if (t.issues.length === 0 && want.length > 0 && !sameShape(got, want)) {
      issues.push(issue('ShapeError', path, `${what} is ${showShape(got)} but the state spec says ${showShape(want)}`, 'state'));
    }
    if (t.issues.length === 0 && want.length === 0 && got.length !== 1) {
      issues.push(issue('ShapeError', path, `the output is ${showShape(got)} but must be a vector [n]`, 'output'));
    }
    // A state returned unchanged (an input, or the var of another state field) gets a var of
    // its own, so every step's state is a distinct var with its own total derivative.
    const isInput = v.id < params.length + 1 + state.length;
    return what !== 'output' && (isInput || outputs.includes(v.id)) ? t.emit('copy', {}, [v]).id : v.id;
  };
  for (const k of Object.keys(outState)) {
    if (!(k in sSpec)) issues.push(issue('CellSpecError', [name, 'step', `state.${k}`], `the step returns state '${k}' but the state spec has only: ${Object.keys(sSpec).join(', ')}`));
  }
  for (const s of state) {
    const id = returned(`state.${s.name}`, outState[s.name], s.shape);
    if (id !== undefined) outputs.push(id);
  }
  const out = returned('output', result?.output, []);
  if (out !== undefined) outputs.push(out);
  if (issues.length > 0) return E.left(issues);

  const graph = prune({
    vars: t.vars,
    eqns: t.eqns,
    inputs: [...params.map((p) => p.sym.id), x.id, ...state.map((s) => s.sym.id)],
    outputs,
  });
  return E.right(withCustoms({
    format: 'loopgrad.cell/1',
    name,
    sizes: { ...sizes },
    inputSize,
    outputSize: graph.vars[graph.outputs[graph.outputs.length - 1]!]!.shape[0]!,
    params: params.map((p) => ({ name: p.name, shape: p.shape })),
    state: state.map((s) => ({ name: s.name, shape: s.shape })),
    graph,
  } as Cell, t.customs));
}
