/** Seeded initialisation schemes: Glorot, orthogonal (Haar), identity (IRNN), per gate block, for every param of a graph. */
import * as E from 'fp-ts/Either';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import { layerHidden, pytorchFan } from './init';
import { mulberry32, uniformArray } from './random';
import { numel, showShape, type Shape } from './shape';
import type { Unrolled } from './unroll';

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * How to fill one parameter: plain data (JSON-serializable), interpreted by {@link draw}.
 * `perGate` (default true) applies a matrix initializer to each gate block of a stacked
 * `[G·H, C]` weight separately (see {@link initWith} for how G is found).
 * @since 0.1.0
 * @category model
 */
export type Initializer =
  | { readonly kind: 'pytorch' }
  | { readonly kind: 'uniform'; readonly range: number }
  | { readonly kind: 'normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number }
  | { readonly kind: 'glorotUniform' | 'orthogonal' | 'identity'; readonly gain?: number; readonly perGate?: boolean };

/** A rule of a {@link Scheme}: params whose name fits the glob `match` (`*` = any characters). @since 0.1.0 @category model */
export interface Rule {
  readonly match: string;
  readonly init: Initializer;
}

/**
 * Which initializer each param gets. A param's name (an untied copy `name@t` counts as `name`)
 * is looked up in `params` first, then in `rules` in order (the first match wins); a param
 * matched by neither gets the PyTorch default, so custom cells work with every scheme.
 * @since 0.1.0
 * @category model
 */
export interface Scheme {
  /** By exact name; naming a param the graph does not have is an error. */
  readonly params?: Readonly<Record<string, Initializer>>;
  /** By pattern; a rule matching nothing is allowed (one scheme serves graphs with or without readout). */
  readonly rules?: readonly Rule[];
}

/** Options of {@link initWith}. @since 0.1.0 @category model */
export interface InitWithOptions {
  /** Seed of the one uniform stream every param draws from, in `u.params` order (default 0). */
  readonly seed?: number;
  /**
   * LSTM only: the total forget-gate bias (Jozefowicz et al. 2015 recommend 1). The f block
   * (rows H…2H−1, gates i, f, g, o) of `bias_ih` is set to it and that of `bias_hh` to 0, after
   * drawing: every other number is the one the scheme alone gives.
   */
  readonly forgetBias?: number;
}

/** Where a param sits: the size the PyTorch default divides by, and how many gate blocks it stacks. @since 0.1.0 @category model */
export interface DrawContext {
  readonly fan?: number;
  readonly gates?: number;
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** PyTorch's default: uniform(−1/√fan, 1/√fan), fan = hidden size (readout: its input size). @since 0.1.0 @category constructors */
export const pytorchDefault: Initializer = { kind: 'pytorch' };
/** uniform(−range, range). @since 0.1.0 @category constructors */
export const uniform = (range: number): Initializer => ({ kind: 'uniform', range });
/** Gaussian N(0, std²) (Box–Muller from the seeded uniform stream). @since 0.1.0 @category constructors */
export const normal = (std: number): Initializer => ({ kind: 'normal', std });
/** Every entry c. @since 0.1.0 @category constructors */
export const constant = (value: number): Initializer => ({ kind: 'constant', value });
/** Every entry 0. @since 0.1.0 @category constructors */
export const zeros: Initializer = constant(0);
/**
 * Glorot/Xavier uniform: U(−a, a), a = gain·√(6/(fan_in + fan_out)), fan_in = cols, fan_out =
 * rows (of the gate block when `perGate`), as `torch.nn.init.xavier_uniform_`.
 * @since 0.1.0
 * @category constructors
 */
export const glorotUniform = (gain = 1, { perGate = true }: { readonly perGate?: boolean } = {}): Initializer =>
  ({ kind: 'glorotUniform', gain, perGate });
/**
 * gain·Q, Q with orthonormal columns (rows ≥ cols) or rows (rows < cols), Haar-distributed: as
 * `torch.nn.init.orthogonal_`, the Q of a Gaussian matrix's QR with diag(R) made positive.
 * @since 0.1.0
 * @category constructors
 */
export const orthogonal = (gain = 1, { perGate = true }: { readonly perGate?: boolean } = {}): Initializer =>
  ({ kind: 'orthogonal', gain, perGate });
/** gain·I (rectangular: ones on the main diagonal, as `torch.nn.init.eye_`); IRNN's W_hh. @since 0.1.0 @category constructors */
export const identity = (gain = 1, { perGate = true }: { readonly perGate?: boolean } = {}): Initializer =>
  ({ kind: 'identity', gain, perGate });

// ---------------------------------------------------------------------------------------------
// numerics: deterministic Gaussians and Householder QR
// ---------------------------------------------------------------------------------------------

// ECMAScript lets Math.log/cos/sin differ in the last bit between engines; these use only
// + − × ÷ (correctly rounded everywhere), so a seed gives the same Gaussians on every platform.
const LN2_HI = 6.93147180369123816490e-1; // ln 2 split so that e·LN2_HI is exact
const LN2_LO = 1.90821492927058770002e-10;

/** ln v for v in (0, 1]: v = m·2^e, m ∈ [√½, √2), ln m = 2 atanh s, s = (m−1)/(m+1), |s| < 0.172. */
const lnUnit = (v: number): number => {
  let m = v;
  let e = 0;
  while (m < Math.SQRT1_2) {
    m *= 2;
    e -= 1;
  }
  const s = (m - 1) / (m + 1);
  const s2 = s * s;
  let p = 1 / 29;
  for (let k = 27; k >= 1; k -= 2) p = p * s2 + 1 / k; // Σ s^{2j}/(2j+1), error < s2^15
  return 2 * s * p + e * LN2_LO + e * LN2_HI;
};

/** [cos 2πu, sin 2πu] for u in [0, 1): exact quadrant reduction, then Taylor series on [0, π/2). */
const cosSinTurn = (u: number): [number, number] => {
  const q = Math.floor(4 * u);
  const t = 2 * Math.PI * (u - q / 4);
  const t2 = t * t;
  let c = 1;
  let s = 1;
  for (let k = 12; k >= 1; k--) {
    c = 1 - (t2 * c) / ((2 * k - 1) * (2 * k)); // cos t = 1 − t²/2 (1 − t²/12 (1 − …))
    s = 1 - (t2 * s) / ((2 * k) * (2 * k + 1)); // sin t = t (1 − t²/6 (1 − t²/20 (1 − …)))
  }
  s *= t;
  return q === 0 ? [c, s] : q === 1 ? [-s, c] : q === 2 ? [-c, -s] : [s, -c];
};

/** n Gaussians N(0, std²), Box–Muller, both numbers of each pair used. */
const normalArray = (rand: () => number, n: number, std: number): Float64Array => {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = std * Math.sqrt(-2 * lnUnit(1 - rand())); // 1 − u ∈ (0, 1]: no log 0
    const [c, s] = cosSinTurn(rand());
    out[i] = r * c;
    if (i + 1 < n) out[i + 1] = r * s;
  }
  return out;
};

/**
 * Q of A = QR (A m×n row-major, m ≥ n) with diag(R) > 0, by Householder reflections: the
 * unique such Q, which for Gaussian A is Haar-distributed (torch's `q * sign(diag r)`).
 */
const orthonormalColumns = (a: Float64Array, m: number, n: number): Float64Array => {
  const vs: Float64Array[] = [];
  const signs = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let scale = 0;
    for (let i = k; i < m; i++) scale = Math.max(scale, Math.abs(a[i * n + k]!));
    const v = new Float64Array(m - k);
    vs.push(v);
    signs[k] = 1;
    if (scale === 0) continue; // column already zero: H_k = I (probability 0 for Gaussian A)
    let ss = 0;
    for (let i = k; i < m; i++) ss += (a[i * n + k]! / scale) ** 2;
    const x0 = a[k * n + k]!;
    const alpha = (x0 >= 0 ? -1 : 1) * scale * Math.sqrt(ss); // R_kk; sign opposite x0: no cancellation in v
    for (let i = k; i < m; i++) v[i - k] = a[i * n + k]!;
    v[0] = x0 - alpha;
    signs[k] = alpha < 0 ? -1 : 1;
    reflect(v, a, k, m, n, k + 1);
  }
  const q = new Float64Array(m * n);
  for (let i = 0; i < n; i++) q[i * n + i] = 1;
  for (let k = n - 1; k >= 0; k--) reflect(vs[k]!, q, k, m, n, k); // Q = H_0 ⋯ H_{n−1} [I; 0]
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) q[i * n + j]! *= signs[j]!;
  return q;
};

