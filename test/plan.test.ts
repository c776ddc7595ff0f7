// Plans: long sequences without recursion, no typed-array allocation after the first step,
// determinism, untouched inputs, and clear errors for bad input.
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { countingTypedArrays } from './support/allocations';
import { builtin, compile, compileEither, formatIssues, getOrThrow, gradcheck, init, unroll, unrollEither, wasmKernelsAvailable } from '../src/index';
import { mgu as mguFamily } from './support/mgu';
import { randomBatch as data } from './support/models';

describe('plans', () => {
  it('an LSTM (H = 32, B = 4) unrolled over T = 10,000 runs forward and backward, with a correct gradient', () => {
    const T = 10_000, B = 4, I = 4, O = 2;
    const u = unroll(builtin.lstm({ input: I, hidden: 32 }), { steps: T, readout: { output: O } });
    const params = init(u, { seed: 1 });
    const batch = data(2, T, B, I, O);
    const r = compile(u, { batch: B }).valueAndGrad(params, batch);
    expect(Number.isFinite(r.loss)).toBe(true);
    expect(r.flow.h).toHaveLength(T);
    expect(r.flow.h.every((x) => Number.isFinite(x) && x > 0)).toBe(true);
    expect(r.inputGrads).toHaveLength(T * B * I);
    // one random direction over all 10,000 steps: ⟨u, ∇E⟩ against a central difference
    const report = gradcheck(u, params, batch, { mode: 'direction', seed: 3 });
    expect(report.ok, `max relative error ${report.maxRelError}`).toBe(true);
  });

  it('a second training step allocates no typed arrays (counted by instrumenting the constructors)', () => {
    countingTypedArrays((counts) => {
      for (const dtype of ['float64', 'float32'] as const) {
        for (const cell of [builtin.lstm({ input: 3, hidden: 8 }), builtin.gru({ input: 3, hidden: 8 })]) {
          const u = unroll(cell, { steps: 20, readout: { output: 2 } });
          const params = init(u, { seed: 1 });
          const batch = data(1, 20, 4, 3, 2);
          counts.n = 0;
          const plan = compile(u, { batch: 4, dtype });
          expect(counts.n).toBeGreaterThan(0); // the instrument works: compiling allocates the arenas
          counts.n = 0;
          plan.valueAndGrad(params, batch); // (the first step allocates nothing either)
          plan.valueAndGrad(params, batch);
          expect(counts.n, `${cell.name} ${dtype}`).toBe(0);
          plan.forward(params, batch);
          counts.n = 0;
          plan.forward(params, batch);
          expect(counts.n).toBe(0);
        }
      }
    });
  });

  it('is deterministic: repeated calls and separately compiled plans give bit-identical results', () => {
    const u = unroll(builtin.gru({ input: 3, hidden: 5 }), { steps: 12, readout: { output: 2 } });
    const params = init(u, { seed: 4 });
    const batch = data(5, 12, 3, 3, 2);
    const snapshot = (r: ReturnType<ReturnType<typeof compile<string, string>>['valueAndGrad']>) =>
      [r.loss, ...Object.values(r.grads).map((g) => Array.from(g as Float64Array)), Array.from(r.inputGrads), Array.from(r.flow['h']!)];
    const a = compile(u, { batch: 3 });
    const first = snapshot(a.valueAndGrad(params, batch));
    expect(snapshot(a.valueAndGrad(params, batch))).toEqual(first);
    expect(snapshot(compile(u, { batch: 3 }).valueAndGrad(params, batch))).toEqual(first);
  });

  it('never mutates params or data, and gives the gradient for a given initial state', () => {
    const u = unroll(builtin.lstm({ input: 2, hidden: 3 }), { steps: 4, readout: { output: 1 } });
    const params = init(u, { seed: 1 });
    const batch = { ...data(2, 4, 2, 2, 1), initialState: { h: Float64Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]) } };
    const copy = structuredClone(batch);
    const paramsCopy = structuredClone(params);
    const plan = compile(u, { batch: 2 });
    const r = plan.valueAndGrad(params, batch);
    expect(batch).toEqual(copy);
    expect(params).toEqual(paramsCopy);
    expect(Array.from(r.initialStateGrads.h).some((x) => x !== 0)).toBe(true);
    expect(gradcheck(u, params, batch).ok).toBe(true);
    // the forward pass exposes y_t and the final state
    const f = plan.forward(params, batch);
    expect(f.outputs).toHaveLength(4 * 2 * 1);
    expect(f.finalState.c).toHaveLength(2 * 3);
  });

  it('bad input is an error value naming the field, the size and what was expected', () => {
    const u = unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 4, readout: { output: 1 } });
    const plan = compile(u, { batch: 2 });
    const params = init(u, { seed: 1 });
    const batch = data(1, 4, 2, 2, 1);
    const msg = (p: any, b: any): string => {
      const r = plan.valueAndGradEither(p, b);
      if (E.isRight(r)) throw new Error('expected an error');
      return formatIssues(r.left);
    };
    expect(msg(params, { ...batch, inputs: new Float64Array(15) })).toBe('batch › inputs: inputs has 15 numbers; expected 16 [T 4, B 2, I 2]');
    const withNaN = Float64Array.from(batch.inputs);
    withNaN[5] = NaN;
    expect(msg(params, { ...batch, inputs: withNaN })).toBe('batch › inputs › 5: inputs[5] is NaN; expected a finite number');
    const { weight_hh: _, ...missing } = params;
    expect(msg(missing, batch)).toBe('params › weight_hh: param weight_hh is missing; expected 27 numbers [9, 3]');
    expect(msg(params, { ...batch, initialState: { c: new Float64Array(6) } })).toMatch(/batch › initialState › c: unknown state field 'c'; the cell's are: h/);
    expect(() => plan.valueAndGrad(params, { ...batch, targets: [1, 2] })).toThrow(/targets has 2 numbers; expected 8 \[T 4, B 2, O 1\]/);
    const strings = Array.from(batch.targets) as unknown[];
    strings[3] = '7';
    expect(msg(params, { ...batch, targets: strings })).toBe('batch › targets › 3: targets[3] is string "7"; expected a finite number');
    expect(() => gradcheck(u, params, { ...batch, inputs: new Float64Array(15) })).toThrow(/inputs has 15 numbers, not a positive multiple of T 4 × I 2 = 8/);
  });

  it('a loss that overflows is reported with the first bad step, not returned as NaN', () => {
    const u = unroll(builtin.vanilla({ input: 1, hidden: 2, nonlinearity: 'relu' }), { steps: 300, readout: { output: 1 } });
    const params = init(u, { seed: 1 });
    for (const p of Object.values(params)) p.fill(1);
    params.weight_hh.fill(40); // ‖h_t‖ grows 80× per step: past float64's range within 200 steps
    const r = compile(u, { batch: 1 }).valueAndGradEither(params, { inputs: new Float64Array(300).fill(1), targets: new Float64Array(300) });
    expect(E.isLeft(r) && r.left[0]!._tag).toBe('NumericError');
    expect(E.isLeft(r) && formatIssues(r.left)).toMatch(/loss › step \d+: the loss is Infinity: E_\d+ is the first non-finite step loss/);
  });

  it('bad options are errors with their path', () => {
    const cell = builtin.gru({ input: 2, hidden: 3 });
    expect(formatIssues((unrollEither(cell, { steps: 0 }) as any).left)).toBe('unroll › steps: steps is 0; expected a positive integer');
    const u = unroll(cell, { steps: 2 });
    expect(formatIssues((compileEither(u, { batch: -1 }) as any).left)).toBe('compile › batch: batch is -1; expected a positive integer');
    expect(formatIssues((compileEither(u, { batch: 1, dtype: 'float16' as any }) as any).left)).toMatch(/dtype is float16; expected 'float32' or 'float64'/);
    expect(() => builtin.lstm({ input: 0, hidden: 3 })).toThrow(/lstm › sizes › input: size input is 0/);
  });
});

