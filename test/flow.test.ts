// Gradient-flow summaries: the log-linear fit recovers ρ of geometric curves, verdict thresholds
// (and their symmetry under time reversal), zeros, non-finite norms, T ≤ 1, errors, the text
// form, and gate saturation fractions on known arrays.
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LoopgradError } from '../src/errors';
import { formatFlow, saturation, summarizeFlow, summarizeFlowEither, type FlowSummary } from '../src/flow';

/** g_t = c · r^(T−1−t): going back from t = T−1, each step multiplies by r. */
const geometric = (T: number, r: number, c = 1): Float64Array => Float64Array.from({ length: T }, (_, t) => c * r ** (T - 1 - t));

/** Every number in a summary is finite (or the field is null). */
const numbersFinite = (s: FlowSummary): boolean =>
  Object.values(s).every((v) => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)));

describe('summarizeFlow: the fit', () => {
  it('recovers ρ, the change and the steps per 10× of a geometric curve', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 300 }), fc.double({ min: 0.5, max: 2, noNaN: true }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), (T, r, c) => {
        const s = summarizeFlow(geometric(T, r, c));
        expect(s.rho!).toBeCloseTo(r, 10);
        expect(s.log10Change!).toBeCloseTo((T - 1) * Math.log10(r), 8);
        expect(s.ratio! / r ** (T - 1)).toBeCloseTo(1, 8);
        expect(s.fitted).toBe(T);
        if (r < 1 - 1e-9) expect(s.stepsPer10x! * -Math.log10(r)).toBeCloseTo(1, 8);
        else if (r >= 1) expect(s.stepsPer10x).toBeNull();
      }),
    );
    const s = summarizeFlow(geometric(100, 0.7, 0.8));
    expect(s).toMatchObject({ steps: 100, first: 0.8 * 0.7 ** 99, last: 0.8, zeros: 0, nonFinite: 0, verdict: 'vanishing' });
    expect(s.stepsPer10x).toBeCloseTo(Math.LN10 / -Math.log(0.7), 12);
  });

  it('reversing a curve negates the fitted change and swaps vanishing and exploding', () => {
    const swap = { vanishing: 'exploding', exploding: 'vanishing', stable: 'stable' } as const;
    fc.assert(
      fc.property(fc.array(fc.double({ min: 1e-12, max: 1e12, noNaN: true }), { minLength: 2, maxLength: 60 }), (g) => {
        const a = summarizeFlow(g), b = summarizeFlow([...g].reverse());
        expect(a.log10Change! + b.log10Change!).toBeCloseTo(0, 6);
        if (Math.abs(Math.abs(a.log10Change!) - 3) > 1e-6) expect(b.verdict).toBe(swap[a.verdict as keyof typeof swap]);
      }),
    );
  });

  it('judges the fitted change against 1e-3 and 1e3 across the sequence, or given thresholds', () => {
    // ρ^(T−1) just past each threshold, T = 101
    const rhoFor = (decades: number): number => 10 ** (decades / 100);
    expect(summarizeFlow(geometric(101, rhoFor(-3.01))).verdict).toBe('vanishing');
    expect(summarizeFlow(geometric(101, rhoFor(-2.99))).verdict).toBe('stable');
    expect(summarizeFlow(geometric(101, rhoFor(2.99))).verdict).toBe('stable');
    expect(summarizeFlow(geometric(101, rhoFor(3.01))).verdict).toBe('exploding');
    // the same per-step ρ = 0.99 is stable over 100 steps and vanishing over 1000
    expect(summarizeFlow(geometric(100, 0.99)).verdict).toBe('stable');
    expect(summarizeFlow(geometric(1000, 0.99)).verdict).toBe('vanishing');
    expect(summarizeFlow(geometric(100, 0.99), { vanishing: 0.5 }).verdict).toBe('vanishing');
    expect(summarizeFlow(geometric(100, 1.02), { exploding: 5 }).verdict).toBe('exploding');
    // one accidental small norm at t = 0 does not decide: the fit over every step does
    const s = summarizeFlow([1e-5, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(s.ratio).toBeCloseTo(1e-5, 15);
    expect(s.verdict).toBe('stable');
  });
});

