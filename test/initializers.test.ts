// Initializers: orthogonality (and torch's positive-diag(R) convention), Glorot bounds and variance, identity,
// the LSTM forget bias, presets covering every param, the pytorch preset equal to init(), errors naming fields.
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import { builtin, getOrThrow, init, LoopgradError, mulberry32, unroll, type Cell, type LoopgradIssue } from '../src/index';
import {
  constant,
  draw,
  drawEither,
  glorotUniform,
  identity,
  initWith,
  initWithEither,
  normal,
  orthogonal,
  schemes,
  uniform,
  type PresetName,
  type Scheme,
} from '../src/initializers';
import { mgu } from './support/mgu';

const I = 3, H = 4;
const cells: Record<string, Cell> = {
  vanilla: builtin.vanilla({ input: I, hidden: H }),
  vanilla_relu: builtin.vanilla({ input: I, hidden: H, nonlinearity: 'relu' }),
  gru: builtin.gru({ input: I, hidden: H }),
  lstm: builtin.lstm({ input: I, hidden: H }),
};
const graph = (c: Cell) => unroll(c, { steps: 2, readout: { output: 2 } });
const presets = Object.keys(schemes) as PresetName[];

/** The [rows, cols] block of a row-major matrix starting at row r0. */
const block = (m: Float64Array, cols: number, r0: number, rows: number) => m.subarray(r0 * cols, (r0 + rows) * cols);
/** AᵀB for row-major A [m, p], B [m, q]. */
const tmul = (a: ArrayLike<number>, b: ArrayLike<number>, m: number, p: number, q: number): Float64Array => {
  const out = new Float64Array(p * q);
  for (let k = 0; k < m; k++) for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) out[i * q + j]! += a[k * p + i]! * b[k * q + j]!;
  return out;
};
const transpose = (a: ArrayLike<number>, rows: number, cols: number) =>
  Float64Array.from({ length: rows * cols }, (_, k) => a[(k % rows) * cols + Math.floor(k / rows)]!);
const expectScaledIdentity = (g: Float64Array, n: number, scale: number, tol = 1e-12) => {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(g[i * n + j]! - (i === j ? scale : 0))).toBeLessThanOrEqual(tol);
};
/** QᵀQ = gain²·I (tall or square) or QQᵀ = gain²·I (wide). */
const expectOrthogonal = (q: Float64Array, rows: number, cols: number, gain = 1) =>
  rows >= cols
    ? expectScaledIdentity(tmul(q, q, rows, cols, cols), cols, gain * gain)
    : expectScaledIdentity(tmul(transpose(q, rows, cols), transpose(q, rows, cols), cols, rows, rows), rows, gain * gain);
const issues = (e: E.Either<readonly LoopgradIssue[], unknown>): readonly LoopgradIssue[] => (E.isLeft(e) ? e.left : []);
const paths = (e: E.Either<readonly LoopgradIssue[], unknown>): string[] => issues(e).map((i) => i.path.join('.'));

