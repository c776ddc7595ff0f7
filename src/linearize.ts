/**
 * A graph as a function of its inputs, and its two linear maps: `vjpOf` (reverse mode, Jᵀ v)
 * and `jvpOf` (forward mode, J u). These run any graph (a cell's step, an unrolled sequence)
 * on a batch and are what the laws check the interpreters with: ⟨v, J u⟩ = ⟨Jᵀ v, u⟩.
 * They copy their results out, so unlike plans they allocate per call.
 */
import * as E from 'fp-ts/Either';
import { LoopgradError, type LoopgradIssue } from './errors';
import type { Graph, OpTag } from './ir';
import { Program, type Dtype } from './program';
import type { Buf, CustomPrimitive, Customs } from './primitives/types';
import type { Shape } from './shape';
import { Tracer } from './trace';

/** Options: the batch size and dtype the graph runs at. @since 0.1.0 @category model */
export interface LinearizeOptions {
  readonly batch: number;
  readonly dtype?: Dtype;
  /** Rules of the custom primitives the graph uses (`cellPrimitives(cell)`). */
  readonly customs?: Customs;
}

/** Values of a graph's inputs or outputs, in `graph.inputs` / `graph.outputs` order, each flat [B, …] or unbatched. @since 0.1.0 @category model */
export type Values = readonly ArrayLike<number>[];

const load = (p: Program, primals: Values): void => {
  p.spec.graph.inputs.forEach((v, i) => p.values.set(primals[i]!, p.valueAt[v]!));
};

const read = (a: Buf, at: number, n: number): Float64Array => Float64Array.from(a.subarray(at, at + n));

/**
 * Reverse mode: given input values and a cotangent per output, the outputs and the cotangent
 * of every input, Σ over outputs of (∂out/∂in)ᵀ cot. An output that is not computed from any
 * input gets its cotangent ignored; an input that no output depends on gets zeros.
 * @since 0.1.0
 * @category interpreters
 */
export const vjpOf = (graph: Graph, options: LinearizeOptions) => {
  const p = new Program({
    graph, batch: options.batch, dtype: options.dtype ?? 'float64', wrt: graph.inputs, keep: graph.outputs, seeds: graph.outputs, memory: 'reuse',
    ...(options.customs ? { customs: options.customs } : {}),
  });
  return (primals: Values, cotangents: Values): { outputs: Float64Array[]; cotangents: Float64Array[] } => {
    load(p, primals);
    p.forward();
    const outputs = graph.outputs.map((o) => read(p.values, p.valueAt[o]!, p.len[o]!));
    // an output may be listed twice (a state that is also the output): its cotangents add up
    for (const o of graph.outputs) p.grads.fill(0, p.gradAt[o]!, p.gradAt[o]! + p.len[o]!);
    graph.outputs.forEach((o, i) => {
      const at = p.gradAt[o]!, c = cotangents[i]!;
      for (let k = 0; k < c.length; k++) p.grads[at + k] += c[k]!;
    });
    p.backward();
    return { outputs, cotangents: graph.inputs.map((v) => read(p.grads, p.gradAt[v]!, p.len[v]!)) };
  };
};

/**
 * Forward mode: given input values and a tangent per input, the outputs and the tangent of
 * every output, Σ over inputs of (∂out/∂in) tan.
 * @since 0.1.0
 * @category interpreters
 */
export const jvpOf = (graph: Graph, options: LinearizeOptions) => {
  const p = new Program({
    graph, batch: options.batch, dtype: options.dtype ?? 'float64', wrt: [], keep: graph.outputs, memory: 'keep',
    ...(options.customs ? { customs: options.customs } : {}),
  });
  const tangents = p.values.slice();
  return (primals: Values, inputTangents: Values): { outputs: Float64Array[]; tangents: Float64Array[] } => {
    load(p, primals);
    p.forward();
    tangents.fill(0);
    graph.inputs.forEach((v, i) => tangents.set(inputTangents[i]!, p.valueAt[v]!));
    p.jvp(tangents);
    return {
      outputs: graph.outputs.map((o) => read(p.values, p.valueAt[o]!, p.len[o]!)),
      tangents: graph.outputs.map((o) => read(tangents, p.valueAt[o]!, p.len[o]!)),
    };
  };
};

/** Per-input and per-output element counts at a batch size (B·numel for batched vars). @since 0.1.0 @category destructors */
export const sizesAt = (graph: Graph, batch: number): { inputs: number[]; outputs: number[] } => {
  const n = (v: number): number => graph.vars[v]!.shape.reduce((a, b) => a * b, 1) * (graph.vars[v]!.batched ? batch : 1);
  return { inputs: graph.inputs.map(n), outputs: graph.outputs.map(n) };
};

/**
 * The one-eqn graph `out = op(inputs…)` for operands of given shapes and batchedness: what the
 * laws test a single primitive on. A built-in tag takes its params; a custom primitive none.
 * @since 0.1.0
 * @category constructors
 */
export const primitiveGraph = (
  primitive: OpTag | CustomPrimitive,
  params: unknown,
  operands: readonly { readonly shape: Shape; readonly batched: boolean }[],
): E.Either<readonly LoopgradIssue[], { readonly graph: Graph; readonly customs: Customs }> => {
  const custom = typeof primitive === 'string' ? undefined : primitive;
  const name = custom?.name ?? (primitive as OpTag);
  const t = new Tracer(['primitive', name], new Map(custom ? [[custom.name, custom]] : []));
  const ins = operands.map((o, i) => t.input(o.shape, o.batched, `x${i}`));
  try {
    const out = custom ? t.emit('custom', { name: custom.name }, ins) : t.emit(primitive as OpTag, params as never, ins);
    if (t.issues.length > 0) return E.left(t.issues);
    return E.right({ graph: { vars: t.vars, eqns: t.eqns, inputs: ins.map((s) => s.id), outputs: [out.id] }, customs: t.customs });
  } catch (err) {
    if (err instanceof LoopgradError) return E.left(err.issues);
    throw err;
  }
};
