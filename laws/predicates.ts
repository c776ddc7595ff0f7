/**
 * Laws as pure predicates: each takes a concrete case and returns a verdict with a report that
 * names the law, the cell, the quantity (param, index, time step) and the two numbers that
 * disagree. No fast-check here; the checkers wire these into properties. Tolerances are stated
 * with each law (and in docs/laws.md).
 */
import * as E from 'fp-ts/Either';
import {
  cellPrimitives, checkpointed, compile, decodeCell, encodeCell, formatGradcheck, formatIssues, gradcheck, jvpOf, sizesAt, unroll, vjpOf,
  type Batch, type Cell, type Customs, type GradcheckOptions, type Graph, type ParamValues, type Unrolled, type UnrollOptions,
} from 'loopgrad';

/** The outcome of one law on one case. @since 0.1.0 @category model */
export interface Verdict {
  readonly law: string;
  readonly ok: boolean;
  /** What was compared and, on failure, where and by how much. */
  readonly report: string;
}

/** A graph run at a batch size, with the rules of any custom primitives it uses. @since 0.1.0 @category model */
export interface GraphCase {
  readonly graph: Graph;
  readonly batch: number;
  readonly customs?: Customs;
  /** Input values, in `graph.inputs` order. */
  readonly primals: readonly ArrayLike<number>[];
}

const pass = (law: string, report: string): Verdict => ({ law, ok: true, report });
const fail = (law: string, report: string): Verdict => ({ law, ok: false, report });

/**
 * The first entry where |a − b| > atol + rtol · max(|a|, |b|), or undefined: the unit of every
 * element-wise comparison below.
 */
const firstMismatch = (a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number): { i: number; a: number; b: number } | undefined => {
  if (a.length !== b.length) return { i: -1, a: a.length, b: b.length };
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!, y = b[i]!;
    if (!(Math.abs(x - y) <= atol + rtol * Math.max(Math.abs(x), Math.abs(y)))) return { i, a: x, b: y };
  }
  return undefined;
};
const fmt = (x: number): string => x.toPrecision(10);

/** Records of arrays compared name by name; the report names the first disagreement. */
const compareRecords = (
  law: string, what: string, left: Readonly<Record<string, ArrayLike<number>>>, right: Readonly<Record<string, ArrayLike<number>>>,
  rtol: number, atol: number, labels: readonly [string, string], where: (name: string, i: number) => string = (n, i) => `${n}[${i}]`,
): Verdict => {
  for (const name of Object.keys(left)) {
    const m = firstMismatch(left[name]!, right[name] ?? [], rtol, atol);
    if (m) {
      return m.i < 0
        ? fail(law, `${what}: ${name} has ${m.a} entries vs ${m.b}`)
        : fail(law, `${what}: ${where(name, m.i)}: ${labels[0]} ${fmt(m.a)} vs ${labels[1]} ${fmt(m.b)} (|Δ| ${Math.abs(m.a - m.b).toExponential(2)}, rtol ${rtol})`);
    }
  }
  return pass(law, `${what}: ${Object.keys(left).length} arrays agree (rtol ${rtol})`);
};

const copyRecord = (r: Readonly<Record<string, ArrayLike<number>>>): Record<string, Float64Array> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

const gradsOf = <PN extends string, SN extends string>(u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, B: number) => {
  const r = compile(u, { batch: B }).valueAndGrad(params, batch);
  return {
    loss: r.loss,
    stepLosses: Float64Array.from(r.stepLosses),
    grads: copyRecord(r.grads),
    inputGrads: Float64Array.from(r.inputGrads),
    initialStateGrads: copyRecord(r.initialStateGrads),
    flow: copyRecord(r.flow),
  };
};

const batchSizeOf = (u: Unrolled, batch: Batch): number => batch.inputs.length / (u.steps * u.inputSize);

// ---------------------------------------------------------------------------------------------
// 1. analytic gradient = finite differences

