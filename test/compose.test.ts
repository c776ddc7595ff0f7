// Composed cells: stack, residual, bidirectional. Each is checked against the layers run by
// hand (values), against finite differences and the laws (gradients), and round-trips as JSON.
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import {
  bidirectional, bidirectionalEither, builtin, compile, decodeCell, encodeCell, formatIssues, gradcheck, init, residual, residualEither,
  stack, stackEither, unroll, unrollEither, type Cell,
} from '../src/index';
import { mulberry32 } from '../src/random';
import { checkCell } from '../laws/index';

const T = 5, B = 2;
const uniform = (seed: number, n: number) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
};
/** The per-step outputs o_t [T, B, n] of a cell run alone (no readout), with its params picked from `all` by prefix. */
const outputsOf = (cell: Cell, all: Record<string, Float64Array>, prefix: string, inputs: Float64Array): Float64Array => {
  const u = unroll(cell, { steps: T });
  const params = Object.fromEntries(cell.params.map((p) => [p.name, all[prefix + p.name]!]));
  return Float64Array.from(compile(u, { batch: B }).forward(params, { inputs, targets: new Float64Array(T * B * cell.outputSize) }).outputs);
};
/** E = Σ_t (1/2B) Σ_b ‖V z_{t,b} + c − target_{t,b}‖², by hand. */
const readoutLoss = (z: Float64Array, n: number, V: Float64Array, c: Float64Array, targets: Float64Array): number => {
  const O = c.length;
  let e = 0;
  for (let tb = 0; tb < T * B; tb++) {
    for (let o = 0; o < O; o++) {
      let y = c[o]!;
      for (let k = 0; k < n; k++) y += V[o * n + k]! * z[tb * n + k]!;
      e += (y - targets[tb * O + o]!) ** 2;
    }
  }
  return e / (2 * B);
};
const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(b)));

describe('stack', () => {
  const lower = builtin.lstm({ input: 2, hidden: 3 }), upper = builtin.gru({ input: 3, hidden: 4 });
  const cell = stack(lower, upper);

  it('names params and state by layer and equals running the layers one after the other', () => {
    expect(cell.params.map((p) => p.name)).toEqual([...lower.params.map((p) => `l0.${p.name}`), ...upper.params.map((p) => `l1.${p.name}`)]);
    expect(cell.state.map((s) => s.name)).toEqual(['l0.h', 'l0.c', 'l1.h']);
    const u = unroll(cell, { steps: T, readout: { output: 2 } });
    const params = init(u, { seed: 3, range: 0.8 });
    const inputs = uniform(1, T * B * 2), targets = uniform(2, T * B * 2);
    const loss = compile(u, { batch: B }).valueAndGrad(params, { inputs, targets }).loss;
    const h0 = outputsOf(lower, params, 'l0.', inputs);
    const h1 = outputsOf(upper, params, 'l1.', h0);
    close(loss, readoutLoss(h1, 4, params['readout.weight'], params['readout.bias'], targets));
    expect(gradcheck(u, params, { inputs, targets }).ok).toBe(true);
  });

  it('obeys the laws', () => checkCell(stack(builtin.vanilla({ input: 2, hidden: 3 }), builtin.lstm({ input: 3, hidden: 2 })), { numRuns: 10 }));
});

describe('residual', () => {
  const inner = builtin.gru({ input: 3, hidden: 3 });
  const cell = residual(inner);

  it('adds the input to the output', () => {
    const u = unroll(cell, { steps: T, readout: { output: 2 } });
    const params = init(u, { seed: 5, range: 0.8 });
    const inputs = uniform(3, T * B * 3), targets = uniform(4, T * B * 2);
    const loss = compile(u, { batch: B }).valueAndGrad(params, { inputs, targets }).loss;
    const o = outputsOf(inner, params, '', inputs);
    close(loss, readoutLoss(o.map((v, i) => v + inputs[i]!), 3, params['readout.weight'], params['readout.bias'], targets));
  });

  it('obeys the laws', () => checkCell(cell, { numRuns: 10 }));
});

