// The law suites: every law on every built-in cell and on a user cell; every primitive; and the
// laws catching (and reporting) wrong gradients.
import { describe, expect, it } from 'vitest';
import { builtin, defineCell, defineElementwise, definePrimitive, getOrThrow, init, op, opTags, primitives, unroll, type CustomPrimitive } from 'loopgrad';
import fc from 'fast-check';
import { cellRecipe, checkCell, checkPrimitive, checkRandomCells, gradientMatchesFiniteDifferences, plansAgree, recipeCell, recipeOps } from './index';
import { mgu } from '../test/support/mgu';

/** The message a failing checker throws (fast-check's report with the law's inside). */
const failure = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
};

describe('checkCell: all eleven laws', () => {
  it.each([
    ['vanilla (tanh)', builtin.vanilla({ input: 2, hidden: 4 })],
    ['vanilla (relu)', builtin.vanilla({ input: 2, hidden: 4, nonlinearity: 'relu' })],
    ['gru', builtin.gru({ input: 3, hidden: 4 })],
    ['lstm', builtin.lstm({ input: 3, hidden: 4 })],
  ])('certifies the built-in %s cell', (_name, cell) => checkCell(cell, { numRuns: 100, maxSteps: 8 }));

  it('certifies a user-defined cell in one line', () => checkCell(mgu, { sizes: { input: 3, hidden: 5 } }));

  it('names the family when sizes are missing', () => {
    expect(() => checkCell(mgu)).toThrow(/give sizes to instantiate the cell family 'mgu'/);
  });

  it('fails with a shrunk case and a report naming param, index and numbers when a VJP is wrong', () => {
    const original = primitives.tanh.vjp;
    try {
      // d tanh(x) = (1 − y²) dx; the bug uses (1 − y) instead
      (primitives.tanh as { vjp: typeof original }).vjp = (v, g, s) => {
        const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff;
        for (let i = 0; i < total; i++) g[d + i] += (1 - v[y + i]!) * g[gy + i]!;
      };
      const message = failure(() => checkCell(mgu, { sizes: { input: 2, hidden: 3 } }));
      expect(message).toMatch(/law 'gradient = finite differences \(full\)' fails for cell mgu/);
      expect(message).toMatch(/"steps":1,"batch":1/); // shrunk to the smallest case
      expect(message).toMatch(/FAILED[\s\S]*(W_h|b_h|inputs|initialState)\S*\[[\d, =tbi]+\]: analytic -?[\d.e-]+ vs numeric -?[\d.e-]+, relative error/);
    } finally {
      (primitives.tanh as { vjp: typeof original }).vjp = original;
    }
  });
});

describe('gradientMatchesFiniteDifferences', () => {
  it('names the time steps whose contribution to a wrong parameter gradient is wrong', () => {
    const original = primitives.sigmoid.vjp;
    try {
      // d σ(x) = σ(1 − σ) dx; the bug uses (1 − σ)
      (primitives.sigmoid as { vjp: typeof original }).vjp = (v, g, s) => {
        for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0]! + i] += (1 - v[s.outOff + i]!) * g[s.gOut + i]!;
      };
      const u = unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 4, readout: { output: 2 } });
      const batch = { inputs: Float64Array.from({ length: 16 }, (_, i) => Math.sin(i)), targets: Float64Array.from({ length: 16 }, (_, i) => Math.cos(i)) };
      const v = gradientMatchesFiniteDifferences(u, init(u, { seed: 1 }), batch, { inputs: false });
      expect(v.ok).toBe(false);
      expect(v.report).toMatch(/bias_ih\[1\] \(gate r\): analytic [\d.e-]+ vs numeric [\d.e-]+/);
      expect(v.report).toMatch(/by time step \(weights untied\): ∂E\/∂\S+\[\d+\] disagrees at steps 0, 1, 2, 3 of 0…3; first: step 0: analytic -?[\d.e-]+ vs numeric -?[\d.e-]+/);
    } finally {
      (primitives.sigmoid as { vjp: typeof original }).vjp = original;
    }
  });
});

