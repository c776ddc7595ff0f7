// User-declared primitives: usable in cells, serialized by name, tested by the same checks.
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import {
  compile, decodeCell, defineCell, defineElementwise, definePrimitive, encodeCell, formatGradcheck, formatIssues, getOrThrow,
  gradcheck, init, op, unroll, type Cell, type CustomPrimitive,
} from '../src/index';
import { checkCell } from '../laws/index';
import { randomBatch } from './support/models';

// softsign(x) = x / (1 + |x|);  d softsign(x) = dx / (1 + |x|)²
const softsign = defineElementwise({ name: 'softsign', fn: (x) => x / (1 + Math.abs(x)), derivative: (x) => 1 / (1 + Math.abs(x)) ** 2 });

const cellWith = (act: CustomPrimitive) =>
  defineCell({
    name: `rnn_${act.name}`,
    sizes: ['input', 'hidden'],
    params: ({ input: I, hidden: H }) => ({ W: [H, I + H], b: [H] }),
    state: ({ hidden: H }) => ({ h: [H] }),
    step: (p, x, { h }) => {
      const next = op.call(act, op.linear(p.W, op.concat(x, h), p.b));
      return { state: { h: next }, output: next };
    },
  });

describe('custom primitives', () => {
  it('a cell using one passes gradcheck and the laws', () => {
    const cell = getOrThrow(cellWith(softsign).instantiate({ input: 2, hidden: 3 }));
    const u = unroll(cell, { steps: 5, readout: { output: 2 } });
    const report = gradcheck(u, init(u, { seed: 1, range: 0.8 }), randomBatch(2, 5, 3, 2, 2));
    expect(report.ok, formatGradcheck(report)).toBe(true);
    checkCell(cell, { numRuns: 10 });
  });

  it('is serialized by name and needs its rules to decode', () => {
    const cell = getOrThrow(cellWith(softsign).instantiate({ input: 2, hidden: 3 }));
    const json = JSON.parse(encodeCell(cell));
    expect(json.graph.eqns.some((e: { op: string; params: { name?: string } }) => e.op === 'custom' && e.params.name === 'softsign')).toBe(true);
    const missing = decodeCell(json);
    expect(E.isLeft(missing) && formatIssues(missing.left)).toMatch(/uses the custom primitive 'softsign': pass it to decodeCell\(json, \{ primitives: \[\.\.\.\] \}\)/);
    const back = getOrThrow(decodeCell(json, { primitives: [softsign] }));
    const run = (c: Cell) => {
      const u = unroll(c, { steps: 3, readout: { output: 1 } });
      return compile(u, { batch: 2 }).valueAndGrad(init(u, { seed: 3 }), randomBatch(4, 3, 2, 2, 1)).loss;
    };
    expect(run(back)).toBe(run(cell));
  });

  it('a wrong VJP is caught by gradcheck and by the laws, which name it', () => {
    // cube(x) = x³ with a wrong derivative 2x² (should be 3x²)
    const cube = definePrimitive({
      name: 'cube', arity: 1, shape: (ins) => ins[0]!.shape, saves: { inputs: true, output: false },
      forward: (v, s) => { for (let i = 0; i < s.nb * s.outSize; i++) v[s.outOff + i] = v[s.inOff[0]! + i]! ** 3; },
      vjp: (v, g, s) => { for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0]! + i] += 2 * v[s.inOff[0]! + i]! ** 2 * g[s.gOut + i]!; },
      jvp: (v, t, s) => { for (let i = 0; i < s.nb * s.outSize; i++) t[s.outOff + i] = 3 * v[s.inOff[0]! + i]! ** 2 * t[s.inOff[0]! + i]!; },
    });
    const cell = getOrThrow(cellWith(cube).instantiate({ input: 2, hidden: 2 }));
    const u = unroll(cell, { steps: 2, readout: { output: 1 } });
    const report = gradcheck(u, init(u, { seed: 1 }), randomBatch(2, 2, 1, 2, 1));
    expect(report.ok).toBe(false);
    expect(report.mismatches[0]!.name).toMatch(/^(W|b|inputs|initialState\.h)$/);
    expect(() => checkCell(cell, { numRuns: 10 })).toThrow(/law 'gradient = finite differences \(full\)' fails for cell rnn_cube/);
  });

  it('bad definitions and misuse are clear errors', () => {
    expect(() => definePrimitive({ ...softsign, name: 'tanh', shape: (ins) => ins[0]!.shape })).toThrow(/name "tanh" must be a non-empty string that is not a built-in op/);
    const other = defineElementwise({ name: 'softsign', fn: (x) => x, derivative: () => 1 });
    const clash = defineCell({
      name: 'clash', sizes: ['input', 'hidden'], params: ({ input: I, hidden: H }) => ({ W: [H, I] }), state: ({ hidden: H }) => ({ h: [H] }),
      step: (p, x, { h }) => ({ state: { h: op.call(other, op.call(softsign, op.add(op.matvec(p.W, x), h))) }, output: h }),
    });
    expect(formatIssues((clash.instantiate({ input: 1, hidden: 1 }) as E.Left<readonly never[]>).left)).toMatch(/two different custom primitives are named 'softsign'/);
    const wrongArity = defineCell({
      name: 'arity', sizes: ['input', 'hidden'], params: ({ input: I, hidden: H }) => ({ W: [H, I] }), state: ({ hidden: H }) => ({ h: [H] }),
      step: (p, x, { h }) => ({ state: { h: op.call(softsign, op.matvec(p.W, x), h) }, output: h }),
    });
    expect(formatIssues((wrongArity.instantiate({ input: 1, hidden: 1 }) as E.Left<readonly never[]>).left)).toMatch(/eqn 1 \(custom\): custom takes 1 inputs, got 2/);
  });

  it('a DSL op given undefined (a misspelt name) is a CellSpecError, not a TypeError', () => {
    const typo = defineCell({
      name: 'typo', sizes: ['input', 'hidden'], params: ({ input: I, hidden: H }) => ({ W: [H, I] }), state: ({ hidden: H }) => ({ h: [H] }),
      step: (_p, _x, { h }) => ({ state: { h: op.tanh(undefined as never) }, output: h }),
    });
    expect(formatIssues((typo.instantiate({ input: 1, hidden: 1 }) as E.Left<readonly never[]>).left)).toBe('typo › step › eqn 0 (tanh): argument 1 is undefined, not a value of this step (a misspelt param or state name?)');
  });
});
