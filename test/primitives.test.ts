/**
 * Property tests of every primitive in the table (src/primitives/*), through the real tracer and
 * the compiled Program, plus a kernel-level check on hand-built Sites.
 *
 * For each tag in `opTags` a random case (laws/primitive-cases.ts) is traced as
 *
 *     out = op(inputs…);   L = batchMean(sum(mul(out, c)))
 *
 * where c is an extra input (batched whenever out is) holding random cotangent values and no
 * gradient is wanted for it. So ∂L/∂out = c / B per example (or mean_b c_b for an unbatched
 * out), and every property of the op's VJP/JVP is seen through one scalar L.
 *
 * Properties, per primitive:
 *  1. shape rule: the traced shape/batchedness equal the ones worked out in the test, the out var
 *     holds B·numel (or numel) entries and forward fills all of them; mismatched inputs give a
 *     Left (and one ShapeError from the tracer) naming the operands at fault with their shapes.
 *  1b. kernels on a hand-built Site with guard bands: forward/jvp write exactly the out region,
 *     vjp writes only input cotangents, nobody writes the value arena out of turn, and the VJP
 *     reads no value its `saves` does not declare (the planner frees the others).
 *  2. VJP = central finite differences of the forward pass, every entry of every wanted input.
 *  3. JVP/VJP adjointness: tangent of L = ⟨∇L, u⟩.
 *  4. forward = an independent plain-number reference.
 *  5. VJP linear in the cotangent: 2c gives exactly 2× the gradients, c = 0 gives zeros.
 *  6. float32 programs agree with float64; 'reuse' memory agrees bit for bit with 'keep'.
 *
 * Seeds are fixed (explore with PRIMITIVES_SEED=<int> and PRIMITIVES_RUNS=<n>); a failure prints
 * the shrunk case and the seed/path to replay it.
 */
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { opTags, type Graph, type OpTag } from '../src/ir.js';
import { Program, type Dtype, type MemoryPolicy } from '../src/program.js';
import { primitiveOf, primitives } from '../src/primitives/table.js';
import type { Buf, Site } from '../src/primitives/types.js';
import { numel, showShape } from '../src/shape.js';
import { Tracer } from '../src/trace.js';
import { caseArb, caseOf, mismatchArb, type Case, type Mismatch } from '../laws/primitive-cases.js';

const SEED = Number(process.env.PRIMITIVES_SEED ?? 20_240_611);
/** Runs per property per primitive: 21 primitives × 8 properties × 50 runs take ≈ 3 s. */
const RUNS = Number(process.env.PRIMITIVES_RUNS ?? 50);

const check = <T>(arb: fc.Arbitrary<T>, body: (t: T) => void, numRuns = RUNS): void =>
  fc.assert(fc.property(arb, body), { seed: SEED, numRuns });

// ---------------------------------------------------------------------------------------------
// tolerances

/** |a − b| ≤ abs + rel·max(|a|, |b|). */
const within = (a: number, b: number, abs: number, rel: number): boolean =>
  Math.abs(a - b) <= abs + rel * Math.max(Math.abs(a), Math.abs(b));

/**
 * Finite differences: ε = 1e-6, central, divided by the step actually taken. Truncation error is
 * ε²/6·|L'''| ≲ 1e-12·250 (log near its domain's 0.2 edge) ≈ 3e-10; rounding error is
 * ≈ u·Σ|terms of L| / ε ≈ 1e-16·100 / 1e-6 = 1e-8 at worst for these sizes (≤ 5×5, B ≤ 3,
 * |values| ≤ e² ≈ 7.4). Hence |analytic − numeric| ≤ 1e-7 + 1e-6·max(|a|, |n|): the absolute
 * term covers rounding, the relative one the truncation of large derivatives.
 */
const FD_EPS = 1e-6, FD_ABS = 1e-7, FD_REL = 1e-6;

/**
 * Exact identities evaluated two ways in float64 (JVP vs VJP, kernel vs reference): both sides
 * are short sums of O(10)-sized terms, so they differ by a few ulps of those terms, ≪ 1e-12.
 * The absolute floor (1e-12 on the magnitude scale 1 of these cases) is needed where the exact
 * result is 0 or cancels (a relative bound is meaningless there).
 */
const EXACT_REL = 1e-12, EXACT_ABS = 1e-12;