/** Applies H = I − 2vvᵀ/(vᵀv) to rows k… of columns from… of the m×n matrix x. */
const reflect = (v: Float64Array, x: Float64Array, k: number, m: number, n: number, from: number): void => {
  let vv = 0;
  for (const vi of v) vv += vi * vi;
  if (vv === 0) return;
  for (let j = from; j < n; j++) {
    let w = 0;
    for (let i = k; i < m; i++) w += v[i - k]! * x[i * n + j]!;
    const f = (2 * w) / vv;
    for (let i = k; i < m; i++) x[i * n + j]! -= f * v[i - k]!;
  }
};

/** One [rows, cols] block: torch's orthogonal_ (a wide block is the transpose of a tall one). */
const orthogonalBlock = (rand: () => number, rows: number, cols: number, gain: number): Float64Array => {
  const g = normalArray(rand, rows * cols, 1);
  if (rows >= cols) return orthonormalColumns(g, rows, cols).map((x) => gain * x);
  const t = new Float64Array(rows * cols); // gᵀ, [cols, rows]
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = g[i * cols + j]!;
  const q = orthonormalColumns(t, cols, rows);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = gain * q[j * rows + i]!;
  return out;
};

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;
const matrixKinds: readonly string[] = ['glorotUniform', 'orthogonal', 'identity'];

