/**
 * Printing: a jaxpr-like listing of a cell or an unrolled graph, one eqn per line.
 *
 * ```
 * cell gru (input 3, hidden 4) → output [4]
 *   params  weight_ih [12, 3]  weight_hh [12, 4]  bias_ih [12]  bias_hh [12]
 *   in      x [3]  h [4]
 *   %7 [12] = matvec weight_ih x
 *   ...
 *   out     h ← %23   output ← %23
 * ```
 */
import type { Cell } from './cell';
import type { Graph, VarId } from './ir';
import { showShape } from './shape';
import type { Unrolled } from './unroll';

const paramText = (params: Readonly<Record<string, unknown>>): string => {
  const entries = Object.entries(params);
  return entries.length === 0 ? '' : `[${entries.map(([k, v]) => `${k}=${Array.isArray(v) ? showShape(v as number[]) : String(v)}`).join(', ')}]`;
};

/** The eqn lines of a graph; inputs print by label, other vars as `%k` (or their user-given name). */
const eqnLines = (g: Graph, named: ReadonlySet<VarId>): string[] => {
  const isInput = new Set(g.inputs);
  const name = (v: VarId): string => (isInput.has(v) || named.has(v) ? g.vars[v]!.label : `%${v}`);
  return g.eqns.map((e) => {
    const out = g.vars[e.out]!;
    const lhs = `${name(e.out)} ${showShape(out.shape)}${out.batched ? '' : '·'}`;
    return `  ${lhs.padEnd(14)} = ${e.op}${paramText(e.params)} ${e.inputs.map(name).join(' ')}`.trimEnd();
  });
};

/**
 * A cell as a listing: sizes, params, inputs, eqns in order, and which vars are the next state
 * and the output. Unbatched values (shared by all examples) are marked `·`.
 * @since 0.1.0
 * @category destructors
 */
export const printCell = (cell: Cell): string => {
  const g = cell.graph;
  const sizes = Object.entries(cell.sizes).map(([k, v]) => `${k} ${v}`).join(', ');
  const ref = (v: VarId): string => (g.inputs.includes(v) ? g.vars[v]!.label : `%${v}`);
  const nState = cell.state.length;
  return [
    `cell ${cell.name} (${sizes}) → output [${cell.outputSize}]${cell.bidirectional ? `, bidirectional: x = [x_t; x_{T−1−t}], output = [fwd ${cell.bidirectional.forward}; bwd ${cell.bidirectional.backward}], merged by ${cell.bidirectional.merge}` : ''}`,
    `  params  ${cell.params.map((p) => `${p.name} ${showShape(p.shape)}`).join('  ')}`,
    `  in      x [${cell.inputSize}]  ${cell.state.map((s) => `${s.name} ${showShape(s.shape)}`).join('  ')}`,
    ...eqnLines(g, new Set()),
    `  out     ${cell.state.map((s, k) => `${s.name} ← ${ref(g.outputs[k]!)}`).join('   ')}   output ← ${ref(g.outputs[nState]!)}`,
  ].join('\n');
};

/**
 * An unrolled graph as a listing (every eqn of every step; long for large T).
 * @since 0.1.0
 * @category destructors
 */
export const printUnrolled = (u: Unrolled): string => {
  const g = u.graph;
  return [
    `unrolled ${u.cell.name} × ${u.steps} step${u.steps === 1 ? '' : 's'}, loss ${u.loss.kind}, ${g.eqns.length} eqns`,
    `  params  ${u.params.map((p) => `${p.name} ${showShape(p.shape)}`).join('  ')}`,
    ...eqnLines(g, new Set()),
    `  out     loss ← %${u.total}`,
  ].join('\n');
};