/**
 * float32 vs float64: float32 has u ≈ 6e-8; the generated inputs are exact in float32 (a 2⁻²⁰
 * grid) and each result is a sum of ≤ ~25 rounded products of O(1..10) terms, so errors stay
 * below ~2e-6 of the magnitude scale (1 here); observed worst ≈ 3e-7.
 * Bound: |f32 − f64| ≤ 1e-5·max(1, |f64|) — 1e-5 relative with an absolute floor at magnitude 1,
 * again because gradients that cancel to ≈ 0 have no meaningful relative error.
 */
const F32_REL = 1e-5;

// ---------------------------------------------------------------------------------------------
// tracing and compiling a case

interface Built {
  readonly tracer: Tracer;
  readonly program: Program;
  /** Var ids of the op's operands (graph inputs), of c, of the op's output and of L. */
  readonly ins: readonly number[];
  readonly cot: number;
  readonly out: number;
  readonly loss: number;
}

/** out = op(args); L = batchMean(sum(mul(out, c))); wrt = the wanted operands. */
const build = (c: Case, dtype: Dtype = 'float64', memory: MemoryPolicy = 'keep'): Built => {
  const t = new Tracer(['primitives', c.op]);
  const ins = c.operands.map((o, i) => t.input(o.shape, o.batched, `in${i}`));
  const cs = t.input(c.outShape, c.cotBatched, 'c');
  const out = t.emit(c.op, c.params, c.args.map((a) => ins[a]!));
  const loss = t.emit('batchMean', {}, [t.emit('sum', {}, [t.emit('mul', {}, [out, cs])])]);
  if (t.issues.length > 0) throw new Error(`tracing ${c.op} failed: ${t.issues.map((i) => i.message).join('; ')}`);
  const graph: Graph = { vars: t.vars, eqns: t.eqns, inputs: [...ins.map((s) => s.id), cs.id], outputs: [loss.id] };
  const wrt = ins.filter((_, i) => c.wanted[i]).map((s) => s.id);
  const program = new Program({ graph, batch: c.batch, dtype, loss: loss.id, wrt, keep: memory === 'keep' ? [out.id] : [], memory });
  const built = { tracer: t, program, ins: ins.map((s) => s.id), cot: cs.id, out: out.id, loss: loss.id };
  load(built, c);
  return built;
};

/** Writes the operand values and c (times `cotScale`) into the value arena. */
const load = (b: Built, c: Case, cotScale = 1): void => {
  const p = b.program;
  c.values.forEach((xs, a) => p.values.set(xs, p.valueAt[b.ins[a]!]!));
  p.values.set(c.cot.map((x) => x * cotScale), p.valueAt[b.cot]!);
};

const lossOf = (b: Built): number => b.program.values[b.program.valueAt[b.loss]!]!;
const outOf = (b: Built): number[] => {
  const p = b.program, at = p.valueAt[b.out]!;
  return Array.from(p.values.subarray(at, at + p.len[b.out]!));
};

/** Forward + backward; the gradient of each operand (null where none is wanted). */
const gradients = (b: Built): (number[] | null)[] => {
  const p = b.program;
  p.forward();
  p.backward();
  return b.ins.map((id) => {
    const at = p.gradAt[id]!;
    return at < 0 ? null : Array.from(p.grads.subarray(at, at + p.len[id]!));
  });
};

const fail = (msg: string): never => {
  throw new Error(msg);
};

// ---------------------------------------------------------------------------------------------
// kernel level: a hand-built Site with guard bands

const GUARD = -777.25, GAP = 3;

/** Regions of the given lengths separated (and surrounded) by GAP guard entries. */
const regions = (lens: readonly number[]): { offs: number[]; size: number } => {
  let top = GAP;
  const offs = lens.map((n) => {
    const at = top;
    top += n + GAP;
    return at;
  });
  return { offs, size: top };
};

/** Every index of `after` equals `before` except inside [from, from + n) — bitwise. */
const unchangedOutside = (before: Buf, after: Buf, from: number, n: number, what: string): void => {
  for (let i = 0; i < after.length; i++) {
    if (i >= from && i < from + n) continue;
    if (!Object.is(before[i], after[i])) fail(`${what} wrote index ${i} (outside its output [${from}, ${from + n})): ${before[i]} → ${after[i]}`);
  }
};