/**
 * Law 1: the analytic gradient agrees with central finite differences (every entry in `full`
 * mode, one random direction in `direction` mode), in float64 by default, with gradcheck's
 * tolerances (float64: |a − n| ≤ 1e-8 + 1e-6·max(|a|, |n|)).
 * @since 0.1.0
 * @category predicates
 */
export const gradientMatchesFiniteDifferences = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, options: GradcheckOptions = {},
): Verdict => {
  const r = gradcheck(u, params, batch, options);
  const report = `${u.cell.name} × ${u.steps} steps: ${formatGradcheck(r)}`;
  const first = r.mismatches[0];
  const when = r.ok || first === undefined ? undefined : stepOfParamMismatch(u, params, batch, first.name, first.index);
  return { law: `gradient = finite differences (${r.mode})`, ok: r.ok, report: when === undefined ? report : `${report}\n${when}` };
};

/**
 * Where in time a wrong parameter gradient goes wrong: untie the weights (one copy per step)
 * and compare each step's contribution ∂E/∂θ@t to the central difference of E in θ@t alone,
 * for the one entry that failed; the report names every step that disagrees, the first with
 * its two numbers. Undefined for a name that is not a parameter.
 */
const stepOfParamMismatch = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, name: string, index: number,
): string | undefined => {
  if (!u.params.some((p) => p.name === name)) return undefined;
  const untied: Unrolled<string, SN> = unroll(u.cell as Cell<string, SN>, { ...u.options, untied: true });
  const copies: Record<string, Float64Array> = copyRecord(params); // untied copies, and what stays shared (a learned s₀)
  for (let t = 0; t < u.steps; t++) for (const p of u.params) copies[`${p.name}@${t}`] = Float64Array.from(params[p.name]!);
  const plan = compile(untied, { batch: batchSizeOf(u, batch) });
  const r = plan.valueAndGrad(copies, batch);
  const analytic = Array.from({ length: u.steps }, (_, t) => (r.grads as Record<string, ArrayLike<number>>)[`${name}@${t}`]![index]!);
  const eps = 1e-6, tol = 1e-8 + (8 * 2 ** -52 * Math.abs(r.loss)) / eps;
  const bad: { t: number; a: number; n: number }[] = [];
  for (let t = 0; t < u.steps; t++) {
    const x = copies[`${name}@${t}`]!, keep = x[index]!;
    x[index] = keep + eps;
    const up = plan.forward(copies, batch).loss;
    x[index] = keep - eps;
    const down = plan.forward(copies, batch).loss;
    x[index] = keep;
    const n = (up - down) / (2 * eps), a = analytic[t]!;
    if (Math.abs(a - n) > tol + 1e-6 * Math.max(Math.abs(a), Math.abs(n))) bad.push({ t, a, n });
  }
  if (bad.length === 0) return `  by time step (weights untied): every step's contribution to ∂E/∂${name}[${index}] agrees; only their sum does not`;
  const f = bad[0]!;
  return `  by time step (weights untied): ∂E/∂${name}[${index}] disagrees at step${bad.length > 1 ? 's' : ''} ${bad.map((b) => b.t).join(', ')} of 0…${u.steps - 1}; first: step ${f.t}: analytic ${fmt(f.a)} vs numeric ${fmt(f.n)}`;
};

// ---------------------------------------------------------------------------------------------
// 2, 3. the VJP is linear; JVP and VJP are adjoint

const dot = (a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): { value: number; scale: number } => {
  let value = 0, scale = 0;
  a.forEach((x, k) => {
    for (let i = 0; i < x.length; i++) {
      const p = x[i]! * b[k]![i]!;
      value += p;
      scale += Math.abs(p);
    }
  });
  return { value, scale };
};

/**
 * Law 2: the VJP is linear in the cotangent: vjp(α v + β w) = α vjp(v) + β vjp(w), entry by
 * entry to 1e-10 of |α|·‖vjp(v)‖∞ + |β|·‖vjp(w)‖∞ (the max over all inputs: rounding in a
 * reverse walk is relative to the intermediate cotangents, so a small entry that comes from
 * cancellation is only as exact as the largest ones), and a zero cotangent gives exactly zero.
 * @since 0.1.0
 * @category predicates
 */
