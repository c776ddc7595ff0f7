// Gradient clipping: the global norm, clipping by norm (PyTorch's clip_grad_norm_) and by value,
// pure and in place, against hand values, PyTorch fixtures and properties; errors as values.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { countingTypedArrays } from './support/allocations';
import { clipGradNorm, clipGradNormEither, clipGradValue, clipGradValueEither, globalNorm, globalNormEither } from '../src/clip';
import { formatIssues, LoopgradError, type LoopgradIssue } from '../src/errors';
import type { Tensors } from '../src/optim';

const f64 = (...xs: number[]): Float64Array => Float64Array.from(xs);
/** ‖g‖ computed independently (Math.hypot scales, so tiny entries do not underflow). */
const norm = (g: Tensors): number => Math.hypot(...Object.values(g).flatMap((a) => Array.from(a)));
const plain = (g: Tensors): Record<string, number[]> => Object.fromEntries(Object.entries(g).map(([k, v]) => [k, Array.from(v)]));

const fixture = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/torch/optim.json', import.meta.url)), 'utf8')) as {
  clip: ({ grads: Record<string, number[]>; clipped: Record<string, number[]> } & ({ kind: 'norm'; maxNorm: number; norm: number } | { kind: 'value'; clipValue: number }))[];
};

describe('globalNorm', () => {
  it('is the L2 norm over all parameters together, in float64 or float32', () => {
    expect(globalNorm({ a: f64(3, 4), b: Float32Array.from([12]) })).toBe(13);
    expect(globalNorm({})).toBe(0);
    expect(globalNorm({ a: f64(0, 0) })).toBe(0);
  });

  it('survives squares that overflow or underflow float64', () => {
    expect(globalNorm({ a: f64(3e200, -4e200) }) / 5e200).toBeCloseTo(1, 14);
    expect(globalNorm({ a: f64(3e-200), b: f64(4e-200) }) / 5e-200).toBeCloseTo(1, 14);
  });

  it('a non-finite entry is a NumericError naming the parameter and index', () => {
    const r = globalNormEither({ a: f64(1, 2), b: f64(0, NaN) });
    expect(E.isLeft(r) && r.left).toEqual([{ _tag: 'NumericError', path: ['grads', 'b', '1'], message: 'grad b[1] is NaN; the global norm is not finite' }]);
    expect(() => globalNorm({ a: f64(Infinity) })).toThrow('grads › a › 0: grad a[0] is Infinity; the global norm is not finite');
    const huge = globalNormEither({ a: f64(1.5e308, 1.5e308) });
    expect(E.isLeft(huge) && formatIssues(huge.left)).toMatch(/^grads: the global norm is Infinity: it exceeds the largest float64/);
  });
});

describe('clipGradNorm', () => {
  it('returns the norm before clipping, and scales by maxNorm / (norm + 1e-6) when larger (PyTorch)', () => {
    const grads = { a: f64(3, 4), b: f64(12) };
    const before = structuredClone(grads);
    const r = clipGradNorm(grads, 6.5);
    expect(r.norm).toBe(13);
    expect(r.scale).toBe(6.5 / (13 + 1e-6));
    expect(plain(r.grads)).toEqual({ a: [3 * r.scale, 4 * r.scale], b: [12 * r.scale] });
    expect(Math.abs(norm(r.grads) - (6.5 * 13) / (13 + 1e-6))).toBeLessThanOrEqual(1e-12 * 6.5);
    expect(grads).toEqual(before); // pure by default
    // eps 0: the clipped norm is maxNorm itself
    expect(Math.abs(norm(clipGradNorm(grads, 6.5, { eps: 0 }).grads) - 6.5)).toBeLessThanOrEqual(1e-12 * 6.5);
  });

  it('leaves gradients unchanged when the norm is smaller (new arrays, same values)', () => {
    const grads = { a: f64(3, 4), b: Float32Array.from([12]) };
    const r = clipGradNorm(grads, 20);
    expect(r).toMatchObject({ norm: 13, scale: 1 });
    expect(r.grads.a).not.toBe(grads.a);
    expect(r.grads.b).toBeInstanceOf(Float32Array);
    expect(plain(r.grads)).toEqual(plain(grads));
  });

  it('in place scales the given arrays and returns them', () => {
    const grads = { a: f64(3, 4), b: f64(12) };
    const r = clipGradNorm(grads, 1, { inPlace: true, eps: 0 });
    expect(r.grads).toBe(grads);
    expect(r.grads.a).toBe(grads.a);
    expect(Math.abs(norm(grads) - 1)).toBeLessThanOrEqual(1e-12);
    expect(grads.b[0]).toBeCloseTo(12 / 13, 15);
  });

  it('property: the result is s·g with s = min(1, maxNorm / (norm + ε)), its norm at most maxNorm', () => {
    const tensors = fc.dictionary(fc.string({ minLength: 1, maxLength: 3 }), fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { maxLength: 8 }).map((a) => Float64Array.from(a)), { maxKeys: 4 });
    fc.assert(
      fc.property(tensors, fc.double({ min: 1e-3, max: 200, noNaN: true }), fc.constantFrom(0, 1e-6), (grads, maxNorm, eps) => {
        const n = norm(grads);
        const r = clipGradNorm(grads, maxNorm, { eps });
        expect(Math.abs(r.norm - n)).toBeLessThanOrEqual(1e-12 * n);
        const s = Math.min(1, maxNorm / (n + eps));
        for (const k of Object.keys(grads)) grads[k]!.forEach((x, i) => expect(Math.abs(r.grads[k]![i]! - s * x)).toBeLessThanOrEqual(1e-12 * Math.abs(x)));
        expect(norm(r.grads)).toBeLessThanOrEqual(maxNorm * (1 + 1e-12));
        if (n > maxNorm) expect(Math.abs(norm(r.grads) - (maxNorm * n) / (n + eps))).toBeLessThanOrEqual(1e-12 * maxNorm);
      }),
      { numRuns: 200 },
    );
  });

  it('bad maxNorm or eps is an OptionError; a NaN gradient a NumericError, and nothing is written', () => {
    const msg = (r: E.Either<readonly LoopgradIssue[], unknown>): string => (E.isLeft(r) ? formatIssues(r.left) : 'no issues');
    expect(msg(clipGradNormEither({ a: f64(1) }, -1))).toBe('clipGradNorm › maxNorm: maxNorm is -1; expected a positive finite number');
    expect(msg(clipGradNormEither({ a: f64(1) }, 1, { eps: NaN }))).toBe('clipGradNorm › eps: eps is NaN; expected a finite number ≥ 0');
    const grads = { a: f64(100, 100), b: f64(1, -Infinity) };
    expect(msg(clipGradNormEither(grads, 1, { inPlace: true }))).toBe('grads › b › 1: grad b[1] is -Infinity; the global norm is not finite');
    expect(plain(grads)).toEqual({ a: [100, 100], b: [1, -Infinity] });
    expect(() => clipGradNorm(grads, 1)).toThrow(LoopgradError);
  });
});