describe('summarizeFlow: zeros, non-finite norms, short curves, errors', () => {
  it('counts exact zeros, leaves them out of the fit, and calls a zero start vanishing', () => {
    const relu = Float64Array.from({ length: 50 }, (_, t) => (t < 20 ? 0 : 0.5));
    expect(summarizeFlow(relu)).toMatchObject({ zeros: 20, leadingZeros: 20, fitted: 30, rho: 1, first: 0, ratio: 0, verdict: 'vanishing' });
    const holes = [1, 1, 0, 1, 0, 1];
    expect(summarizeFlow(holes)).toMatchObject({ zeros: 2, leadingZeros: 0, fitted: 4, rho: 1, verdict: 'stable' });
    expect(summarizeFlow([1, 1, 0])).toMatchObject({ ratio: null, verdict: 'stable' }); // g_{T−1} = 0: no ratio
    expect(summarizeFlow([0, 0, 0])).toMatchObject({ zeros: 3, leadingZeros: 3, rho: null, ratio: null, verdict: 'zero' });
  });

  it('reports NaN and ±∞ as non-finite, with counts and the latest step, never as a NaN number', () => {
    const g = Float64Array.from(geometric(10, 0.5));
    g[3] = NaN, g[6] = Infinity;
    const s = summarizeFlow(g);
    expect(s).toMatchObject({ nonFinite: 2, latestNonFinite: 6, fitted: 8, verdict: 'non-finite' });
    expect(s.rho).toBeCloseTo(0.5, 12);
    expect(summarizeFlow([NaN, 1])).toMatchObject({ first: null, ratio: null, verdict: 'non-finite' });
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ min: 0, max: Number.MAX_VALUE }), fc.constantFrom(0, Number.MIN_VALUE, NaN, Infinity, -Infinity)), { maxLength: 30 }), (norms) => {
        const s = summarizeFlow(norms);
        expect(numbersFinite(s)).toBe(true);
        expect(formatFlow(s, 'x')).not.toMatch(/NaN(?! or ±∞)|Infinity|undefined/);
        expect(s.verdict === 'non-finite').toBe(norms.some((v) => !Number.isFinite(v)));
      }),
    );
  });

  it('handles T = 1 and T = 0', () => {
    expect(summarizeFlow([0.3])).toMatchObject({ steps: 1, first: 0.3, last: 0.3, ratio: 1, rho: null, log10Change: null, verdict: 'stable' });
    expect(summarizeFlow([])).toMatchObject({ steps: 0, first: null, last: null, ratio: null, rho: null, verdict: 'stable' });
    expect(summarizeFlow([0])).toMatchObject({ verdict: 'zero' });
  });

  it('rejects negative norms and thresholds out of range', () => {
    const bad = summarizeFlowEither([1, -0.5], { vanishing: 2, exploding: 0.5 });
    expect(E.isLeft(bad) && bad.left.map((i) => [i._tag, i.path.join(' › ')])).toEqual([
      ['OptionError', 'summarizeFlow › vanishing'],
      ['OptionError', 'summarizeFlow › exploding'],
      ['InputError', 'summarizeFlow › norms[1]'],
    ]);
    expect(() => summarizeFlow([1], { exploding: Infinity })).toThrow(LoopgradError);
  });
});