export const vjpIsLinear = (c: GraphCase, v: readonly ArrayLike<number>[], w: readonly ArrayLike<number>[], alpha: number, beta: number): Verdict => {
  const law = 'VJP is linear in the cotangent';
  const f = vjpOf(c.graph, { batch: c.batch, ...(c.customs ? { customs: c.customs } : {}) });
  const mix = v.map((x, k) => Float64Array.from(x, (xi, i) => alpha * xi + beta * w[k]![i]!));
  const [gv, gw, gm] = [f(c.primals, v), f(c.primals, w), f(c.primals, mix)].map((r) => r.cotangents) as [Float64Array[], Float64Array[], Float64Array[]];
  const maxAbs = (gs: readonly Float64Array[]): number => gs.reduce((m, g) => g.reduce((n, x) => Math.max(n, Math.abs(x)), m), 0);
  const tol = 1e-10 * (Math.abs(alpha) * maxAbs(gv) + Math.abs(beta) * maxAbs(gw)) + 1e-300;
  for (let k = 0; k < gm.length; k++) {
    for (let i = 0; i < gm[k]!.length; i++) {
      const want = alpha * gv[k]![i]! + beta * gw[k]![i]!;
      if (!(Math.abs(gm[k]![i]! - want) <= tol)) {
        return fail(law, `input ${k} (${c.graph.vars[c.graph.inputs[k]!]!.label}) [${i}]: vjp(αv + βw) ${fmt(gm[k]![i]!)} vs α vjp(v) + β vjp(w) ${fmt(want)} (|Δ| ${Math.abs(gm[k]![i]! - want).toExponential(2)} > ${tol.toExponential(2)})`);
      }
    }
  }
  const zero = f(c.primals, v.map((x) => new Float64Array(x.length))).cotangents;
  const nz = zero.findIndex((g) => g.some((x) => x !== 0));
  if (nz >= 0) return fail(law, `input ${nz} (${c.graph.vars[c.graph.inputs[nz]!]!.label}): a zero cotangent gives a non-zero gradient`);
  return pass(law, `${gm.length} input cotangents linear; zero gives zero`);
};

/**
 * Law 3: JVP and VJP are adjoint: ⟨v, J u⟩ = ⟨Jᵀ v, u⟩, to 1e-11 of Σ|terms| (both sides sum
 * the same products in different orders, so only rounding separates them).
 * @since 0.1.0
 * @category predicates
 */
export const jvpVjpAdjoint = (c: GraphCase, u: readonly ArrayLike<number>[], v: readonly ArrayLike<number>[]): Verdict => {
  const law = 'JVP and VJP are adjoint';
  const opts = { batch: c.batch, ...(c.customs ? { customs: c.customs } : {}) };
  const ju = jvpOf(c.graph, opts)(c.primals, u).tangents;
  const jtv = vjpOf(c.graph, opts)(c.primals, v).cotangents;
  const left = dot(v, ju), right = dot(jtv, u);
  const tol = 1e-11 * Math.max(left.scale, right.scale) + 1e-300;
  return Math.abs(left.value - right.value) <= tol
    ? pass(law, `⟨v, J u⟩ = ${fmt(left.value)}, ⟨Jᵀ v, u⟩ = ${fmt(right.value)}`)
    : fail(law, `⟨v, J u⟩ ${fmt(left.value)} vs ⟨Jᵀ v, u⟩ ${fmt(right.value)} (|Δ| ${Math.abs(left.value - right.value).toExponential(2)} > ${tol.toExponential(2)})`);
};

/**
 * Law 1 on a graph: the VJP of the scalar ⟨c, outputs⟩ agrees with central finite differences
 * of that scalar, entry by entry (ε = 1e-6; |a − n| ≤ 1e-8 + 1e-6·max(|a|, |n|) plus the
 * rounding floor 8·2⁻⁵²·Σ|c ⊙ out| / ε). Inputs are perturbed in a copy.
 * @since 0.1.0
 * @category predicates
 */