describe('hoisted input projections', () => {
  it.each([
    ['lstm', builtin.lstm({ input: 3, hidden: 5 }), 1],
    ['gru', builtin.gru({ input: 3, hidden: 5 }), 1],
    ['vanilla', builtin.vanilla({ input: 3, hidden: 5 }), 1],
  ] as const)('%s: W_ih x_t of all steps is one product; values bit-identical, gradients equal to rounding', (_n, cell, groups) => {
    for (const B of [1, 3, 5]) {
      const u = unroll(cell, { steps: 7, readout: { output: 2 } });
      const params = init(u, { seed: 2 });
      const batch = data(3, 7, B, 3, 2);
      const fast = compile(u, { batch: B }), plain = compile(u, { batch: B, hoist: false });
      expect(fast.hoisted).toBe(groups);
      expect(plain.hoisted).toBe(0);
      const a = fast.valueAndGrad(params, batch);
      const lossA = a.loss, gradsA = Object.fromEntries(Object.entries(a.grads).map(([k, g]) => [k, Float64Array.from(g)])), xA = Float64Array.from(a.inputGrads);
      const b = plain.valueAndGrad(params, batch);
      expect(lossA).toBe(b.loss);
      for (const [k, g] of Object.entries(gradsA)) g.forEach((x, i) => expect(Math.abs(x - b.grads[k as keyof typeof b.grads][i]!)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(x))));
      xA.forEach((x, i) => expect(Math.abs(x - b.inputGrads[i]!)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(x))));
    }
  });

  it("'auto' hoists only blocks up to 2¹⁴ elements (larger ones were measured to cost); true always does", () => {
    const u = unroll(builtin.gru({ input: 2, hidden: 8 }), { steps: 100, readout: { output: 1 } }); // T·B·3H = 2,400·B
    expect(compile(u, { batch: 6 }).hoisted).toBe(1); // 14,400 ≤ 16,384
    expect(compile(u, { batch: 7 }).hoisted).toBe(0); // 16,800 > 16,384
    expect(compile(u, { batch: 7, hoist: true }).hoisted).toBe(1);
  });

  it('a matvec of the state is not hoisted (it depends on the previous step)', () => {
    const u = unroll(getOrThrow(mguFamily.instantiate({ input: 2, hidden: 3 })), { steps: 4 });
    expect(compile(u, { batch: 2 }).hoisted).toBe(0); // W [x; h]: the concat reads the state
  });
});