describe('orthogonal', () => {
  it('QᵀQ = I (tall, square) and QQᵀ = I (wide) to 1e-12, with gain² for a gain', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.nat(), fc.constantFrom(1, 0.5, 3), (rows, cols, seed, gain) => {
        expectOrthogonal(draw(orthogonal(gain), [rows, cols], mulberry32(seed)), rows, cols, gain);
      }),
      { numRuns: 200 },
    );
  });

  it("is the Q of the seed's Gaussian matrix with diag(R) > 0 (torch's Haar convention)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.nat(), (rows, cols, seed) => {
        // normal(1) and orthogonal draw the same Gaussians from the same stream, row-major.
        const a = draw(normal(1), [rows, cols], mulberry32(seed));
        const q = draw(orthogonal(), [rows, cols], mulberry32(seed));
        const [m, n, A, Q] = rows >= cols ? [rows, cols, a, q] : [cols, rows, transpose(a, rows, cols), transpose(q, rows, cols)];
        const r = tmul(Q, A, m, n, n); // R = QᵀA: upper triangular, positive diagonal
        for (let i = 0; i < n; i++) {
          expect(r[i * n + i]!).toBeGreaterThan(0);
          for (let j = 0; j < i; j++) expect(Math.abs(r[i * n + j]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(r[j * n + j]!)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('is seed-deterministic, and different seeds give different matrices', () => {
    const a = draw(orthogonal(), [6, 6], mulberry32(7));
    expect(draw(orthogonal(), [6, 6], mulberry32(7))).toEqual(a);
    expect(draw(orthogonal(), [6, 6], mulberry32(8))).not.toEqual(a);
    const u = graph(cells.lstm!);
    expect(initWith(u, 'glorotOrthogonal', { seed: 3 })).toEqual(initWith(u, 'glorotOrthogonal', { seed: 3 }));
    expect(initWith(u, 'glorotOrthogonal', { seed: 3 }).weight_hh).not.toEqual(initWith(u, 'glorotOrthogonal', { seed: 4 }).weight_hh);
  });

  it('applies per gate block of a stacked weight_hh (GRU: 3 blocks, LSTM: 4), and to the whole with perGate: false', () => {
    for (const [name, G] of [['gru', 3], ['lstm', 4]] as const) {
      const w = initWith(graph(cells[name]!), 'glorotOrthogonal', { seed: 11 }).weight_hh;
      for (let g = 0; g < G; g++) expectOrthogonal(block(w, H, g * H, H), H, H);
    }
    const whole = draw(orthogonal(1, { perGate: false }), [4 * H, H], mulberry32(1), { gates: 4 });
    expectOrthogonal(whole, 4 * H, H);
    expect(() => expectOrthogonal(block(whole, H, 0, H), H, H)).toThrow(); // a block of a stacked Q is no isometry
  });
});

describe('normal (Box–Muller from + − × ÷ only)', () => {
  it('agrees with Math.log / Math.cos / Math.sin Box–Muller to 1e-14', () => {
    const seed = 5, n = 2001;
    const z = draw(normal(1), [n], mulberry32(seed));
    const r = mulberry32(seed);
    for (let i = 0; i < n; i += 2) {
      const [u1, u2] = [r(), r()];
      const rad = Math.sqrt(-2 * Math.log(1 - u1));
      expect(Math.abs(z[i]! - rad * Math.cos(2 * Math.PI * u2))).toBeLessThanOrEqual(1e-14 * Math.max(1, rad));
      if (i + 1 < n) expect(Math.abs(z[i + 1]! - rad * Math.sin(2 * Math.PI * u2))).toBeLessThanOrEqual(1e-14 * Math.max(1, rad));
    }
  });

  it('is accurate at the ends of the uniform range (u = 0, 2⁻³², quadrant edges, 1 − 2⁻³²)', () => {
    const us = [0, 2 ** -32, 0.125, 0.25, 0.5, 0.75, 0.3, 0.999, 1 - 2 ** -32];
    for (const u1 of us) for (const u2 of us) {
      const seq = [u1, u2];
      const z = draw(normal(1), [2], () => seq.shift()!);
      const rad = Math.sqrt(-2 * Math.log(1 - u1));
      expect(Math.abs(z[0]! - rad * Math.cos(2 * Math.PI * u2))).toBeLessThanOrEqual(1e-15 * Math.max(1, rad));
      expect(Math.abs(z[1]! - rad * Math.sin(2 * Math.PI * u2))).toBeLessThanOrEqual(1e-15 * Math.max(1, rad));
    }
  });

  it('pins its numbers (+ − × ÷ and √ only, so every engine must print these)', () => {
    expect(Array.from(draw(normal(1), [4], mulberry32(42)))).toEqual([-1.2848381576290195, 0.4327802678755897, -0.9453528099747294, -1.7128042818055647]);
    expect(Array.from(draw(orthogonal(), [2, 2], mulberry32(42)))).toEqual([-0.8054658105950812, 0.592642242809613, -0.5926422428096131, -0.8054658105950814]);
  });

  it('has mean ≈ 0 and variance ≈ std² on a large draw', () => {
    const z = draw(normal(2), [100_000], mulberry32(9));
    const mean = z.reduce((s, x) => s + x, 0) / z.length;
    const variance = z.reduce((s, x) => s + (x - mean) ** 2, 0) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(variance / 4).toBeCloseTo(1, 1);
  });
});

describe('glorotUniform', () => {
  it('stays in (−a, a), a = gain·√(6/(fan_in + fan_out)), with variance ≈ a²/3', () => {
    const [rows, cols, gain] = [300, 400, 1.5];
    const a = gain * Math.sqrt(6 / (rows + cols));
    const w = draw(glorotUniform(gain), [rows, cols], mulberry32(2));
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(a);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.999 * a);
    const variance = w.reduce((s, x) => s + x * x, 0) / w.length;
    expect(Math.abs(variance / (a * a / 3) - 1)).toBeLessThan(0.02);
  });

  it('on a stacked weight_ih uses fan_out = H per gate block, fan_out = G·H with perGate: false', () => {
    const blockBound = Math.sqrt(6 / (I + H)), wholeBound = Math.sqrt(6 / (I + 4 * H));
    const w = draw(glorotUniform(), [4 * H * 50, I], mulberry32(4), { gates: 4 }); // blocks of 50·H rows
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (I + 50 * H)));
    const lstm = initWith(graph(cells.lstm!), 'glorotOrthogonal', { seed: 1 }).weight_ih;
    expect(Math.max(...lstm.map(Math.abs))).toBeLessThanOrEqual(blockBound);
    expect(Math.max(...lstm.map(Math.abs))).toBeGreaterThan(wholeBound); // 48 draws: the larger bound is used
    const whole = draw(glorotUniform(1, { perGate: false }), [4 * H, I], mulberry32(1), { gates: 4 });
    expect(Math.max(...whole.map(Math.abs))).toBeLessThanOrEqual(wholeBound);
  });
});