describe('clipGradValue', () => {
  it('clamps each entry to [−c, c], pure by default, in place on request', () => {
    const grads = { a: f64(-3, 0.5, 2), b: Float32Array.from([-0.25, 7]) };
    const out = clipGradValue(grads, 1);
    expect(plain(out)).toEqual({ a: [-1, 0.5, 1], b: [-0.25, 1] });
    expect(out.b).toBeInstanceOf(Float32Array);
    expect(plain(grads)).toEqual({ a: [-3, 0.5, 2], b: [-0.25, 7] });
    expect(clipGradValue(grads, 1, { inPlace: true })).toBe(grads);
    expect(plain(grads)).toEqual({ a: [-1, 0.5, 1], b: [-0.25, 1] });
  });

  it('property: entries within [−c, c] are untouched, the others land on ±c', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true })), fc.double({ min: 1e-3, max: 5, noNaN: true }), (xs, c) => {
        const out = clipGradValue({ g: Float64Array.from(xs) }, c).g;
        xs.forEach((x, i) => expect(out[i]).toBe(Math.abs(x) <= c ? x : Math.sign(x) * c));
      }),
    );
  });

  it('errors: a bad clip value, a non-finite entry', () => {
    const r = clipGradValueEither({ a: f64(1) }, 0);
    expect(E.isLeft(r) && formatIssues(r.left)).toBe('clipGradValue › clipValue: clipValue is 0; expected a positive finite number');
    const grads = { a: f64(5, NaN) };
    const bad = clipGradValueEither(grads, 1, { inPlace: true });
    expect(E.isLeft(bad) && bad.left).toEqual([{ _tag: 'NumericError', path: ['grads', 'a', '1'], message: 'grad a[1] is NaN; expected a finite number to clip' }]);
    expect(grads.a[0]).toBe(5);
  });
});

describe('PyTorch fixtures (torch.nn.utils, float64)', () => {
  it.each(fixture.clip.map((c) => [c.kind, c] as const))('clip by %s', (_, c) => {
    const grads = Object.fromEntries(Object.entries(c.grads).map(([k, v]) => [k, Float64Array.from(v)]));
    const clipped = c.kind === 'norm' ? clipGradNorm(grads, c.maxNorm) : { grads: clipGradValue(grads, c.clipValue) };
    if (c.kind === 'norm') expect(Math.abs((clipped as { norm: number }).norm - c.norm)).toBeLessThanOrEqual(1e-12 * c.norm);
    for (const [k, v] of Object.entries(c.clipped)) v.forEach((x, i) => expect(Math.abs(clipped.grads[k]![i]! - x)).toBeLessThanOrEqual(1e-12 * Math.abs(x)));
  });
});

describe('the in-place hot path', () => {
  it('allocates no typed arrays (counted by instrumenting the constructors)', () => {
    countingTypedArrays((counts) => {
      const grads = { a: new Float64Array(5).fill(3), b: new Float32Array(3).fill(-2) };
      counts.n = 0;
      clipGradNorm(grads, 1); // the pure form copies (the instrument works)
      expect(counts.n).toBeGreaterThan(0);
      counts.n = 0;
      clipGradNorm(grads, 1, { inPlace: true });
      clipGradValue(grads, 0.1, { inPlace: true });
      globalNorm(grads);
      expect(counts.n).toBe(0);
    });
  });
});
