/**
 * Cells as JSON: an io-ts codec for the structure, then a semantic check that re-derives every
 * shape with the primitive table, so a decoded cell is exactly as trustworthy as a traced one.
 * `decodeCell(JSON.parse(JSON.stringify(cell)))` gives back an equal cell.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import { issue, type LoopgradIssue } from './errors';
import { opTags, type Graph, type OpTag } from './ir';
import { ruleOf } from './primitives/table';
import type { CustomPrimitive, Customs } from './primitives/types';
import { withCustoms, type Cell } from './cell';
import { isDim, sameShape, showShape } from './shape';

const nat = t.refinement(t.number, (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer');
const shape = t.array(nat, 'a shape');
const empty = t.type({});
const opParamCodecs: { readonly [K in OpTag | 'custom']: t.Mixed } = {
  custom: t.type({ name: t.string }),
  matvec: empty, add: empty, sub: empty, mul: empty, neg: empty,
  scale: t.type({ factor: t.number }), shift: t.type({ offset: t.number }),
  tanh: empty, sigmoid: empty, relu: empty, exp: empty, log: empty, concat: empty,
  slice: t.type({ start: nat, size: nat }), sum: empty, mean: empty, softmax: empty, logSoftmax: empty,
  fill: t.type({ shape, value: t.number }), copy: empty, batchMean: empty,
};
const eqnCodec = t.type({
  op: t.keyof(Object.fromEntries([...opTags, 'custom'].map((k) => [k, null])) as Record<OpTag | 'custom', null>, 'a primitive tag'),
  params: t.UnknownRecord,
  inputs: t.array(nat),
  out: nat,
});
const slot = t.type({ name: t.string, shape });

/** The io-ts codec of a cell's structure. @since 0.1.0 @category codecs */
export const CellCodec = t.type({
  format: t.literal('loopgrad.cell/1'),
  name: t.string,
  sizes: t.record(t.string, nat),
  inputSize: nat,
  outputSize: nat,
  params: t.array(slot),
  state: t.array(slot),
  graph: t.type({
    vars: t.array(t.type({ shape, batched: t.boolean, label: t.string })),
    eqns: t.array(eqnCodec),
    inputs: t.array(nat),
    outputs: t.array(nat),
  }),
  // optional: only cells built by `bidirectional` have it
  bidirectional: t.union([
    t.type({ merge: t.keyof({ concat: null, sum: null, mean: null }, "'concat', 'sum' or 'mean'"), forward: nat, backward: nat }),
    t.undefined,
  ]),
}, 'a cell object');

/** Re-derives every var's shape and batchedness; names the first eqn that disagrees. */
const checkGraph = (name: string, g: Graph, customs: Customs): LoopgradIssue[] => {
  const at = (k: number | string): string[] => [name, 'graph', typeof k === 'number' ? `eqn ${k}` : k];
  const defined = new Uint8Array(g.vars.length);
  for (const i of g.inputs) {
    if (i >= g.vars.length) return [issue('DecodeError', at('inputs'), `input var ${i} does not exist`)];
    defined[i] = 1;
  }
  for (let k = 0; k < g.eqns.length; k++) {
    const e = g.eqns[k]!;
    const p = opParamCodecs[e.op].decode(e.params);
    if (E.isLeft(p)) return [issue('DecodeError', at(k), `${e.op} has malformed params ${JSON.stringify(e.params)}`)];
    if (e.op === 'custom' && !customs.has(e.params.name)) {
      return [issue('DecodeError', at(k), `the cell uses the custom primitive '${e.params.name}': pass it to decodeCell(json, { primitives: [...] })`)];
    }
    const rule = ruleOf(e, customs);
    if (rule.arity !== 'variadic' && e.inputs.length !== rule.arity) {
      return [issue('DecodeError', at(k), `${e.op} takes ${rule.arity} inputs, got ${e.inputs.length}`)];
    }
    const undef = e.inputs.find((i) => i >= g.vars.length || !defined[i]);
    if (undef !== undefined) return [issue('DecodeError', at(k), `${e.op} reads var ${undef} before it is defined`)];
    if (e.out >= g.vars.length || defined[e.out]) return [issue('DecodeError', at(k), `${e.op} writes var ${e.out}, which is already defined or does not exist`)];
    const ins = e.inputs.map((i) => g.vars[i]!);
    const s = rule.shape(ins, e.params as never);
    const out = g.vars[e.out]!;
    if (E.isLeft(s)) return [issue('ShapeError', at(k), s.left, e.op)];
    if (!sameShape(s.right, out.shape)) return [issue('DecodeError', at(k), `${e.op} gives ${showShape(s.right)} but var ${e.out} says ${showShape(out.shape)}`)];
    const batched = rule.batching === 'reduce' ? false : ins.some((v) => v.batched);
    if (batched !== out.batched) {
      return [issue('DecodeError', at(k), `var ${e.out} is marked ${out.batched ? 'batched' : 'unbatched'} but ${e.op} of its inputs is ${batched ? 'batched' : 'unbatched'}`)];
    }
    defined[e.out] = 1;
  }
  const undefOut = g.outputs.find((o) => o >= g.vars.length || !defined[o]);
  return undefOut === undefined ? [] : [issue('DecodeError', at('outputs'), `output var ${undefOut} is never defined`)];
};