describe('identity, constant', () => {
  it('identity is exact: gain·I, each gate block of a stacked weight, eye for rectangles', () => {
    expect(Array.from(draw(identity(0.5), [3, 3], mulberry32(0)))).toEqual([0.5, 0, 0, 0, 0.5, 0, 0, 0, 0.5]);
    expect(Array.from(draw(identity(), [2, 3], mulberry32(0)))).toEqual([1, 0, 0, 0, 1, 0]);
    const stacked = draw(identity(), [3 * H, H], mulberry32(0), { gates: 3 });
    for (let g = 0; g < 3; g++) expectScaledIdentity(block(stacked, H, g * H, H), H, 1, 0);
    expect(Array.from(draw(constant(-2), [4], mulberry32(0)))).toEqual([-2, -2, -2, -2]);
  });

  it("irnn on the relu cell: weight_hh = I exactly, cell biases 0, weight_ih PyTorch's default", () => {
    const p = initWith(graph(cells.vanilla_relu!), 'irnn', { seed: 2 });
    expectScaledIdentity(p.weight_hh, H, 1, 0);
    for (const b of [p.bias_ih, p.bias_hh]) expect(Array.from(b)).toEqual(new Array(b.length).fill(0));
    expect(Math.max(...p.weight_ih.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(H));
    expect(Math.max(...p.weight_ih.map(Math.abs))).toBeGreaterThan(0.5 / Math.sqrt(H));
    // the paper's recipe, spelt out
    const paper = initWith(graph(cells.vanilla_relu!), { rules: [{ match: 'weight_ih', init: normal(0.001) }, ...schemes.irnn.rules] }, { seed: 2 });
    expect(Math.max(...paper.weight_ih.map(Math.abs))).toBeLessThan(0.006);
    expectScaledIdentity(paper.weight_hh, H, 1, 0);
  });
});

describe('forgetBias', () => {
  it('lands exactly in the f block (rows H…2H−1, gates i, f, g, o) and nowhere else', () => {
    const u = graph(cells.lstm!);
    for (const scheme of presets) {
      const plain = initWith(u, scheme, { seed: 6 });
      const withF = initWith(u, scheme, { seed: 6, forgetBias: 1 });
      for (const { name } of u.params) {
        const [a, b] = [plain[name], withF[name]];
        for (let k = 0; k < a.length; k++) {
          const inF = (name === 'bias_ih' || name === 'bias_hh') && k >= H && k < 2 * H;
          if (!inF) expect(b[k]).toBe(a[k]);
          else expect(b[k]).toBe(name === 'bias_ih' ? 1 : 0);
        }
      }
      for (let k = H; k < 2 * H; k++) expect(withF.bias_ih[k]! + withF.bias_hh[k]!).toBe(1);
    }
  });

  it('reaches every untied copy', () => {
    const u = unroll(cells.lstm!, { steps: 2, untied: true });
    const p = initWith(u, 'pytorch', { seed: 1, forgetBias: 2 }) as Record<string, Float64Array>;
    for (const t of [0, 1]) expect(Array.from(p[`bias_ih@${t}`]!.subarray(H, 2 * H))).toEqual([2, 2, 2, 2]);
  });
});

describe('schemes', () => {
  it('every preset covers every param of vanilla, GRU and LSTM graphs (tied, untied, without readout)', () => {
    for (const c of Object.values(cells)) {
      for (const u of [graph(c), unroll(c, { steps: 3, untied: true }), unroll(c, { steps: 1 })]) {
        for (const scheme of presets) {
          const p = initWith(u, scheme, { seed: 1 }) as Record<string, Float64Array>;
          expect(Object.keys(p).sort()).toEqual(u.params.map((q) => q.name).sort());
          for (const q of u.params) {
            expect(p[q.name]!.length).toBe(q.shape.reduce((x, y) => x * y, 1));
            expect(p[q.name]!.every(Number.isFinite)).toBe(true);
          }
        }
      }
    }
  });

  it('pytorch reproduces init(u, { seed }) exactly', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(cells)), fc.nat(), fc.boolean(), (name, seed, untied) => {
        const u = unroll(cells[name]!, { steps: 2, readout: { output: 3 }, untied });
        expect(initWith(u, 'pytorch', { seed })).toEqual(init(u, { seed }));
      }),
      { numRuns: 40 },
    );
    const u = graph(cells.gru!);
    expect(initWith(u, 'pytorch')).toEqual(init(u));
  });

  it('a custom cell falls back to the pytorch default for params a scheme does not match', () => {
    const u = unroll(getOrThrow(mgu.instantiate({ input: 2, hidden: 5 })), { steps: 2 });
    for (const scheme of presets) expect(initWith(u, scheme, { seed: 4 })).toEqual(init(u, { seed: 4 }));
  });

  it('params by name win over rules; rules match globs, first match first; the draw stream stays in param order', () => {
    const u = graph(cells.lstm!);
    const s: Scheme = { params: { bias_hh: constant(3) }, rules: [{ match: 'bias_*', init: constant(2) }, { match: '*', init: uniform(0.1) }] };
    const p = initWith(u, s, { seed: 1 });
    expect(p.bias_hh.every((x) => x === 3)).toBe(true);
    expect(p.bias_ih.every((x) => x === 2)).toBe(true);
    expect(Math.max(...p['readout.weight'].map(Math.abs))).toBeLessThanOrEqual(0.1);
    const spread = initWith(u, { rules: [{ match: 'weight_hh', init: orthogonal(2) }, ...schemes.glorotOrthogonal.rules] }, { seed: 1 });
    for (let g = 0; g < 4; g++) expectOrthogonal(block(spread.weight_hh, H, g * H, H), H, H, 2);
  });
});