export const graphGradientMatchesFiniteDifferences = (c: GraphCase, cot: readonly ArrayLike<number>[]): Verdict => {
  const law = 'gradient = finite differences (graph)';
  const f = vjpOf(c.graph, { batch: c.batch, ...(c.customs ? { customs: c.customs } : {}) });
  const primals = c.primals.map((p) => Float64Array.from(p));
  const scalar = (): { value: number; scale: number } => dot(cot, f(primals, cot).outputs);
  const base = f(primals, cot);
  const eps = 1e-6;
  const floor = (8 * 2 ** -52 * dot(cot, base.outputs).scale) / eps;
  for (let k = 0; k < primals.length; k++) {
    const x = primals[k]!;
    for (let i = 0; i < x.length; i++) {
      const keep = x[i]!;
      x[i] = keep + eps;
      const up = scalar().value;
      x[i] = keep - eps;
      const down = scalar().value;
      x[i] = keep;
      const n = (up - down) / (2 * eps), a = base.cotangents[k]![i]!;
      if (!(Math.abs(a - n) <= 1e-8 + floor + 1e-6 * Math.max(Math.abs(a), Math.abs(n)))) {
        return fail(law, `input ${c.graph.vars[c.graph.inputs[k]!]!.label}[${i}]: analytic ${fmt(a)} vs numeric ${fmt(n)}`);
      }
    }
  }
  return pass(law, `${primals.reduce((n, p) => n + p.length, 0)} entries agree`);
};

/** Sizes of a graph's inputs and outputs at a batch size (for drawing u and v). @since 0.1.0 @category predicates */
export const graphSizes = (c: Pick<GraphCase, 'graph' | 'batch'>): { inputs: number[]; outputs: number[] } => sizesAt(c.graph, c.batch);

// ---------------------------------------------------------------------------------------------
// 4–7. unrolling

type Pieces<SN extends string> = { inputs: Float64Array; targets: Float64Array; mask?: Float64Array; initialState?: { [K in SN]?: ArrayLike<number> } };

const sliceSteps = (a: ArrayLike<number>, from: number, to: number, per: number): Float64Array =>
  Float64Array.from(Array.prototype.slice.call(a, from * per, to * per) as number[]);

/** Steps [from, to) of a batch: inputs, targets and (when there is one) the mask. */
const stepsOf = <SN extends string>(batch: Batch<SN>, from: number, to: number, B: number, I: number, O: number): Pieces<SN> => ({
  inputs: sliceSteps(batch.inputs, from, to, B * I),
  targets: sliceSteps(batch.targets, from, to, B * O),
  ...(batch.mask !== undefined ? { mask: sliceSteps(batch.mask, from, to, B) } : {}),
});

/**
 * Law 4: unroll(cell, T) equals the hand-written loop of T one-step graphs, the state carried
 * forward and its cotangent carried back (`finalStateGrad`): values bit-identical, gradients
 * summed over the steps equal to 1e-12 relative.
 * @since 0.1.0
 * @category predicates
 */