describe('kernel tiers', () => {
  it('Node runs the WebAssembly SIMD kernels by default', () => {
    expect(wasmKernelsAvailable()).toBe(true);
    const u = unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 3 });
    expect(compile(u, { batch: 2 }).kernels).toBe('wasm');
    expect(compile(u, { batch: 2, kernels: 'js' }).kernels).toBe('js');
  });

  it.each(['float64', 'float32'] as const)('%s: wasm and typed-array plans agree on loss and every gradient', (dtype) => {
    const tol = dtype === 'float64' ? 1e-12 : 1e-5;
    for (const cell of [builtin.lstm({ input: 5, hidden: 9 }), builtin.gru({ input: 3, hidden: 6 }), getOrThrow(mguFamily.instantiate({ input: 2, hidden: 7 }))]) {
      for (const B of [1, 4, 7]) {
        const u = unroll(cell, { steps: 6, readout: { output: 3 } });
        const params = init(u, { seed: B });
        const batch = data(B, 6, B, cell.inputSize, 3);
        const js = compile(u, { batch: B, dtype, kernels: 'js' }).valueAndGrad(params, batch);
        const jsLoss = js.loss, jsGrads = Object.fromEntries(Object.entries(js.grads).map(([k, g]) => [k, Float64Array.from(g)])), jsX = Float64Array.from(js.inputGrads);
        const wasm = compile(u, { batch: B, dtype, kernels: 'wasm' }).valueAndGrad(params, batch);
        expect(Math.abs(wasm.loss - jsLoss)).toBeLessThanOrEqual(tol * Math.max(1, jsLoss));
        for (const [k, g] of Object.entries(jsGrads)) {
          const norm = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
          g.forEach((x, i) => expect(Math.abs((wasm.grads as Record<string, ArrayLike<number>>)[k]![i]! - x), `${cell.name} ${k}[${i}]`).toBeLessThanOrEqual(tol * Math.max(1, norm)));
        }
        jsX.forEach((x, i) => expect(Math.abs(wasm.inputGrads[i]! - x)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(x))));
      }
    }
  });

  it('a bad tier is an option error', () => {
    const e = compileEither(unroll(builtin.gru({ input: 2, hidden: 3 }), { steps: 3 }), { batch: 1, kernels: 'gpu' as never });
    expect(E.isLeft(e) && formatIssues(e.left)).toBe("compile › kernels: kernels is gpu; expected 'auto', 'wasm' or 'js'");
  });
});