/** Field problems of an initializer, each naming its field under `path`. */
const checkInit = (init: Initializer, path: readonly string[]): LoopgradIssue[] => {
  const bad = (field: string, value: unknown, expected: string) =>
    [issue('OptionError', [...path, field], `${field} is ${String(value)}; expected ${expected}`)];
  if (typeof init !== 'object' || init === null) return bad('kind', init, 'an initializer such as orthogonal() or zeros');
  const i = init as { kind?: unknown; gain?: unknown; perGate?: unknown; range?: unknown; std?: unknown; value?: unknown };
  switch (i.kind) {
    case 'pytorch':
      return [];
    case 'uniform':
      return positive(i.range) ? [] : bad('range', i.range, 'a positive number (constant(0) for zeros)');
    case 'normal':
      return positive(i.std) ? [] : bad('std', i.std, 'a positive number');
    case 'constant':
      return typeof i.value === 'number' && Number.isFinite(i.value) ? [] : bad('value', i.value, 'a finite number');
    case 'glorotUniform':
    case 'orthogonal':
    case 'identity':
      return [
        ...(i.gain === undefined || positive(i.gain) ? [] : bad('gain', i.gain, 'a positive number')),
        ...(i.perGate === undefined || typeof i.perGate === 'boolean' ? [] : bad('perGate', i.perGate, 'a boolean')),
      ];
    default:
      return bad('kind', i.kind, 'pytorch, uniform, normal, constant, glorotUniform, orthogonal or identity');
  }
};

