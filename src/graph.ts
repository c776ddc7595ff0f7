/** Graph utilities shared by the interpreters: dead-code pruning and use counts. */
import type { Eqn, Graph, VarId, VarInfo } from './ir';

/**
 * Drops the eqns whose results no output needs, and renumbers the vars that remain densely in
 * their original order (inputs keep their relative order). One backward sweep, one forward.
 * @since 0.1.0
 * @category combinators
 */
export const prune = (g: Graph): Graph => {
  const live = new Uint8Array(g.vars.length);
  for (const o of g.outputs) live[o] = 1;
  const keep = new Uint8Array(g.eqns.length);
  for (let k = g.eqns.length - 1; k >= 0; k--) {
    const e = g.eqns[k]!;
    if (!live[e.out]) continue;
    keep[k] = 1;
    for (const i of e.inputs) live[i] = 1;
  }
  for (const i of g.inputs) live[i] = 1;
  const remap = new Int32Array(g.vars.length).fill(-1);
  const vars: VarInfo[] = [];
  g.vars.forEach((v, i) => {
    if (live[i]) {
      remap[i] = vars.length;
      vars.push(v);
    }
  });
  const at = (i: VarId): VarId => remap[i]!;
  const eqns: Eqn[] = [];
  g.eqns.forEach((e, k) => {
    if (keep[k]) eqns.push({ ...e, inputs: e.inputs.map(at), out: at(e.out) } as Eqn);
  });
  return { vars, eqns, inputs: g.inputs.map(at), outputs: g.outputs.map(at) };
};
