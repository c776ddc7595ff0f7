// Cells as typed, traced, checked data: shape errors with op, shapes and place; JSON round trip; listings.
import * as E from 'fp-ts/Either';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  builtin, compile, decodeCell, defineCell, encodeCell, formatIssues, getOrThrow, init, op, printCell, unroll,
  type Cell, type LoopgradIssue, type Mat, type Vec,
} from '../src/index';
import { mgu } from './support/mgu';

const issuesOf = <A>(e: E.Either<readonly LoopgradIssue[], A>): readonly LoopgradIssue[] => {
  if (E.isRight(e)) throw new Error('expected a Left');
  return e.left;
};

const twoByTwo = (step: Parameters<typeof defineCell<'input' | 'hidden', { W: readonly [number, number]; b: readonly [number] }, { h: readonly [number] }>>[0]['step']) =>
  defineCell({
    name: 'probe',
    sizes: ['input', 'hidden'],
    params: ({ input: I, hidden: H }) => ({ W: [H, I], b: [H] }),
    state: ({ hidden: H }) => ({ h: [H] }),
    step,
  });

describe('defineCell / instantiate', () => {
  it('traces a valid cell into plain data with the declared params, state and sizes', () => {
    const cell = getOrThrow(mgu.instantiate({ input: 3, hidden: 8 }));
    expect(cell.params.map((p) => [p.name, p.shape])).toEqual([['W_f', [8, 11]], ['b_f', [8]], ['W_h', [8, 11]], ['b_h', [8]]]);
    expect(cell.state).toEqual([{ name: 'h', shape: [8] }]);
    expect(cell.inputSize).toBe(3);
    expect(cell.outputSize).toBe(8);
    expect(JSON.parse(JSON.stringify(cell))).toEqual(cell);
  });

  it('a shape mismatch names the cell, the eqn, the op and both shapes, before any number runs', () => {
    const wrong = defineCell({
      ...mgu,
      name: 'mgu',
      sizes: ['input', 'hidden'],
      params: ({ input: I, hidden: H }) => ({ W_f: [H, I + H], b_f: [H], W_h: [H, I + H], b_h: [H] }),
      state: ({ hidden: H }) => ({ h: [H] }),
      step: (p, x, { h }) => {
        const f = op.name(op.sigmoid(op.add(op.matvec(p.W_f, op.concat(x, h)), p.b_f)), 'f');
        // bug: x concatenated twice
        const n = op.tanh(op.add(op.matvec(p.W_h, op.concat(x, op.mul(f, h), x)), p.b_h));
        return { state: { h: n }, output: n };
      },
    });
    const issues = issuesOf(wrong.instantiate({ input: 3, hidden: 8 }));
    expect(issues).toHaveLength(1); // one mistake, one message: downstream eqns stay quiet
    expect(issues[0]!._tag).toBe('ShapeError');
    expect(formatIssues(issues)).toBe('mgu › step › eqn 6 (matvec): W_h is [8, 11] but [x; f ⊙ h; x] is [14] (11 expected)');
  });

  it.each([
    ['add of [2] and [3]', (p: any, x: any, s: any) => op.add(op.matvec(p.W, x), op.concat(s.h, op.slice(s.h, 0, 1))), /eqn \d+ \(add\): W·x is \[2\] but \[h; h\[0:1\]\] is \[3\]; element-wise ops need equal shapes/],
    ['slice out of range', (_p: any, _x: any, s: any) => op.slice(s.h, 1, 5), /\(slice\): slice \[1, 6\) is outside h \[2\]/],
    ['matvec of a vector', (p: any, x: any) => op.matvec(p.b, x), /\(matvec\): b is \[2\] but matvec needs a matrix \[m, n\] first/],
    ['chunk of an indivisible size', (_p: any, _x: any, s: any) => op.chunk(s.h, 3)[0]!, /eqn \d+ \(chunk\): h \[2\] does not split into 3 equal pieces/],
    ['concat of a matrix', (p: any, x: any) => op.concat(x, p.W as any), /\(concat\): W is \[2, 3\] but concat joins vectors/],
  ])('%s is a ShapeError naming the op and shapes', (_name, body, message) => {
    const cell = twoByTwo((p, x, s) => {
      const y = body(p, x, s);
      return { state: { h: y as any }, output: y as any };
    });
    const issues = issuesOf(cell.instantiate({ input: 3, hidden: 2 }));
    expect(issues[0]!._tag).toBe('ShapeError');
    expect(formatIssues(issues)).toMatch(message);
  });

  it('bad sizes, bad specs and bad step results are reported with their paths', () => {
    const ok = twoByTwo((p, x, { h }) => ({ state: { h: op.add(op.matvec(p.W, x), h) }, output: h }));
    expect(formatIssues(issuesOf(ok.instantiate({ input: 3, hidden: 0 })))).toBe('probe › sizes › hidden: size hidden is 0; expected a positive integer');
    expect(formatIssues(issuesOf(ok.instantiate({ input: 2.5, hidden: 2 })))).toMatch(/sizes › input: size input is 2.5/);

    const misspelt = twoByTwo((p, x, { h }) => ({ state: { h: op.add(op.matvec((p as any).W_q, x), h) }, output: h }));
    expect(formatIssues(issuesOf(misspelt.instantiate({ input: 3, hidden: 2 })))).toBe("probe › step: unknown param 'W_q'; the params are: W, b");

    const wrongState = twoByTwo((_p, x, s) => ({ state: { hh: (s as any).h } as any, output: x }));
    const ws = formatIssues(issuesOf(wrongState.instantiate({ input: 3, hidden: 2 })));
    expect(ws).toMatch(/step › state.hh: the step returns state 'hh' but the state spec has only: h/);
    expect(ws).toMatch(/step › state.h: state.h must be a value computed in this step, got nothing/);

    const wrongShape = twoByTwo((_p, x) => ({ state: { h: x }, output: x }));
    expect(formatIssues(issuesOf(wrongShape.instantiate({ input: 3, hidden: 2 })))).toBe('probe › step › state.h: state.h is [3] but the state spec says [2]');

    const notSym = twoByTwo((p, x, { h }) => ({ state: { h: op.add(op.matvec(p.W, x), 3 as any) }, output: h }));
    expect(formatIssues(issuesOf(notSym.instantiate({ input: 3, hidden: 2 })))).toMatch(/eqn 1 \(add\): argument 2 is number, not a value of this step/);

    const badSpec = defineCell({
      name: 'spec', sizes: ['input'], params: () => ({ W: [0, 2] as const }), state: () => ({ h: [2] as const }),
      step: (_p, x, { h }) => ({ state: { h }, output: x }),
    });
    expect(formatIssues(issuesOf(badSpec.instantiate({ input: 2 })))).toMatch(/spec › params › W: param W has shape \[0, 2\]/);
  });

  it('ops outside a step are an error, not a silent no-op', () => {
    expect(() => op.fill([3], 1)).toThrow(/fill was called outside a cell's step function/);
  });

  it('a state returned unchanged still gets a var of its own per step', () => {
    const hold = defineCell({
      name: 'hold', sizes: ['input', 'hidden'],
      params: ({ input: I, hidden: H }) => ({ W: [H, I] }),
      state: ({ hidden: H }) => ({ h: [H], keep: [H] }),
      step: (p, x, { h, keep }) => ({ state: { h: op.tanh(op.add(op.matvec(p.W, x), h)), keep }, output: op.add(h, keep) }),
    });
    const cell = getOrThrow(hold.instantiate({ input: 2, hidden: 2 }));
    const outs = cell.graph.outputs;
    expect(new Set(outs).size).toBe(outs.length);
    expect(cell.graph.inputs).not.toContain(outs[1]);
  });

  it('types: param and state names and ranks are checked by the compiler', () => {
    defineCell({
      name: 't', sizes: ['input', 'hidden'],
      params: ({ input: I, hidden: H }) => ({ W: [H, I], b: [H] }),
      state: ({ hidden: H }) => ({ h: [H] }),
      step: (p, x, { h }) => {
        // @ts-expect-error a misspelt param does not compile
        void p.W_q;
        // @ts-expect-error a vector where a matrix belongs does not compile
        void op.matvec(p.b, x);
        expectTypeOf(p.W).toEqualTypeOf<Mat>();
        expectTypeOf(p.b).toEqualTypeOf<Vec>();
        return { state: { h }, output: h };
      },
    });
    defineCell({
      name: 't', sizes: ['input', 'hidden'],
      params: ({ input: I, hidden: H }) => ({ W: [H, I] }),
      state: ({ hidden: H }) => ({ h: [H] }),
      // @ts-expect-error a misspelt state field does not compile
      step: (_p, _x, { h }) => ({ state: { hh: h }, output: h }),
    });
    const cell = builtin.lstm({ input: 2, hidden: 3 });
    expectTypeOf(cell).toEqualTypeOf<Cell<'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh', 'h' | 'c'>>();
    const u = unroll(cell, { steps: 2, readout: { output: 1 } });
    const r = compile(u, { batch: 1 }).valueAndGrad(init(u), { inputs: new Float64Array(4), targets: new Float64Array(2) });
    expectTypeOf(r.grads).toHaveProperty('readout.weight');
    expectTypeOf(r.flow).toHaveProperty('c');
  });
});

describe('cells as JSON', () => {
  it('decode(encode(cell)) is the same cell and computes the same loss and gradients', () => {
    for (const cell of [builtin.lstm({ input: 2, hidden: 3 }), builtin.gru({ input: 2, hidden: 3 }), builtin.vanilla({ input: 2, hidden: 3, nonlinearity: 'relu' }), getOrThrow(mgu.instantiate({ input: 2, hidden: 3 }))]) {
      const back = getOrThrow(decodeCell(JSON.parse(encodeCell(cell))));
      expect(back).toEqual(cell);
      const run = (c: Cell) => {
        const u = unroll(c, { steps: 3, readout: { output: 2 } });
        const r = compile(u, { batch: 2 }).valueAndGrad(init(u, { seed: 4 }), { inputs: Float64Array.from({ length: 12 }, (_, i) => Math.sin(i)), targets: new Float64Array(12) });
        return [r.loss, ...Object.values(r.grads).map((g) => Array.from(g as Float64Array))];
      };
      expect(run(back)).toEqual(run(cell));
    }
  });

  it('rejects malformed or inconsistent cell JSON with the place named', () => {
    const good = JSON.parse(encodeCell(builtin.gru({ input: 2, hidden: 3 })));
    expect(formatIssues(issuesOf(decodeCell({ ...good, format: 'other' })))).toMatch(/cell › format: expected "loopgrad.cell\/1"/);
    const unknownOp = structuredClone(good);
    unknownOp.graph.eqns[0].op = 'conv2d';
    expect(formatIssues(issuesOf(decodeCell(unknownOp)))).toMatch(/graph.eqns.0.op: expected a primitive tag, got "conv2d"/);
    const badShape = structuredClone(good);
    badShape.graph.vars[badShape.graph.eqns[0].out].shape = [5];
    expect(formatIssues(issuesOf(decodeCell(badShape)))).toMatch(/gru › graph › eqn 0: matvec gives \[9\] but var \d+ says \[5\]/);
    const cyclic = structuredClone(good);
    cyclic.graph.eqns[0].inputs = [cyclic.graph.eqns[3].out, cyclic.graph.eqns[0].inputs[1]];
    expect(formatIssues(issuesOf(decodeCell(cyclic)))).toMatch(/eqn 0: matvec reads var \d+ before it is defined/);
  });

  it('prints a readable listing', () => {
    const text = printCell(getOrThrow(mgu.instantiate({ input: 3, hidden: 8 })));
    expect(text.split('\n')[0]).toBe('cell mgu (input 3, hidden 8) → output [8]');
    expect(text).toMatch(/params {2}W_f \[8, 11\] {2}b_f \[8\] {2}W_h \[8, 11\] {2}b_h \[8\]/);
    expect(text).toMatch(/= concat x h/);
    expect(text).toMatch(/out {5}h ← %\d+ {3}output ← %\d+/);
  });
});