const kernelCheck = (c: Case): void => {
  const rule = primitiveOf(c.op), B = c.batch;
  const lenOf = (a: number): number => numel(c.operands[a]!.shape) * (c.operands[a]!.batched ? B : 1);
  const outLen = numel(c.outShape) * (c.outBatched ? B : 1);
  const vl = regions([...c.operands.map((_, a) => lenOf(a)), outLen]);
  const outOff = vl.offs[c.operands.length]!;
  const wantedIdx = c.operands.map((_, a) => a).filter((a) => c.wanted[a]);
  const gl = regions([...wantedIdx.map(lenOf), outLen]);
  const gInOf = (a: number): number => (c.wanted[a] ? gl.offs[wantedIdx.indexOf(a)]! : -1);
  const gOut = gl.offs[wantedIdx.length]!;
  const site: Site = {
    nb: c.outBatched ? B : 1,
    batch: B,
    inOff: c.args.map((a) => vl.offs[a]!),
    inStride: c.args.map((a) => (c.operands[a]!.batched ? numel(c.operands[a]!.shape) : 0)),
    inShape: c.args.map((a) => c.operands[a]!.shape),
    inSize: c.args.map((a) => numel(c.operands[a]!.shape)),
    outOff,
    outStride: c.outBatched ? numel(c.outShape) : 0,
    outShape: c.outShape,
    outSize: numel(c.outShape),
    params: c.params,
    gIn: c.args.map(gInOf),
    gOut,
  };
  const run = rule as unknown as { forward: (v: Buf, s: Site) => void; vjp: (v: Buf, g: Buf, s: Site) => void; jvp: (v: Buf, t: Buf, s: Site) => void };

  // forward: fills the whole out region, touches nothing else
  const v = new Float64Array(vl.size).fill(GUARD);
  c.values.forEach((xs, a) => v.set(xs, vl.offs[a]!));
  v.fill(Number.NaN, outOff, outOff + outLen);
  const v0 = v.slice();
  run.forward(v, site);
  unchangedOutside(v0, v, outOff, outLen, `${c.op}.forward`);
  for (let i = 0; i < outLen; i++) if (Number.isNaN(v[outOff + i])) fail(`${c.op}.forward left out[${i}] unwritten (of ${outLen})`);
  const vf = v.slice();

  // vjp: adds into the wanted input cotangents only; reads only the values `saves` declares
  if (c.args.some((a) => c.wanted[a])) {
    const freshG = (): Float64Array => {
      const g = new Float64Array(gl.size).fill(GUARD);
      wantedIdx.forEach((a) => g.fill(0, gInOf(a), gInOf(a) + lenOf(a)));
      for (let i = 0; i < outLen; i++) g[gOut + i] = c.cot[i % c.cot.length]!;
      return g;
    };
    const g = freshG(), g0 = g.slice();
    run.vjp(v, g, site);
    for (let i = 0; i < g.length; i++) {
      const inGin = wantedIdx.some((a) => i >= gInOf(a) && i < gInOf(a) + lenOf(a));
      if (!inGin && !Object.is(g0[i], g[i])) fail(`${c.op}.vjp wrote gradient index ${i}, not an input cotangent: ${g0[i]} → ${g[i]}`);
      if (inGin && !Number.isFinite(g[i])) fail(`${c.op}.vjp left a non-finite input cotangent at ${i}`);
    }
    unchangedOutside(vf, v, 0, 0, `${c.op}.vjp (value arena)`);
    // the same VJP with every value not declared in `saves` poisoned must give the same result
    const vp = vf.slice();
    if (!rule.saves.inputs) c.operands.forEach((_, a) => vp.fill(Number.NaN, vl.offs[a]!, vl.offs[a]! + lenOf(a)));
    if (!rule.saves.output) vp.fill(Number.NaN, outOff, outOff + outLen);
    const gp = freshG();
    run.vjp(vp, gp, site);
    for (let i = 0; i < g.length; i++) {
      if (!Object.is(g[i], gp[i])) {
        fail(`${c.op}.vjp reads a value its saves (${JSON.stringify(rule.saves)}) does not declare: gradient index ${i} is ${g[i]} with all values, ${gp[i]} without`);
      }
    }
  }

  // jvp: the tangent arena is laid out like the values; writes exactly the out region
  const t = new Float64Array(vl.size).fill(GUARD);
  c.tangents.forEach((us, a) => t.set(us, vl.offs[a]!));
  t.fill(Number.NaN, outOff, outOff + outLen);
  const t0 = t.slice();
  run.jvp(v, t, site);
  unchangedOutside(t0, t, outOff, outLen, `${c.op}.jvp`);
  unchangedOutside(vf, v, 0, 0, `${c.op}.jvp (value arena)`);
  for (let i = 0; i < outLen; i++) if (!Number.isFinite(t[outOff + i])) fail(`${c.op}.jvp left out tangent [${i}] unwritten`);
};