/**
 * Decodes a cell from parsed JSON and checks it as instantiation would: structure, the
 * params/x/state input layout, every eqn's shape, the state and output shapes.
 * @since 0.1.0
 * @category constructors
 */
export const decodeCell = (json: unknown, options: { readonly primitives?: readonly CustomPrimitive[] } = {}): E.Either<readonly LoopgradIssue[], Cell> => {
  const customs: Customs = new Map((options.primitives ?? []).map((p) => [p.name, p]));
  return pipe(
    CellCodec.decode(json),
    E.mapLeft((errs) =>
      errs.slice(0, 10).map((err) =>
        issue('DecodeError', ['cell', err.context.map((c) => c.key).filter((k) => k !== '').join('.') || '(top level)'],
          `expected ${err.context[err.context.length - 1]!.type.name}, got ${JSON.stringify(err.value) ?? 'nothing'}`),
      ),
    ),
    E.chain((c): E.Either<readonly LoopgradIssue[], Cell> => {
      const g = c.graph as unknown as Graph;
      const nIn = c.params.length + 1 + c.state.length;
      if (g.inputs.length !== nIn || g.outputs.length !== c.state.length + 1) {
        return E.left([issue('DecodeError', [c.name, 'graph'], `expected ${nIn} inputs (params, x, state) and ${c.state.length + 1} outputs (state, output), got ${g.inputs.length} and ${g.outputs.length}`)]);
      }
      const want = [...c.params.map((p) => ({ ...p, batched: false })), { name: 'x', shape: [c.inputSize], batched: true }, ...c.state.map((s) => ({ ...s, batched: true }))];
      for (let i = 0; i < nIn; i++) {
        const v = g.vars[g.inputs[i]!];
        const w = want[i]!;
        if (!v || !sameShape(v.shape, w.shape) || v.batched !== w.batched || !w.shape.every(isDim)) {
          return E.left([issue('DecodeError', [c.name, 'graph', 'inputs'], `input ${i} (${w.name}) should be ${showShape(w.shape)}${w.batched ? '' : ' unbatched'}`)]);
        }
      }
      const bad = checkGraph(c.name, g, customs);
      if (bad.length > 0) return E.left(bad);
      const outs = [...c.state.map((s) => s.shape), [c.outputSize]];
      const wrong = outs.findIndex((s, k) => !sameShape(g.vars[g.outputs[k]!]!.shape, s));
      if (wrong >= 0) return E.left([issue('DecodeError', [c.name, 'graph', 'outputs'], `output ${wrong} should be ${showShape(outs[wrong]!)}`)]);
      return E.right(withCustoms({ ...c, graph: g } as Cell, customs));
    }),
  );
};

/** A cell as a JSON string (cells are plain data; this is `JSON.stringify`). @since 0.1.0 @category destructors */
export const encodeCell = (cell: Cell, space?: number): string => JSON.stringify(cell, null, space);