describe('bidirectional', () => {
  const fwd = builtin.lstm({ input: 2, hidden: 3 });
  it.each(['concat', 'sum', 'mean'] as const)('merge %s: the forward cell on x, the backward cell on x reversed, merged at each t', (merge) => {
    const cell = bidirectional(fwd, { merge });
    const u = unroll(cell, { steps: T, readout: { output: 2 } });
    expect(u.inputSize).toBe(2);
    const params = init(u, { seed: 7, range: 0.8 });
    const inputs = uniform(5, T * B * 2), targets = uniform(6, T * B * 2);
    const loss = compile(u, { batch: B }).valueAndGrad(params, { inputs, targets }).loss;
    const reverse = (a: Float64Array, n: number) => Float64Array.from(a, (_, i) => a[(T - 1 - Math.floor(i / (B * n))) * B * n + (i % (B * n))]!);
    const of = outputsOf(fwd, params, 'fwd.', inputs);
    const ob = reverse(outputsOf(fwd, params, 'bwd.', reverse(inputs, 2)), 3);
    const n = merge === 'concat' ? 6 : 3;
    const z = Float64Array.from({ length: T * B * n }, (_, i) => {
      const tb = Math.floor(i / n), k = i % n;
      if (merge === 'concat') return k < 3 ? of[tb * 3 + k]! : ob[tb * 3 + k - 3]!;
      const s = of[tb * 3 + k]! + ob[tb * 3 + k]!;
      return merge === 'sum' ? s : 0.5 * s;
    });
    close(loss, readoutLoss(z, n, params['readout.weight'], params['readout.bias'], targets));
    expect(gradcheck(u, params, { inputs, targets }).ok).toBe(true);
  });

  it('a different backward cell', () => {
    const cell = bidirectional(builtin.gru({ input: 2, hidden: 3 }), { backward: builtin.vanilla({ input: 2, hidden: 2 }) });
    expect(cell.params.map((p) => p.name).filter((n) => n.startsWith('bwd.'))).toEqual(['bwd.weight_ih', 'bwd.weight_hh', 'bwd.bias_ih', 'bwd.bias_hh']);
    const u = unroll(cell, { steps: 3, readout: { output: 1 } });
    expect(gradcheck(u, init(u, { seed: 1 }), { inputs: uniform(1, 12), targets: uniform(2, 6) }).ok).toBe(true);
  });

  it('obeys the laws that apply to a non-causal cell (all but 4 and 5)', () => checkCell(bidirectional(builtin.gru({ input: 2, hidden: 2 })), { numRuns: 10 }));
});

describe('composed cells are data', () => {
  it.each([
    ['stack', stack(builtin.gru({ input: 2, hidden: 3 }), builtin.vanilla({ input: 3, hidden: 2 }))],
    ['residual', residual(builtin.lstm({ input: 2, hidden: 2 }))],
    ['bidirectional', bidirectional(builtin.vanilla({ input: 2, hidden: 2 }), { merge: 'mean' })],
  ])('%s round-trips through JSON', (_n, cell) => {
    const back = decodeCell(JSON.parse(encodeCell(cell)));
    expect(E.isRight(back) && back.right).toEqual(JSON.parse(encodeCell(cell)));
  });
});

describe('composition errors name the layer and sizes', () => {
  const msg = (e: E.Either<readonly import('../src/index').LoopgradIssue[], unknown>) => (E.isLeft(e) ? formatIssues(e.left) : 'no error');
  it('sizes that do not chain', () => {
    expect(msg(stackEither(builtin.gru({ input: 2, hidden: 3 }), builtin.gru({ input: 4, hidden: 2 }))))
      .toBe('stack(gru, gru) › layer 1: gru takes inputs of size 4 but layer 0 (gru) outputs 3');
    expect(msg(residualEither(builtin.gru({ input: 2, hidden: 3 })))).toBe('residual(gru): gru maps inputs of size 2 to outputs of size 3; a residual needs them equal');
    expect(msg(bidirectionalEither(builtin.gru({ input: 2, hidden: 3 }), { backward: builtin.gru({ input: 2, hidden: 2 }), merge: 'sum' })))
      .toBe("bidirectional(gru, gru, sum): merge 'sum' needs equal output sizes, got 3 (forward) and 2 (backward)");
  });
  it('a bidirectional cell inside another, or masked', () => {
    const bi = bidirectional(builtin.gru({ input: 2, hidden: 2 }));
    expect(msg(stackEither(bi, builtin.gru({ input: 4, hidden: 2 })))).toMatch(/^stack › layer 0: bidirectional\(gru, gru, concat\) is bidirectional: its output at t needs the whole sequence/);
    expect(msg(unrollEither(bi, { steps: 3, masked: true }))).toMatch(/^unroll › masked: bidirectional\(gru, gru, concat\) is bidirectional: masked \(variable-length\) batches/);
  });
});

describe('init on composed cells', () => {
  it("draws each layer's params with its own hidden size (PyTorch's 1/√hidden), the readout with its input size", () => {
    const u = unroll(stack(builtin.lstm({ input: 2, hidden: 3 }), builtin.gru({ input: 3, hidden: 16 })), { steps: 2, readout: { output: 1 } });
    const p = init(u, { seed: 9 });
    const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxAbs(p['l0.weight_hh'])).toBeLessThanOrEqual(1 / Math.sqrt(3));
    expect(maxAbs(p['l0.weight_hh'])).toBeGreaterThan(1 / 4); // 36 draws from U(−0.577, 0.577)
    expect(maxAbs(p['l1.weight_hh'])).toBeLessThanOrEqual(1 / 4);
    expect(maxAbs(p['readout.bias'])).toBeLessThanOrEqual(1 / 4);
  });
});