describe('errors name the field', () => {
  const u = graph(cells.lstm!);
  it('unknown preset, non-positive gain, a param the graph lacks, a bad seed', () => {
    expect(paths(initWithEither(u, 'kaiming' as PresetName))).toEqual(['initWith.scheme']);
    expect(paths(initWithEither(u, { rules: [{ match: 'weight_hh', init: orthogonal(0) }] }))).toEqual(['initWith.scheme.rules.0.init.gain']);
    expect(paths(initWithEither(u, { params: { weight_hx: identity(-1) } }))).toEqual(['initWith.scheme.params.weight_hx', 'initWith.scheme.params.weight_hx.gain']);
    expect(paths(initWithEither(u, 'pytorch', { seed: 0.5 }))).toEqual(['initWith.seed']);
    expect(paths(initWithEither(u, { params: { bias_ih: uniform(Number.NaN) } }))).toEqual(['initWith.scheme.params.bias_ih.range']);
    expect(paths(initWithEither(u, { rules: [{ match: 'x', init: { kind: 'he' } as never }] }))).toEqual(['initWith.scheme.rules.0.init.kind']);
    expect(paths(initWithEither(u, { rules: [{ match: 'x', init: null as never }] }))).toEqual(['initWith.scheme.rules.0.init.kind']);
    expect(paths(initWithEither(u, { rules: {} as never }))).toEqual(['initWith.scheme']);
    expect(paths(initWithEither(u, { rules: [null as never] }))).toEqual(['initWith.scheme.rules.0.match', 'initWith.scheme.rules.0.init.kind']);
  });

  it('a matrix initializer on a vector, forgetBias on a GRU or not finite', () => {
    const e = initWithEither(u, { rules: [{ match: 'bias_*', init: orthogonal() }] });
    expect(paths(e)).toEqual(['initWith.scheme.rules.0.init', 'initWith.scheme.rules.0.init']);
    expect(issues(e)[0]!.message).toBe('orthogonal needs a matrix, but bias_ih is [16]');
    expect(paths(initWithEither(graph(cells.gru!), 'glorotOrthogonal', { forgetBias: 1 }))).toEqual(['initWith.forgetBias']);
    expect(paths(initWithEither(u, 'glorotOrthogonal', { forgetBias: Number.POSITIVE_INFINITY }))).toEqual(['initWith.forgetBias']);
    expect(paths(drawEither(identity(), [3], mulberry32(0)))).toEqual(['draw']);
    expect(paths(drawEither(glorotUniform(), [6, 2], mulberry32(0), { gates: 4 }))).toEqual(['draw.gates']);
    expect(paths(drawEither({ kind: 'pytorch' }, [2], mulberry32(0)))).toEqual(['draw.fan']);
  });

  it('initWith throws a LoopgradError carrying the issues', () => {
    expect(() => initWith(u, 'kaiming' as PresetName)).toThrow(LoopgradError);
    expect(() => initWith(u, 'kaiming' as PresetName)).toThrow(/initWith › scheme: unknown preset 'kaiming'; expected one of pytorch, glorotOrthogonal, irnn/);
  });
});