// ---------------------------------------------------------------------------------------------
// mismatches

const checkMismatch = (m: Mismatch): void => {
  const r = primitiveOf(m.op).shape(m.operands, m.params as never);
  if (E.isRight(r)) fail(`${m.op} accepted ${m.operands.map((o) => showShape(o.shape)).join(', ')} as ${showShape(r.right)}`);
  const message = (r as E.Left<string>).left;
  for (const s of m.mentions) expect(message, `message of ${m.op} should mention ${s}`).toContain(s);

  // through the tracer: one ShapeError, located at the eqn, and nothing more from its users
  const t = new Tracer(['cell', 'step']);
  const syms = m.operands.map((o) => t.input(o.shape, true, o.label));
  const y = t.emit(m.op, m.params, syms);
  t.emit('copy', {}, [t.emit('tanh', {}, [y])]);
  expect(t.issues).toHaveLength(1);
  const issue = t.issues[0]!;
  expect(issue._tag).toBe('ShapeError');
  expect(issue.path).toEqual(['cell', 'step', `eqn 0 (${m.op})`]);
  if (issue._tag === 'ShapeError') expect(issue.op).toBe(m.op);
  expect(issue.message).toBe(message);
};

// ---------------------------------------------------------------------------------------------

describe('primitive table coverage', () => {
  it('every tag in opTags has a case generator', () => {
    const missing = opTags.filter((op) => caseOf(op) === undefined);
    expect(missing, `no case in laws/primitive-cases.ts for: ${missing.join(', ')}`).toEqual([]);
  });
  it('opTags and the primitive table list the same tags, each once', () => {
    expect(new Set(opTags).size).toBe(opTags.length);
    expect([...opTags].sort()).toEqual(Object.keys(primitives).sort());
  });
});

describe('shape rules reject mismatched inputs (explicit cases)', () => {
  const explicit: readonly (Mismatch & { readonly why: string })[] = [
    { why: 'matvec with wrong inner size', op: 'matvec', params: {}, operands: [{ shape: [3, 4], label: 'W' }, { shape: [5], label: 'x' }], mentions: ['W', '[3, 4]', 'x', '[5]'] },
    { why: 'matvec of two vectors', op: 'matvec', params: {}, operands: [{ shape: [4], label: 'W' }, { shape: [4], label: 'x' }], mentions: ['W', '[4]'] },
    { why: 'matvec of a matrix and a matrix', op: 'matvec', params: {}, operands: [{ shape: [2, 4], label: 'W' }, { shape: [4, 1], label: 'x' }], mentions: ['x', '[4, 1]'] },
    { why: 'add of [3] and [4]', op: 'add', params: {}, operands: [{ shape: [3], label: 'a' }, { shape: [4], label: 'b' }], mentions: ['a', '[3]', 'b', '[4]'] },
    { why: 'sub of [2, 3] and [3, 2]', op: 'sub', params: {}, operands: [{ shape: [2, 3], label: 'a' }, { shape: [3, 2], label: 'b' }], mentions: ['[2, 3]', '[3, 2]'] },
    { why: 'mul of a scalar and [1]', op: 'mul', params: {}, operands: [{ shape: [], label: 'a' }, { shape: [1], label: 'b' }], mentions: ['a', '[]', 'b', '[1]'] },
    { why: 'slice past the end', op: 'slice', params: { start: 2, size: 3 }, operands: [{ shape: [4], label: 'h' }], mentions: ['h', '[4]', '[2, 5)'] },
    { why: 'slice with negative start', op: 'slice', params: { start: -1, size: 1 }, operands: [{ shape: [4], label: 'h' }], mentions: ['h', '[4]'] },
    { why: 'slice of size 0', op: 'slice', params: { start: 0, size: 0 }, operands: [{ shape: [4], label: 'h' }], mentions: ['h', '[4]'] },
    { why: 'slice of a matrix', op: 'slice', params: { start: 0, size: 1 }, operands: [{ shape: [2, 2], label: 'h' }], mentions: ['h', '[2, 2]'] },
    { why: 'concat of a matrix', op: 'concat', params: {}, operands: [{ shape: [3], label: 'a' }, { shape: [2, 2], label: 'M' }], mentions: ['M', '[2, 2]'] },
    { why: 'concat of a scalar', op: 'concat', params: {}, operands: [{ shape: [], label: 's' }], mentions: ['s', '[]'] },
    { why: 'concat of nothing', op: 'concat', params: {}, operands: [], mentions: ['at least one'] },
    { why: 'softmax of a matrix', op: 'softmax', params: {}, operands: [{ shape: [2, 3], label: 'z' }], mentions: ['z', '[2, 3]'] },
    { why: 'logSoftmax of a scalar', op: 'logSoftmax', params: {}, operands: [{ shape: [], label: 'z' }], mentions: ['z', '[]'] },
    { why: 'fill of rank 3', op: 'fill', params: { shape: [1, 2, 3], value: 0 }, operands: [], mentions: ['[1, 2, 3]'] },
    { why: 'fill with a zero dim', op: 'fill', params: { shape: [2, 0], value: 1 }, operands: [], mentions: ['[2, 0]'] },
    { why: 'fill with NaN', op: 'fill', params: { shape: [2], value: Number.NaN }, operands: [], mentions: ['NaN'] },
  ];
  for (const m of explicit) it(m.why, () => checkMismatch(m));
});