describe('formatFlow', () => {
  it('says where the curve starts and ends, the factor, ρ and the verdict in one line', () => {
    expect(formatFlow(summarizeFlow(geometric(100, 0.986, 3.1e-2)), 'lstm', '‖∂E_T/∂h_t‖')).toBe(
      'lstm: ‖∂E_T/∂h_t‖ from 3.1e-2 at t=T−1 to 7.7e-3 at t=0: ×0.25 over 99 steps (ρ = 0.986 per step): stable',
    );
    expect(formatFlow(summarizeFlow(geometric(100, 0.7, 0.8)), 'tanh')).toBe(
      'tanh: ‖∂E/∂h_t‖ from 8.0e-1 at t=T−1 to 3.7e-16 at t=0: ×4.6e-16 over 99 steps (ρ = 0.700 per step): vanishing, 10× smaller every 6.46 steps back',
    );
    expect(formatFlow(summarizeFlow(geometric(50, 1.5)))).toBe(
      '‖∂E/∂h_t‖ from 1.0e0 at t=T−1 to 4.3e8 at t=0: ×4.3e8 over 49 steps (ρ = 1.50 per step): exploding',
    );
    expect(formatFlow(summarizeFlow(geometric(10, 0.99999)))).toContain('ρ = 0.99999 per step');
  });

  it('adds the fitted change when it disagrees with the ends, and lines for zeros and non-finite norms', () => {
    expect(formatFlow(summarizeFlow([1e-5, 1, 1, 1, 1, 1, 1, 1, 1, 1]))).toBe(
      '‖∂E/∂h_t‖ from 1.0e0 at t=T−1 to 1.0e-5 at t=0: ×1.0e-5 over 9 steps (ρ = 0.534 per step, fitted ×3.5e-3 overall): stable',
    );
    expect(formatFlow(summarizeFlow([0, 0, 0.5, 0.5]), 'relu')).toBe(
      'relu: ‖∂E/∂h_t‖ from 5.0e-1 at t=T−1 to 0 at t=0: ×0 over 3 steps (ρ = 1.00 per step, fitted ×1.0 overall): vanishing\n' +
        '  2 of 4 norms are exactly 0, including all of t=0…1 (not in the fit)',
    );
    expect(formatFlow(summarizeFlow([1, NaN, 1]), 'gru').split('\n')[1]).toBe('  1 of 3 norms are NaN or ±∞, the latest at t=1');
    expect(formatFlow(summarizeFlow([0, 0]))).toBe('‖∂E/∂h_t‖ is exactly 0 at all 2 steps: zero');
    expect(formatFlow(summarizeFlow([0.25]), 'one')).toBe('one: ‖∂E/∂h_t‖ = 2.5e-1 at the only step (T = 1): stable');
    expect(formatFlow(summarizeFlow([1e300, 1e-300]))).toBe('‖∂E/∂h_t‖ from 1.0e-300 at t=T−1 to 1.0e300 at t=0: ×1.0e600 over 1 step: exploding');
  });
});

describe('saturation', () => {
  it('counts sigmoid values beyond 0.05 / 0.95 and tanh values beyond ±0.95, strictly', () => {
    expect(saturation([0.01, 0.04, 0.05, 0.5, 0.95, 0.96, 0.99, 0.3], 'sigmoid')).toBe(4 / 8);
    expect(saturation([-0.99, -0.95, -0.5, 0, 0.9, 0.951, 1], 'tanh')).toBe(3 / 7);
    expect(saturation(new Float32Array([0.001, 0.999, 0.5, 0.5]), 'sigmoid')).toBe(0.5);
    expect(saturation([0.85, 0.5, 0.1], 'sigmoid', 0.8)).toBe(2 / 3);
    expect(saturation([0.85, 0.5, -0.01], 'tanh', 0.05)).toBe(2 / 3);
  });

  it('leaves NaN and ±∞ out, gives 0 for nothing, and rejects thresholds out of range', () => {
    expect(saturation([NaN, 0.99, 0.5, Infinity], 'sigmoid')).toBe(0.5);
    expect(saturation([], 'tanh')).toBe(0);
    expect(saturation([NaN], 'tanh')).toBe(0);
    expect(() => saturation([0.5], 'sigmoid', 0.4)).toThrow(LoopgradError);
    expect(() => saturation([0.5], 'tanh', 1)).toThrow('threshold is 1 but must be in (0, 1) for tanh');
  });

  it('is a fraction in [0, 1] that only grows as the threshold falls', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true })), fc.double({ min: 0.52, max: 0.99, noNaN: true }), (ys, th) => {
        const s = saturation(ys, 'sigmoid', th);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        expect(saturation(ys, 'sigmoid', th - 0.01)).toBeGreaterThanOrEqual(s);
      }),
    );
  });
});