export const unrollEqualsLoop = <SN extends string>(cell: Cell<string, SN>, options: UnrollOptions, params: ParamValues<string>, batch: Batch<SN>): Verdict => {
  const law = 'unroll = hand-written loop';
  if (cell.bidirectional !== undefined) return fail(law, `${cell.name} is bidirectional: its outputs depend on the future, so there is no step-by-step loop to compare with`);
  const T = options.steps, u = unroll(cell, options), one = unroll(cell, { ...options, steps: 1 });
  const B = batchSizeOf(u, batch), I = u.inputSize, O = u.outputSize;
  const full = gradsOf(u, params, batch, B);
  const step = compile(one, { batch: B });
  const states: Record<string, Float64Array>[] = [copyRecord((batch.initialState ?? {}) as Record<string, ArrayLike<number>>)];
  const piece = (t: number): Pieces<SN> => stepsOf(batch, t, t + 1, B, I, O);
  for (let t = 0; t < T; t++) {
    const o = step.forward(params, { ...piece(t), initialState: states[t] as never });
    if (!Object.is(o.stepLosses[0], full.stepLosses[t])) {
      return fail(law, `${cell.name}: step ${t}: E_t of the loop ${fmt(o.stepLosses[0]!)} vs unrolled ${fmt(full.stepLosses[t]!)} (must be bit-identical)`);
    }
    states.push(copyRecord(o.finalState));
  }
  const sums: Record<string, Float64Array> = Object.fromEntries(u.params.map((p) => [p.name, new Float64Array(full.grads[p.name]!.length)]));
  let carry: Record<string, Float64Array> | undefined;
  for (let t = T - 1; t >= 0; t--) {
    const o = step.valueAndGrad(params, { ...piece(t), initialState: states[t] as never, ...(carry ? { finalStateGrad: carry as never } : {}) });
    for (const [k, g] of Object.entries<ArrayLike<number>>(o.grads)) for (let i = 0; i < g.length; i++) sums[k]![i] += g[i]!;
    const m = firstMismatch(o.inputGrads, full.inputGrads.subarray(t * B * I, (t + 1) * B * I), 1e-12, 1e-15);
    if (m) return fail(law, `${cell.name}: step ${t}: ∂E/∂x_t[${m.i}] loop ${fmt(m.a)} vs unrolled ${fmt(m.b)}`);
    carry = copyRecord(o.initialStateGrads);
  }
  const g = compareRecords(law, `${cell.name}: Σ_t of the loop's ∂E/∂θ vs the unrolled graph's`, sums, full.grads, 1e-12, 1e-15, ['loop', 'unrolled']);
  if (!g.ok) return g;
  return compareRecords(law, `${cell.name}: ∂E/∂s_0`, carry!, full.initialStateGrads, 1e-12, 1e-15, ['loop', 'unrolled']);
};

/**
 * Law 5: continuation. Unrolling T₁ + T₂ steps equals unrolling T₂ steps from the final state
 * of the first T₁, in values (bit-identical), and the gradients compose through the state's
 * cotangent: ∂E/∂θ = ∂E_(2)/∂θ + ∂E_(1)/∂θ with the first segment seeded by ∂E_(2)/∂s_T₁
 * (to 1e-12 relative).
 * @since 0.1.0
 * @category predicates
 */
export const continuation = <SN extends string>(cell: Cell<string, SN>, options: UnrollOptions, split: number, params: ParamValues<string>, batch: Batch<SN>): Verdict => {
  const law = 'continuation';
  if (cell.bidirectional !== undefined) return fail(law, `${cell.name} is bidirectional: a prefix of the sequence cannot be continued`);
  const T = options.steps, T1 = split, T2 = T - split;
  if (T1 < 1 || T2 < 1) return pass(law, `nothing to split at ${split} of ${T}`);
  const whole = unroll(cell, options), first = unroll(cell, { ...options, steps: T1 }), second = unroll(cell, { ...options, steps: T2 });
  const B = batchSizeOf(whole, batch), I = whole.inputSize, O = whole.outputSize;
  const part = (a: number, b: number): Pieces<SN> => stepsOf(batch, a, b, B, I, O);
  const all = gradsOf(whole, params, batch, B);
  const p1 = compile(first, { batch: B }), p2 = compile(second, { batch: B });
  const mid = copyRecord(p1.forward(params, { ...part(0, T1), ...(batch.initialState ? { initialState: batch.initialState } : {}) }).finalState);
  const r2 = p2.valueAndGrad(params, { ...part(T1, T), initialState: mid as never });
  for (let t = 0; t < T2; t++) {
    if (!Object.is(r2.stepLosses[t], all.stepLosses[T1 + t])) {
      return fail(law, `${cell.name}: step ${T1 + t} (step ${t} of the continued run): E_t ${fmt(r2.stepLosses[t]!)} vs ${fmt(all.stepLosses[T1 + t]!)} (must be bit-identical)`);
    }
  }
  const g2 = copyRecord(r2.grads), seed = copyRecord(r2.initialStateGrads);
  const r1 = p1.valueAndGrad(params, { ...part(0, T1), ...(batch.initialState ? { initialState: batch.initialState } : {}), finalStateGrad: seed as never });
  const composed = Object.fromEntries(Object.entries(g2).map(([k, g]) => [k, g.map((x, i) => x + (r1.grads as Record<string, ArrayLike<number>>)[k]![i]!)]));
  return compareRecords(law, `${cell.name}: split ${T1} + ${T2}: composed ∂E/∂θ vs whole`, composed, all.grads, 1e-12, 1e-15, ['composed', 'whole']);
};