/** Problems of drawing `init` for `shape` in `ctx`: a matrix initializer on a vector, gates not dividing rows, no fan. */
const checkFit = (init: Initializer, shape: Shape, ctx: DrawContext, what: string, path: readonly string[]): LoopgradIssue[] => {
  if (matrixKinds.includes(init.kind) && shape.length !== 2) {
    return [issue('OptionError', path, `${init.kind} needs a matrix, but ${what} is ${showShape(shape)}`)];
  }
  const gates = ctx.gates ?? 1;
  if (!Number.isSafeInteger(gates) || gates < 1 || (shape.length === 2 && shape[0]! % gates !== 0)) {
    return [issue('OptionError', [...path, 'gates'], `gates is ${gates}; expected a positive integer dividing ${what}'s ${shape[0]} rows`)];
  }
  if (init.kind === 'pytorch' && !positive(ctx.fan)) {
    return [issue('OptionError', [...path, 'fan'], `the pytorch initializer needs fan (a positive number); it is ${String(ctx.fan)}`)];
  }
  return [];
};

/** Draws a checked initializer: matrix kinds block by block (block g is rows g·rows/G …), in row-major order. */
const drawChecked = (init: Initializer, shape: Shape, rand: () => number, ctx: DrawContext): Float64Array => {
  const n = numel(shape);
  switch (init.kind) {
    case 'pytorch': {
      const k = 1 / Math.sqrt(ctx.fan!); // exactly init()'s expression, so the pytorch scheme reproduces it
      return uniformArray(rand, n, -k, k);
    }
    case 'uniform':
      return uniformArray(rand, n, -init.range, init.range);
    case 'normal':
      return normalArray(rand, n, init.std);
    case 'constant':
      return new Float64Array(n).fill(init.value);
    default: {
      const gain = init.gain ?? 1;
      const G = init.perGate === false ? 1 : ctx.gates ?? 1;
      const [rows, cols] = [shape[0]! / G, shape[1]!];
      const out = new Float64Array(n);
      for (let g = 0; g < G; g++) {
        let block: Float64Array;
        if (init.kind === 'orthogonal') block = orthogonalBlock(rand, rows, cols, gain);
        else if (init.kind === 'identity') {
          block = new Float64Array(rows * cols);
          for (let i = 0; i < Math.min(rows, cols); i++) block[i * cols + i] = gain;
        } else {
          const a = gain * Math.sqrt(6 / (cols + rows));
          block = uniformArray(rand, rows * cols, -a, a);
        }
        out.set(block, g * rows * cols);
      }
      return out;
    }
  }
};

// ---------------------------------------------------------------------------------------------
// destructors
// ---------------------------------------------------------------------------------------------

/**
 * One array of `shape` ([rows, cols] or [n]) from `init`, drawing from `rand` (for example
 * `mulberry32(seed)`), or the issues naming the bad field. `ctx.gates` stacks G blocks row-wise
 * (default 1); `ctx.fan` is needed by the pytorch initializer only.
 * @since 0.1.0
 * @category destructors
 */
export const drawEither = (
  init: Initializer,
  shape: Shape,
  rand: () => number,
  ctx: DrawContext = {},
): E.Either<readonly LoopgradIssue[], Float64Array> => {
  const bad = checkInit(init, ['draw', 'init']);
  if (bad.length > 0) return E.left(bad);
  const misfit = checkFit(init, shape, ctx, 'the shape', ['draw']);
  return misfit.length > 0 ? E.left(misfit) : E.right(drawChecked(init, shape, rand, ctx));
};

/** {@link drawEither}, throwing a `LoopgradError`. @since 0.1.0 @category destructors */
export const draw = (init: Initializer, shape: Shape, rand: () => number, ctx: DrawContext = {}): Float64Array =>
  getOrThrow(drawEither(init, shape, rand, ctx));

// ---------------------------------------------------------------------------------------------
// schemes
// ---------------------------------------------------------------------------------------------

