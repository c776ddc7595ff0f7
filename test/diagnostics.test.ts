// Gradient-flow diagnostics: ‖∂E_T/∂h_t‖ against its definition (finite differences of the
// last loss in the state), the textbook contrast (tanh RNN vanishes, LSTM does not), and gate
// saturation read off the forward values.
import { describe, expect, it } from 'vitest';
import { builtin, compile, formatGradientFlow, gateSaturation, gradientFlow, init, initWith, unroll } from '../src/index';
import { mulberry32 } from '../src/random';

const uniform = (seed: number, n: number, lo = -1, hi = 1) => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
};

describe('gradientFlow', () => {
  it('last[t] is ‖∂E_{T−1}/∂h_t‖: checked by perturbing h_t through a continuation from step t', () => {
    const cell = builtin.gru({ input: 2, hidden: 3 });
    const T = 6, B = 2, O = 2;
    const u = unroll(cell, { steps: T, readout: { output: O } });
    const params = init(u, { seed: 1, range: 0.8 });
    const batch = { inputs: uniform(2, T * B * 2), targets: uniform(3, T * B * O) };
    const f = gradientFlow(u, params, batch, { batch: B });
    const step = compile(unroll(cell, { steps: 1, readout: { output: O } }), { batch: B });
    // h_t by stepping; then E_{T−1} as a function of h_t: run steps t+1 … T−1 from h_t
    let h = new Float64Array(B * 3);
    const hs: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      h = Float64Array.from(step.forward(params, { inputs: batch.inputs.subarray(t * B * 2, (t + 1) * B * 2), targets: batch.targets.subarray(t * B * O, (t + 1) * B * O), initialState: { h } }).finalState.h);
      hs.push(h);
    }
    const lastLossFrom = (t: number, ht: Float64Array): number => {
      if (t === T - 1) return NaN; // E_{T−1} depends on h_{T−1} through the readout only: checked below
      const rest = compile(unroll(cell, { steps: T - 1 - t, readout: { output: O }, lossAt: 'last' }), { batch: B });
      return rest.forward(params, { inputs: batch.inputs.subarray((t + 1) * B * 2), targets: batch.targets.subarray((t + 1) * B * O), initialState: { h: ht } }).loss;
    };
    for (let t = 0; t < T - 1; t++) {
      let norm2 = 0;
      for (let i = 0; i < B * 3; i++) {
        const up = Float64Array.from(hs[t]!), down = Float64Array.from(hs[t]!);
        up[i] += 1e-6;
        down[i] -= 1e-6;
        norm2 += ((lastLossFrom(t, up) - lastLossFrom(t, down)) / 2e-6) ** 2;
      }
      expect(Math.abs(f.last['h']![t]! - Math.sqrt(norm2))).toBeLessThan(1e-7 * Math.max(1, f.last['h']![t]!));
    }
    // and the total flow is the plan's
    expect(Array.from(f.total['h']!)).toEqual(Array.from(compile(u, { batch: B }).valueAndGrad(params, batch).flow.h));
  });

  it('shows the vanishing gradient of a tanh RNN and its absence in an LSTM (T = 60)', () => {
    const T = 60, B = 4, H = 16;
    const batch = { inputs: uniform(5, T * B * 1), targets: uniform(6, T * B * 1) };
    const flowOf = (cell: Parameters<typeof unroll>[0], params?: Record<string, Float64Array>) => {
      const u = unroll(cell, { steps: T, readout: { output: 1 } });
      return gradientFlow(u, params ?? initWith(u, 'pytorch', { seed: 7 }), batch, { batch: B });
    };
    const tanh = flowOf(builtin.vanilla({ input: 1, hidden: H }));
    const u = unroll(builtin.lstm({ input: 1, hidden: H }), { steps: T, readout: { output: 1 } });
    const lstm = flowOf(builtin.lstm({ input: 1, hidden: H }), initWith(u, 'pytorch', { seed: 7, forgetBias: 3 }));
    expect(tanh.summary.verdict).toBe('vanishing');
    expect(lstm.summary.verdict).toBe('stable');
    expect(tanh.last['h']![0]! / tanh.last['h']![T - 1]!).toBeLessThan(1e-6);
    expect(lstm.last['h']![0]! / lstm.last['h']![T - 1]!).toBeGreaterThan(1e-3);
    expect(formatGradientFlow(lstm, 'lstm')).toMatch(/^lstm: ‖∂E_T\/∂h_t‖ from [\d.e+-]+ at t=T−1 to [\d.e+-]+ at t=0: .*stable\n  saturated: i \d+%, f \d+%, g \d+%, o \d+%/);
  });
});

describe('gateSaturation', () => {
  it('counts activations near the asymptotes, per named gate', () => {
    const cell = builtin.gru({ input: 1, hidden: 2 });
    const u = unroll(cell, { steps: 2, readout: { output: 1 } });
    const params = init(u, { seed: 1 });
    params.bias_ih.fill(0);
    params.bias_hh.fill(0);
    params.weight_ih.fill(0);
    params.weight_hh.fill(0);
    params.bias_ih[0] = 10; // r unit 0: σ(10) ≈ 1, saturated; r unit 1: σ(0) = ½, not
    params.bias_ih[3] = -10; // z unit 1: σ(−10) ≈ 0; z unit 0: ½
    const s = gateSaturation(u, params, { inputs: new Float64Array(2), targets: new Float64Array(2) }, 1);
    expect(s).toEqual([
      { gate: 'r', kind: 'sigmoid', fraction: 0.5 },
      { gate: 'z', kind: 'sigmoid', fraction: 0.5 },
      { gate: 'n', kind: 'tanh', fraction: 0 },
    ]);
  });
});