/**
 * Law 6: weight sharing. Untie the weights (a copy per step, `unroll(…, { untied: true })`),
 * differentiate, and sum over the copies: Σ_t ∂E/∂θ@t = ∂E/∂θ of the tied graph (to 1e-12
 * relative), and the untied graph computes the same loss (bit-identical).
 * @since 0.1.0
 * @category predicates
 */
export const weightSharing = <SN extends string>(cell: Cell<string, SN>, options: UnrollOptions, params: ParamValues<string>, batch: Batch<SN>): Verdict => {
  const law = 'weight sharing';
  const tied = unroll(cell, options), untied = unroll(cell, { ...options, untied: true });
  const B = batchSizeOf(tied, batch);
  const copies: Record<string, ArrayLike<number>> = {};
  for (let t = 0; t < options.steps; t++) for (const p of tied.params) copies[`${p.name}@${t}`] = params[p.name]!;
  const a = gradsOf(tied, params, batch, B), b = gradsOf(untied, copies, batch, B);
  if (!Object.is(a.loss, b.loss)) return fail(law, `${cell.name}: untied loss ${fmt(b.loss)} vs tied ${fmt(a.loss)} (must be bit-identical)`);
  const sums = Object.fromEntries(tied.params.map((p) => {
    const s = new Float64Array(a.grads[p.name]!.length);
    for (let t = 0; t < options.steps; t++) b.grads[`${p.name}@${t}`]!.forEach((x, i) => (s[i] += x));
    return [p.name, s];
  }));
  return compareRecords(law, `${cell.name} × ${options.steps}: Σ_t ∂E/∂θ@t vs tied ∂E/∂θ`, sums, a.grads, 1e-12, 1e-15, ['Σ untied', 'tied']);
};

/**
 * Law 7: loss additivity: ∇(Σ_t E_t) = Σ_t ∇E_t, for every input of the unrolled graph
 * (params, inputs, targets, initial state), to 1e-12 relative; each ∇E_t is a VJP with a
 * one-hot cotangent on E_t.
 * @since 0.1.0
 * @category predicates
 */
export const lossAdditivity = (c: GraphCase, steps: number): Verdict => {
  const law = 'loss additivity';
  const f = vjpOf(c.graph, { batch: c.batch, ...(c.customs ? { customs: c.customs } : {}) });
  const sizes = sizesAt(c.graph, c.batch).outputs;
  const cot = (hot: number): Float64Array[] => sizes.map((n, k) => Float64Array.from({ length: n }, () => (k === hot ? 1 : 0)));
  const total = f(c.primals, cot(0)).cotangents;
  const sum = total.map((g) => new Float64Array(g.length));
  for (let t = 0; t < steps; t++) f(c.primals, cot(1 + t)).cotangents.forEach((g, k) => g.forEach((x, i) => (sum[k]![i] += x)));
  for (let k = 0; k < total.length; k++) {
    const m = firstMismatch(sum[k]!, total[k]!, 1e-12, 1e-15);
    if (m) return fail(law, `input ${c.graph.vars[c.graph.inputs[k]!]!.label}[${m.i}]: Σ_t ∇E_t ${fmt(m.a)} vs ∇E ${fmt(m.b)}`);
  }
  return pass(law, `${total.length} inputs: Σ_t ∇E_t = ∇E over ${steps} steps`);
};