/**
 * Named schemes (plain data; spread one into your own to change a param):
 * - `pytorch`: what `init(u, { seed })` does, number for number.
 * - `glorotOrthogonal`: Keras's recurrent defaults (glorot_uniform kernel, orthogonal recurrent
 *   kernel, zero biases; readout Glorot, zero bias), applied per gate block (Flax's per-gate
 *   cells do the same). Keras itself treats the stacked kernel as one matrix, i.e. fan_out = G·H
 *   and orthonormal columns of the whole [G·H, H] weight: `glorotUniform(1, { perGate: false })`,
 *   `orthogonal(1, { perGate: false })`. Per block, every gate starts with the same scale and
 *   each W_hh block is an isometry.
 * - `irnn`: Le, Jaitly & Hinton 2015, for `builtin.vanilla({ nonlinearity: 'relu', … })`:
 *   W_hh = I and biases 0, as in the paper; W_ih and the readout keep PyTorch's defaults. The
 *   paper's W_ih ~ N(0, 0.001²) (also Keras's mnist_irnn) barely lets the inputs in at first:
 *   on the adding problem at T = 100 (Adam lr 1e-3, batch 32, H = 32) it left the loss at 0.066
 *   after 6,000 steps (baseline 0.083), where PyTorch's W_ih reached 0.003 by step 1,700. For
 *   the paper's exact recipe: `{ rules: [{ match: 'weight_ih', init: normal(0.001) }, ...schemes.irnn.rules] }`.
 * @since 0.1.0
 * @category constructors
 */
export const schemes = {
  pytorch: { rules: [{ match: '*', init: pytorchDefault }] },
  glorotOrthogonal: {
    rules: [
      { match: 'weight_ih', init: glorotUniform() },
      { match: 'weight_hh', init: orthogonal() },
      { match: 'bias_ih', init: zeros },
      { match: 'bias_hh', init: zeros },
      { match: 'readout.weight', init: glorotUniform() },
      { match: 'readout.bias', init: zeros },
    ],
  },
  irnn: {
    rules: [
      { match: 'weight_hh', init: identity() },
      { match: 'bias_ih', init: zeros },
      { match: 'bias_hh', init: zeros },
    ],
  },
} as const satisfies Record<string, Scheme>;

/** Names of the {@link schemes}. @since 0.1.0 @category model */
export type PresetName = keyof typeof schemes;

const baseName = (name: string): string => name.replace(/@\d+$/, '');
const globFits = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(name);