for (const op of opTags) {
  describe(`primitive ${op}`, () => {
    if (caseOf(op) === undefined) {
      it('has a case generator', () => {
        expect.fail(`primitive '${op}' has no case in laws/primitive-cases.ts: add one to \`cases\``);
      });
      return;
    }
    const arb = caseArb(op);

    it('1. shape rule: traced shape and batchedness as expected; forward fills exactly len(out)', () => {
      check(arb, (c) => {
        const b = build(c), p = b.program, info = b.tracer.vars[b.out]!;
        expect(info.shape).toEqual(c.outShape);
        expect(info.batched).toBe(c.outBatched);
        expect(p.len[b.out]).toBe(numel(c.outShape) * (c.outBatched ? c.batch : 1));
        p.values.fill(Number.NaN);
        load(b, c);
        p.forward();
        const out = outOf(b);
        expect(out.every((x) => Number.isFinite(x)), `${op} left part of its output unwritten: ${out.join(', ')}`).toBe(true);
        expect(Number.isFinite(lossOf(b))).toBe(true);
      });
    });

    const mm = mismatchArb(op);
    if (mm !== null) {
      it('1. shape rule: mismatched inputs give a Left naming the operands at fault', () => check(mm, checkMismatch));
    }

    it('1b. kernels write only their outputs and read only the values `saves` declares', () => {
      check(arb, kernelCheck);
    });

    it('2. VJP matches central finite differences of the forward pass, every input entry', () => {
      check(arb, (c) => {
        const b = build(c), p = b.program, gs = gradients(b);
        c.operands.forEach((_, a) => {
          const g = gs[a];
          if (!c.wanted[a]) {
            expect(g, `in${a} is not wanted but has a gradient slot`).toBeNull();
            return;
          }
          if (g === null) return fail(`in${a} is wanted but has no gradient slot`);
          const at = p.valueAt[b.ins[a]!]!;
          for (let j = 0; j < g.length; j++) {
            const x = p.values[at + j]!;
            p.values[at + j] = x + FD_EPS;
            p.forward();
            const lp = lossOf(b);
            p.values[at + j] = x - FD_EPS;
            p.forward();
            const lm = lossOf(b);
            p.values[at + j] = x;
            const fd = (lp - lm) / ((x + FD_EPS) - (x - FD_EPS));
            if (!within(g[j]!, fd, FD_ABS, FD_REL)) {
              fail(`${op}: ∂L/∂in${a}[${j}] is ${g[j]} by VJP but ${fd} by finite differences (B = ${c.batch})`);
            }
          }
        });
      });
    });

    it('3. JVP and VJP are adjoint: tangent of L = ⟨∇L, u⟩', () => {
      check(arb, (c) => {
        const b = build(c), p = b.program, gs = gradients(b);
        const t = new Float64Array(p.values.length);
        let dot = 0, mag = 0;
        c.operands.forEach((_, a) => {
          if (!c.wanted[a]) return;
          const u = c.tangents[a]!, g = gs[a]!;
          t.set(u, p.valueAt[b.ins[a]!]!);
          for (let j = 0; j < u.length; j++) {
            dot += g[j]! * u[j]!;
            mag += Math.abs(g[j]! * u[j]!);
          }
        });
        p.jvp(t);
        const tl = t[p.valueAt[b.loss]!]!;
        if (!(Math.abs(tl - dot) <= EXACT_ABS + EXACT_REL * mag)) fail(`${op}: JVP gives dL = ${tl}, ⟨∇L, u⟩ = ${dot} (Σ|g·u| = ${mag})`);
      });
    });

    it('4. forward matches an independent reference', () => {
      const reference = caseOf(op)!.reference;
      check(arb, (c) => {
        const b = build(c);
        b.program.forward();
        const out = outOf(b), ref = reference(c);
        expect(out.length).toBe(ref.length);
        out.forEach((y, i) => {
          if (!within(y, ref[i]!, EXACT_ABS, EXACT_REL)) fail(`${op}: out[${i}] = ${y}, reference ${ref[i]}`);
        });
      });
    });

    it('5. VJP is linear in the cotangent: 2c doubles every gradient exactly, c = 0 zeroes them', () => {
      // Scaling by 2 is exact in binary floating point and every VJP is a sum of products with
      // the cotangent, so the doubled run must equal 2× the plain one bit for bit.
      check(arb, (c) => {
        const b = build(c);
        const g1 = gradients(b);
        load(b, c, 2);
        const g2 = gradients(b);
        load(b, c, 0);
        const g0 = gradients(b);
        g1.forEach((g, a) => {
          if (g === null) return;
          g.forEach((x, j) => {
            if (g2[a]![j] !== 2 * x) fail(`${op}: ∂L/∂in${a}[${j}] is ${x} for c but ${g2[a]![j]} for 2c`);
            if (g0[a]![j] !== 0) fail(`${op}: ∂L/∂in${a}[${j}] is ${g0[a]![j]} for c = 0`);
          });
        });
      });
    });

    it('6. float32 agrees with float64 within 1e-5; reuse memory agrees with keep bit for bit', () => {
      check(arb, (c) => {
        const b64 = build(c), g64 = gradients(b64), b32 = build(c, 'float32'), g32 = gradients(b32);
        const close = (x32: number, x64: number, what: string): void => {
          if (!(Math.abs(x32 - x64) <= F32_REL * Math.max(1, Math.abs(x64)))) fail(`${op}: ${what} is ${x32} in float32 but ${x64} in float64`);
        };
        close(lossOf(b32), lossOf(b64), 'L');
        const o32 = outOf(b32), o64 = outOf(b64);
        o64.forEach((x, i) => close(o32[i]!, x, `out[${i}]`));
        g64.forEach((g, a) => g?.forEach((x, j) => close(g32[a]![j]!, x, `∂L/∂in${a}[${j}]`)));

        const br = build(c, 'float64', 'reuse'), gr = gradients(br);
        expect(lossOf(br)).toBe(lossOf(b64));
        expect(gr).toEqual(g64);
      });
    });
  });
}