// ---------------------------------------------------------------------------------------------
// 8–10. serialization, determinism, precision

/**
 * Law 8: serialization: decode(encode(cell)) is an equal cell and computes bit-identical
 * loss and gradients.
 * @since 0.1.0
 * @category predicates
 */
export const serializationRoundTrip = <SN extends string>(cell: Cell<string, SN>, options: UnrollOptions, params: ParamValues<string>, batch: Batch<SN>): Verdict => {
  const law = 'serialization round trip';
  const decoded = decodeCell(JSON.parse(encodeCell(cell)), { primitives: [...cellPrimitives(cell).values()] });
  if (E.isLeft(decoded)) return fail(law, `${cell.name}: the encoded cell does not decode:\n${formatIssues(decoded.left)}`);
  const a = unroll(cell, options), b = unroll(decoded.right as Cell<string, SN>, options);
  const B = batchSizeOf(a, batch);
  const ra = gradsOf(a, params, batch, B), rb = gradsOf(b, params, batch, B);
  if (!Object.is(ra.loss, rb.loss)) return fail(law, `${cell.name}: loss ${fmt(ra.loss)} vs decoded ${fmt(rb.loss)}`);
  return compareRecords(law, `${cell.name}: ∂E/∂θ vs the decoded cell's`, ra.grads, rb.grads, 0, 0, ['original', 'decoded']);
};

/**
 * Law 9 (determinism): the same inputs give bit-identical loss and gradients, from the same
 * plan called twice and from a freshly compiled one.
 * @since 0.1.0
 * @category predicates
 */
export const deterministic = <PN extends string, SN extends string>(u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, batchSize: number): Verdict => {
  const snap = (p: ReturnType<typeof compile<PN, SN>>): number[] => {
    const r = p.valueAndGrad(params, batch);
    return [r.loss, ...Object.values<ArrayLike<number>>(r.grads).flatMap((g) => Array.from(g)), ...Array.from(r.inputGrads)];
  };
  const plan = compile(u, { batch: batchSize });
  const a = snap(plan), b = snap(plan), c = snap(compile(u, { batch: batchSize }));
  const differs = a.findIndex((x, i) => !Object.is(x, b[i]) || !Object.is(x, c[i]));
  return {
    law: 'determinism',
    ok: differs < 0,
    report: differs < 0 ? `${a.length} numbers bit-identical over 3 runs` : `entry ${differs} differs: ${a[differs]} / ${b[differs]} / ${c[differs]}`,
  };
};

/**
 * Law 10: float32 agrees with float64 normwise, per array: ‖g₃₂ − g₆₄‖∞ ≤ rtol·‖g₆₄‖∞ + atol,
 * rtol = 1e-3 (single precision's 6e-8 grown over the steps, with room), atol = 1e-6, and the
 * loss to 1e-4 relative. Normwise, because entry-wise relative error of a tiny entry says
 * nothing about single precision.
 * @since 0.1.0
 * @category predicates
 */