/**
 * Fresh parameters for every param of `u` by `scheme` (a {@link Scheme} or a preset name), from
 * one seeded uniform stream in `u.params` order: same seed, same numbers, on every platform.
 * A cell param stacks G = rows/H gate blocks when the cell has a `hidden` size H dividing its
 * rows (built-in cells: 1, 3 for GRU r,z,n, 4 for LSTM i,f,g,o); matrix initializers then fill
 * each [H, cols] block on its own (unless `perGate: false`). Params of custom cells that the
 * scheme does not match get PyTorch's default (see `init`). Bad input (an unknown preset, a
 * non-positive gain, a param name the graph lacks, `forgetBias` on a cell that is not an LSTM)
 * gives OptionError issues naming the field.
 *
 * ```ts
 * const u = unroll(builtin.lstm({ input: 3, hidden: 32 }), { steps: 50, readout: { output: 2 } });
 * const params = initWith(u, 'glorotOrthogonal', { seed: 1, forgetBias: 1 });
 * const mine = initWith(u, { rules: [{ match: 'weight_hh', init: orthogonal(0.9) }, ...schemes.glorotOrthogonal.rules] });
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const initWithEither = <PN extends string>(
  u: Unrolled<PN, string>,
  scheme: Scheme | PresetName,
  options: InitWithOptions = {},
): E.Either<readonly LoopgradIssue[], { [K in PN]: Float64Array }> => {
  const at = (...p: string[]) => ['initWith', ...p];
  const bad: LoopgradIssue[] = [];
  let s: Scheme;
  if (typeof scheme === 'string') {
    if (!Object.hasOwn(schemes, scheme)) {
      return E.left([issue('OptionError', at('scheme'), `unknown preset '${scheme}'; expected one of ${Object.keys(schemes).join(', ')}`)]);
    }
    s = schemes[scheme];
  } else s = scheme;
  if (typeof s !== 'object' || s === null || (s.rules !== undefined && !Array.isArray(s.rules)) || (s.params !== undefined && (typeof s.params !== 'object' || s.params === null))) {
    return E.left([issue('OptionError', at('scheme'), 'expected a preset name or { params?: { name: initializer }, rules?: [{ match, init }] }')]);
  }
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) {
    bad.push(issue('OptionError', at('seed'), `seed is ${String(options.seed)}; expected an integer`));
  }
  const names = [...new Set(u.params.map((p) => baseName(p.name)))];
  for (const [name, init] of Object.entries(s.params ?? {})) {
    if (!names.includes(name)) {
      bad.push(issue('OptionError', at('scheme', 'params', name), `the graph has no param '${name}'; it has ${names.join(', ')}`));
    }
    bad.push(...checkInit(init, at('scheme', 'params', name)));
  }
  (s.rules ?? []).forEach((rule, k) => {
    const r = (rule ?? {}) as Partial<Rule>; // JSON may hold anything
    if (typeof r.match !== 'string' || r.match === '') {
      bad.push(issue('OptionError', at('scheme', 'rules', String(k), 'match'), `match is ${String(r.match)}; expected a name or a glob such as 'bias_*'`));
    }
    bad.push(...checkInit(r.init as Initializer, at('scheme', 'rules', String(k), 'init')));
  });
  const H = u.cell.sizes['hidden'];
  const fb = options.forgetBias;
  const isLstm = u.cell.name === 'lstm' && H !== undefined &&
    u.params.filter((p) => /^bias_(ih|hh)(@\d+)?$/.test(p.name)).every((p) => p.shape.length === 1 && p.shape[0] === 4 * H);
  if (fb !== undefined && !(typeof fb === 'number' && Number.isFinite(fb))) {
    bad.push(issue('OptionError', at('forgetBias'), `forgetBias is ${String(fb)}; expected a finite number`));
  } else if (fb !== undefined && !isLstm) {
    bad.push(issue('OptionError', at('forgetBias'), `forgetBias applies to the LSTM (gates i, f, g, o); this cell is ${u.cell.name}`));
  }
  if (bad.length > 0) return E.left(bad);

  // Resolve every param before drawing, so a misfit is reported before any number is made.
  const plan = u.params.map((p) => {
    const name = baseName(p.name);
    const readout = name.startsWith('readout.');
    const ruleAt = (s.rules ?? []).findIndex((r) => globFits(r.match, name));
    const [init, path] = s.params?.[name] !== undefined
      ? [s.params[name], at('scheme', 'params', name)]
      : ruleAt >= 0 ? [s.rules![ruleAt]!.init, at('scheme', 'rules', String(ruleAt), 'init')] : [pytorchDefault, at('scheme')];
    const rows = p.shape[0] ?? 1;
    const h = layerHidden(u.cell.sizes, name);
    const gates = !readout && p.shape.length === 2 && h !== undefined && rows % h === 0 ? rows / h : 1;
    const ctx = { fan: pytorchFan(u, p.name), gates };
    bad.push(...checkFit(init, p.shape, ctx, p.name, path));
    return { p, init, ctx };
  });
  if (bad.length > 0) return E.left(bad);
  const rand = mulberry32(options.seed ?? 0);
  const out: Record<string, Float64Array> = {};
  for (const { p, init, ctx } of plan) out[p.name] = drawChecked(init, p.shape, rand, ctx);
  if (fb !== undefined && H !== undefined) {
    for (const p of u.params) {
      const name = baseName(p.name);
      if (name === 'bias_ih' || name === 'bias_hh') out[p.name]!.fill(name === 'bias_ih' ? fb : 0, H, 2 * H);
    }
  }
  return E.right(out as { [K in PN]: Float64Array });
};

/** {@link initWithEither}, throwing a `LoopgradError` on bad input. @since 0.1.0 @category constructors */
export const initWith = <PN extends string>(
  u: Unrolled<PN, string>,
  scheme: Scheme | PresetName,
  options: InitWithOptions = {},
): { [K in PN]: Float64Array } => getOrThrow(initWithEither(u, scheme, options));