describe('plansAgree (law 11)', () => {
  it('catches a kernel whose result depends on the plan it runs in (here: on the arena size)', () => {
    // y = x · (1 + 1e-9 · [arena longer than 2500]): right in a small plan, wrong in a big one
    const sneaky = definePrimitive({
      name: 'sneaky', arity: 1, shape: (ins) => ins[0]!.shape, saves: { inputs: false, output: false },
      forward: (v, s) => { const f = v.length > 2500 ? 1 + 1e-9 : 1; for (let i = 0; i < s.nb * s.outSize; i++) v[s.outOff + i] = f * v[s.inOff[0]! + i]!; },
      vjp: (v, g, s) => { const f = v.length > 2500 ? 1 + 1e-9 : 1; for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0]! + i] += f * g[s.gOut + i]!; },
      jvp: (_v, t, s) => { for (let i = 0; i < s.nb * s.outSize; i++) t[s.outOff + i] = t[s.inOff[0]! + i]!; },
    });
    const cell = getOrThrow(defineCell({
      name: 'sneaky_rnn', sizes: ['input', 'hidden'],
      params: ({ input: I, hidden: H }) => ({ W: [H, I + H], b: [H] }),
      state: ({ hidden: H }) => ({ h: [H] }),
      step: (p, x, { h }) => {
        const next = op.tanh(op.call(sneaky, op.linear(p.W, op.concat(x, h), p.b)));
        return { state: { h: next }, output: next };
      },
    }).instantiate({ input: 3, hidden: 8 }));
    const options = { steps: 40, readout: { output: 2 } };
    const u = unroll(cell, options);
    const batch = { inputs: Float64Array.from({ length: 40 * 4 * 3 }, (_, i) => Math.sin(i)), targets: new Float64Array(40 * 4 * 2) };
    const v = plansAgree(cell, options, init(u, { seed: 1 }), batch);
    expect(v.ok).toBe(false);
    expect(v.report).toMatch(/sneaky_rnn: (loss checkpointed|∂E\/∂θ, checkpointed vs plain)/);
  });
});

describe('checkPrimitive', () => {
  it.each(opTags.map((t) => [t]))('certifies the built-in %s', (tag) => checkPrimitive(tag));

  // softsign(x) = x / (1 + |x|);  d softsign = dx / (1 + |x|)²
  const softsign = defineElementwise({ name: 'softsign', fn: (x) => x / (1 + Math.abs(x)), derivative: (x) => 1 / (1 + Math.abs(x)) ** 2 });

  it('certifies a user-declared primitive', () => checkPrimitive(softsign));

  const cubeWith = (vjpFactor: number, jvpFactor: number): CustomPrimitive =>
    definePrimitive({
      name: 'cube', arity: 1, shape: (ins) => ins[0]!.shape, saves: { inputs: true, output: false },
      // y = x³;  dy = 3x² dx
      forward: (v, s) => { for (let i = 0; i < s.nb * s.outSize; i++) v[s.outOff + i] = v[s.inOff[0]! + i]! ** 3; },
      vjp: (v, g, s) => { for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0]! + i] += vjpFactor * v[s.inOff[0]! + i]! ** 2 * g[s.gOut + i]!; },
      jvp: (v, t, s) => { for (let i = 0; i < s.nb * s.outSize; i++) t[s.outOff + i] = jvpFactor * v[s.inOff[0]! + i]! ** 2 * t[s.inOff[0]! + i]!; },
    });

  it('a correct custom primitive passes', () => checkPrimitive(cubeWith(3, 3)));

  it('a wrong VJP is caught by finite differences, with the numbers', () => {
    expect(failure(() => checkPrimitive(cubeWith(2, 3)))).toMatch(/law 'gradient = finite differences \(graph\)' fails for primitive cube[\s\S]*input x0\[\d+\]: analytic -?[\d.e-]+ vs numeric -?[\d.e-]+/);
  });

  it('a JVP that disagrees with the VJP is caught by the adjointness law', () => {
    expect(failure(() => checkPrimitive(cubeWith(3, 2)))).toMatch(/law 'JVP and VJP are adjoint' fails for primitive cube[\s\S]*⟨v, J u⟩ -?[\d.e-]+ vs ⟨Jᵀ v, u⟩ -?[\d.e-]+/);
  });

  it('a VJP that is not linear in the cotangent is caught', () => {
    const affineVjp = definePrimitive({
      ...cubeWith(3, 3), name: 'cube', shape: (ins) => ins[0]!.shape,
      // wrong: adds a constant, so a zero cotangent gives a non-zero gradient
      vjp: (v, g, s) => { for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0]! + i] += 3 * v[s.inOff[0]! + i]! ** 2 * g[s.gOut + i]! + 1e-3; },
    });
    expect(failure(() => checkPrimitive(affineVjp))).toMatch(/fails for primitive cube/);
  });
});

describe('checkRandomCells', () => {
  it('certifies random valid cells generated from the primitive table, with every law', () => checkRandomCells({ numRuns: 400 }));

  it('every recipe op appears in a generated cell and every generated recipe instantiates', () => {
    const seen = new Set<string>();
    fc.assert(fc.property(cellRecipe(), (r) => {
      const cell = recipeCell(r);
      expect(cell.state).toHaveLength(r.stateFields);
      r.steps.forEach((s) => seen.add(s.op));
    }), { numRuns: 200, seed: 3 });
    expect([...seen].sort()).toEqual([...recipeOps].sort());
  });

  it('a recipe names its ops in the cell and in a failure report', () => {
    const original = primitives.softmax.vjp;
    try {
      (primitives.softmax as { vjp: typeof original }).vjp = () => {}; // drops softmax's gradient
      const message = failure(() => checkRandomCells({ numRuns: 60 }));
      expect(message).toMatch(/law '[^']+' fails for random cell I\d H\d S\d P\d: [a-zA-Z ]*softmax/);
    } finally {
      (primitives.softmax as { vjp: typeof original }).vjp = original;
    }
  });
});