export const float32MatchesFloat64 = <PN extends string, SN extends string>(u: Unrolled<PN, SN>, params: ParamValues<PN>, batch: Batch<SN>, batchSize: number): Verdict => {
  const law = 'float32 = float64 (dtype tolerance)';
  const r64 = compile(u, { batch: batchSize }).valueAndGrad(params, batch);
  const loss64 = r64.loss, g64 = copyRecord(r64.grads);
  const r32 = compile(u, { batch: batchSize, dtype: 'float32' }).valueAndGrad(params, batch);
  if (!(Math.abs(r32.loss - loss64) <= 1e-4 * Math.abs(loss64) + 1e-6)) return fail(law, `${u.cell.name}: loss float32 ${fmt(r32.loss)} vs float64 ${fmt(loss64)}`);
  for (const [name, g] of Object.entries<Float64Array>(g64)) {
    const h = (r32.grads as Record<string, ArrayLike<number>>)[name]!;
    let norm = 0, worst = 0, at = 0;
    for (let i = 0; i < g.length; i++) {
      norm = Math.max(norm, Math.abs(g[i]!));
      if (Math.abs(h[i]! - g[i]!) > worst) (worst = Math.abs(h[i]! - g[i]!)), (at = i);
    }
    if (!(worst <= 1e-3 * norm + 1e-6)) {
      return fail(law, `${u.cell.name}: ${name}[${at}]: float32 ${fmt(h[at]!)} vs float64 ${fmt(g[at]!)} (max |Δ| ${worst.toExponential(2)} > 1e-3 · ‖g‖∞ ${norm.toExponential(2)})`);
    }
  }
  return pass(law, `${u.cell.name}: loss and ${Object.keys(g64).length} gradients within float32 tolerance`);
};

// ---------------------------------------------------------------------------------------------
// 11. plan variants

/**
 * Law 11: every way of running a plan computes the same thing: the plain plan (typed-array
 * kernels, nothing hoisted) against the default one (input projections hoisted, the WebAssembly
 * kernels where available) and a checkpointed run (segments of ⌈T/2⌉ steps, recomputed in the
 * backward pass): loss and every gradient to 1e-12 relative (float64; only the order of sums
 * differs). Not for bidirectional cells (they cannot be cut into segments): those compare the
 * first two only.
 * @since 0.1.0
 * @category predicates
 */
export const plansAgree = <SN extends string>(cell: Cell<string, SN>, options: UnrollOptions, params: ParamValues<string>, batch: Batch<SN>): Verdict => {
  const law = 'plans agree (plain, hoisted + wasm, checkpointed)';
  const u = unroll(cell, options);
  const B = batchSizeOf(u, batch);
  const plainPlan = compile(u, { batch: B, kernels: 'js', hoist: false }).valueAndGrad(params, batch);
  const plain = { loss: plainPlan.loss, grads: copyRecord(plainPlan.grads), inputGrads: Float64Array.from(plainPlan.inputGrads) };
  const fast = compile(u, { batch: B, hoist: true }).valueAndGrad(params, batch);
  if (!(Math.abs(fast.loss - plain.loss) <= 1e-12 * Math.abs(plain.loss) + 1e-300)) return fail(law, `${cell.name}: loss of the default plan ${fmt(fast.loss)} vs plain ${fmt(plain.loss)}`);
  const a = compareRecords(law, `${cell.name}: ∂E/∂θ, default plan vs plain`, copyRecord(fast.grads), plain.grads, 1e-12, 1e-15, ['default', 'plain']);
  if (!a.ok) return a;
  const x = compareRecords(law, `${cell.name}: ∂E/∂x, default plan vs plain`, { inputs: Float64Array.from(fast.inputGrads) }, { inputs: plain.inputGrads }, 1e-12, 1e-15, ['default', 'plain']);
  if (!x.ok || cell.bidirectional !== undefined || options.steps < 2 || (options.lossAt ?? 'every') !== 'every' || options.stepWeights !== undefined) return x;
  const ck = checkpointed(cell, {
    steps: options.steps, every: Math.ceil(options.steps / 2), batch: B,
    ...(options.readout ? { readout: options.readout } : {}), ...(options.loss ? { loss: options.loss } : {}), ...(options.masked ? { masked: true } : {}),
  }).valueAndGrad(params, batch);
  if (!(Math.abs(ck.loss - plain.loss) <= 1e-12 * Math.abs(plain.loss) + 1e-300)) return fail(law, `${cell.name}: loss checkpointed ${fmt(ck.loss)} vs plain ${fmt(plain.loss)}`);
  return compareRecords(law, `${cell.name}: ∂E/∂θ, checkpointed vs plain`, ck.grads, plain.grads, 1e-12, 1e-15, ['checkpointed', 'plain']);
};