describe('relu at its kink', () => {
  it('uses the subgradient 0 at x = 0 and x = −0, in the VJP and the JVP alike', () => {
    const c: Case = {
      op: 'relu', params: {}, operands: [{ shape: [4], batched: true }], args: [0], outShape: [4],
      batch: 1, outBatched: true, values: [[0, -0, 1, -1]], wanted: [true], cotBatched: true,
      cot: [1, 1, 1, 1], tangents: [[1, 1, 1, 1]],
    };
    const b = build(c), p = b.program;
    expect(gradients(b)[0]).toEqual([0, 0, 1, 0]);
    const t = new Float64Array(p.values.length);
    t.set(c.tangents[0]!, p.valueAt[b.ins[0]!]!);
    p.jvp(t);
    const at = p.valueAt[b.out]!;
    expect(Array.from(t.subarray(at, at + 4))).toEqual([0, 0, 1, 0]);
  });
});

describe('primitive case generators', () => {
  it('draw values inside each domain, away from its avoided points', () => {
    for (const op of opTags) {
      const d = primitives[op as OpTag].domain;
      check(caseArb(op), (c) => {
        for (const xs of c.values) {
          for (const x of xs) {
            expect(x).toBeGreaterThanOrEqual(d.min);
            expect(x).toBeLessThanOrEqual(d.max);
            for (const q of d.avoid ?? []) expect(Math.abs(x - q)).toBeGreaterThanOrEqual(0.05);
          }
        }
      }, 10);
    }
  });
});
