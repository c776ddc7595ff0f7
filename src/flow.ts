/**
 * Gradient-flow diagnostics: whether ‖∂E/∂h_t‖ vanishes or explodes back in time; gate saturation.
 *
 * ```ts
 * const r = plan.valueAndGrad(params, batch);
 * console.log(formatFlow(summarizeFlow(r.flow.h), 'lstm', '‖∂E_T/∂h_t‖'));
 * // lstm: ‖∂E_T/∂h_t‖ from 3.1e-2 at t=T−1 to 8.0e-3 at t=0: ×0.26 over 99 steps (ρ = 0.986 per step): stable
 * ```
 *
 * **The fit.** With g_t the norm at step t = 0 … T−1 and k = T−1−t the number of steps back
 * from the last, loopgrad fits ln g_t = a + k ln ρ by least squares over the entries that are
 * finite and > 0. ρ is the per-step factor going back in time: ρ < 1 means the gradient shrinks
 * as it travels back (a geometric sequence g_t = c·r^(T−1−t) gives ρ = r exactly, up to
 * rounding). ρ^(T−1) is the fitted change across the whole sequence, from t = T−1 to t = 0.
 * The fit uses every step, so one accidental small or large norm at either end does not decide
 * the verdict; the raw end-to-end ratio g_0 / g_{T−1} is reported beside it.
 *
 * **The verdict**, in this order:
 * - `non-finite`: some norm is NaN or ±∞ (the other numbers are then over the finite entries);
 * - `zero`: every norm is exactly 0 (no gradient reached any step: a zero loss or readout);
 * - `vanishing`: g_0 is exactly 0 while a later norm is not (a ReLU cell whose units died, or
 *   float underflow: the gradient of later steps never reaches the start), or the fitted change
 *   ρ^(T−1) is below `vanishing` (default 1e-3);
 * - `exploding`: ρ^(T−1) is above `exploding` (default 1e3);
 * - `stable` otherwise, including T ≤ 1 and fewer than two positive norms (nothing to fit).
 *
 * Why 1e-3 across the sequence rather than a per-step bound: what matters is whether the start
 * of *this* sequence still gets a usable signal from its end. At three decades down, the
 * long-range part of the gradient is under 0.1% of the short-range part that sits beside it in
 * a shared weight's gradient, and is lost in it (and near float32's resolution of the sum after
 * a few thousand steps); three decades up, a single update moves the weights by a thousand
 * times more than the short-range terms ask, which is what clipping is for. The thresholds are
 * options; they are symmetric so that reversing a curve swaps `vanishing` and `exploding`.
 */
import * as E from 'fp-ts/Either';
import { getOrThrow, issue, type LoopgradIssue } from './errors';

/** What a gradient-flow curve shows. @since 0.1.0 @category model */
export type FlowVerdict = 'vanishing' | 'exploding' | 'stable' | 'zero' | 'non-finite';

/**
 * A summary of g_t = ‖∂E/∂h_t‖ (or ‖∂E_T/∂h_t‖) for t = 0 … T−1. A number that cannot be
 * given (no fit, a division by zero, a non-finite entry, a value beyond a double) is `null`,
 * never NaN or ±∞.
 * @since 0.1.0
 * @category model
 */
export interface FlowSummary {
  /** T, the number of norms. */
  readonly steps: number;
  /** g_0, or null if non-finite or T = 0. */
  readonly first: number | null;
  /** g_{T−1}, or null if non-finite or T = 0. */
  readonly last: number | null;
  /** g_0 / g_{T−1}: the raw end-to-end change going back; null if g_{T−1} is 0 or either is non-finite. */
  readonly ratio: number | null;
  /** The fitted per-step factor going back in time (ρ < 1: shrinking); null with fewer than two positive norms. */
  readonly rho: number | null;
  /** log₁₀ ρ^(T−1), the fitted change from t = T−1 to t = 0 in decades (what the verdict judges). */
  readonly log10Change: number | null;
  /** Steps back over which the fitted gradient falls by 10× (ln 10 / −ln ρ); null unless ρ < 1. */
  readonly stepsPer10x: number | null;
  /** How many norms the fit used (finite and > 0). */
  readonly fitted: number;
  /** Norms exactly 0; they are not in the fit. */
  readonly zeros: number;
  /** Norms exactly 0 at t = 0, 1, … before the first nonzero one. */
  readonly leadingZeros: number;
  /** NaN or ±∞ norms. */
  readonly nonFinite: number;
  /** The largest t with a non-finite norm: where the backward pass, running from T−1 to 0, first met one. */
  readonly latestNonFinite: number | null;
  readonly verdict: FlowVerdict;
}

/** Options of {@link summarizeFlow}: thresholds on the fitted change ρ^(T−1). @since 0.1.0 @category model */
export interface FlowOptions {
  /** Below this the verdict is `vanishing`; in (0, 1), default 1e-3. */
  readonly vanishing?: number;
  /** Above this the verdict is `exploding`; in (1, ∞), default 1e3. */
  readonly exploding?: number;
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * Summarizes a gradient-flow curve; thresholds outside their ranges are an `OptionError`, a
 * negative norm an `InputError`.
 * @since 0.1.0
 * @category destructors
 */
export const summarizeFlowEither = (
  norms: ArrayLike<number>,
  options: FlowOptions = {},
): E.Either<readonly LoopgradIssue[], FlowSummary> => {
  const vanishing = options.vanishing ?? 1e-3, exploding = options.exploding ?? 1e3;
  const issues: LoopgradIssue[] = [
    ...(vanishing > 0 && vanishing < 1 ? [] : [issue('OptionError', ['summarizeFlow', 'vanishing'], `vanishing is ${vanishing} but must be in (0, 1)`)]),
    ...(exploding > 1 && exploding < Infinity ? [] : [issue('OptionError', ['summarizeFlow', 'exploding'], `exploding is ${exploding} but must be in (1, ∞)`)]),
  ];
  for (let t = 0; t < norms.length && issues.length < 3; t++) {
    if (Number.isFinite(norms[t]!) && norms[t]! < 0) issues.push(issue('InputError', ['summarizeFlow', `norms[${t}]`], `norms[${t}] is ${norms[t]} but a norm is ≥ 0`));
  }
  if (issues.length > 0) return E.left(issues);

  const T = norms.length;
  let zeros = 0, leadingZeros = 0, nonFinite = 0, latestNonFinite: number | null = null, leading = true;
  const ks: number[] = [], ys: number[] = [];
  for (let t = 0; t < T; t++) {
    const g = norms[t]!;
    if (!Number.isFinite(g)) {
      nonFinite++;
      latestNonFinite = t;
    } else if (g === 0) zeros++;
    else {
      ks.push(T - 1 - t);
      ys.push(Math.log(g));
    }
    if (leading && g === 0) leadingZeros++;
    else leading = false;
  }

  // least squares of ln g on k, centred (two passes) for accuracy
  let slope: number | null = null;
  if (ks.length >= 2) {
    const kMean = ks.reduce((s, k) => s + k, 0) / ks.length, yMean = ys.reduce((s, y) => s + y, 0) / ys.length;
    let sky = 0, skk = 0;
    for (let i = 0; i < ks.length; i++) {
      sky += (ks[i]! - kMean) * (ys[i]! - yMean);
      skk += (ks[i]! - kMean) ** 2;
    }
    slope = sky / skk;
  }
  const lnChange = slope === null ? null : slope * (T - 1);

  const at = (t: number): number | null => (T === 0 ? null : finiteOrNull(norms[t]!));
  const first = at(0), last = at(T - 1);
  const verdict: FlowVerdict =
    nonFinite > 0 ? 'non-finite'
    : T > 0 && zeros === T ? 'zero'
    : T > 1 && leadingZeros > 0 ? 'vanishing'
    : lnChange === null ? 'stable'
    : lnChange < Math.log(vanishing) ? 'vanishing'
    : lnChange > Math.log(exploding) ? 'exploding'
    : 'stable';
  return E.right({
    steps: T,
    first,
    last,
    ratio: first === null || last === null || last === 0 ? null : finiteOrNull(first / last),
    rho: slope === null ? null : finiteOrNull(Math.exp(slope)),
    log10Change: lnChange === null ? null : lnChange / Math.LN10,
    stepsPer10x: slope !== null && slope < 0 ? finiteOrNull(Math.LN10 / -slope) : null,
    fitted: ks.length,
    zeros,
    leadingZeros,
    nonFinite,
    latestNonFinite,
    verdict,
  });
};

/**
 * Summarizes a gradient-flow curve: norms[t] = ‖∂E/∂h_t‖ (or ‖∂E_T/∂h_t‖), t = 0 … T−1, as
 * `GradResult.flow.h` holds it. Throws a `LoopgradError` on thresholds outside their ranges or a negative norm.
 * @since 0.1.0
 * @category destructors
 */
export const summarizeFlow = (norms: ArrayLike<number>, options: FlowOptions = {}): FlowSummary =>
  getOrThrow(summarizeFlowEither(norms, options));

// ---------------------------------------------------------------------------------------------
// text

/** `3.1e-2`: two significant digits, exponent without `+`. */
const sci = (v: number): string => (v === 0 ? '0' : v.toExponential(1).replace('e+', 'e'));

/** A factor given by its log₁₀ (so 1e-400 prints): `0.26`, `45`, `3.2e-5`. */
const factor = (log10: number): string => {
  if (Math.abs(log10) < 2) return (10 ** log10).toPrecision(2);
  let e = Math.floor(log10), m = 10 ** (log10 - e);
  if (Number(m.toFixed(1)) >= 10) (m /= 10), e++;
  return `${m.toFixed(1)}e${e}`;
};

/** ρ with three significant digits, more if needed to tell it from 1. */
const perStep = (rho: number): string => {
  if (rho < 1e-3 || rho >= 1e3) return rho.toExponential(2).replace('e+', 'e');
  let s = rho.toPrecision(3);
  for (let p = 4; p <= 8 && rho !== 1 && Number(s) === 1; p++) s = rho.toPrecision(p);
  return s;
};

/**
 * One to three lines of text for a {@link FlowSummary}, e.g.
 * `lstm: ‖∂E_T/∂h_t‖ from 3.1e-2 at t=T−1 to 8.0e-3 at t=0: ×0.26 over 99 steps (ρ = 0.986 per step): stable`.
 * The fitted change across the sequence is added when it differs from the raw ratio by more
 * than 2× (the verdict judges the fit); zeros and non-finite norms get a line of their own.
 * @since 0.1.0
 * @category destructors
 */
export const formatFlow = (s: FlowSummary, name?: string, quantity = '‖∂E/∂h_t‖'): string => {
  const head = `${name === undefined ? '' : `${name}: `}${quantity}`;
  const T = s.steps;
  if (T === 0) return `${head}: no steps`;
  if (s.verdict === 'zero') return `${head} is exactly 0 at all ${T} steps: zero`;
  const lines: string[] = [];
  if (T === 1) lines.push(`${head} = ${s.first === null ? 'non-finite' : sci(s.first)} at the only step (T = 1): ${s.verdict}`);
  else {
    const ends = `from ${s.last === null ? 'non-finite' : sci(s.last)} at t=T−1 to ${s.first === null ? 'non-finite' : sci(s.first)} at t=0`;
    // in decades, from the ends themselves: a ratio beyond a double still prints
    const raw = s.first !== null && s.last !== null && s.first > 0 && s.last > 0 ? Math.log10(s.first) - Math.log10(s.last) : null;
    const ratio = raw !== null ? `×${factor(raw)} ` : s.first === 0 && s.last !== null && s.last > 0 ? '×0 ' : '';
    const fit = s.rho === null || s.log10Change === null
      ? ''
      : ` (ρ = ${perStep(s.rho)} per step${raw === null || Math.abs(raw - s.log10Change) > Math.log10(2) ? `, fitted ×${factor(s.log10Change)} overall` : ''})`;
    const tenfold = s.verdict === 'vanishing' && s.stepsPer10x !== null
      ? `, 10× smaller every ${s.stepsPer10x >= 100 ? Math.round(s.stepsPer10x) : s.stepsPer10x.toPrecision(3)} steps back`
      : '';
    lines.push(`${head} ${ends}: ${ratio}over ${T - 1} ${T === 2 ? 'step' : 'steps'}${fit}: ${s.verdict}${tenfold}`);
  }
  if (s.zeros > 0) {
    const lead = s.leadingZeros === 0 ? '' : s.leadingZeros === 1 ? ', including t=0' : `, including all of t=0…${s.leadingZeros - 1}`;
    lines.push(`  ${s.zeros} of ${T} norms are exactly 0${lead} (not in the fit)`);
  }
  if (s.nonFinite > 0) lines.push(`  ${s.nonFinite} of ${T} norms are NaN or ±∞, the latest at t=${s.latestNonFinite ?? '?'}`);
  return lines.join('\n');
};

// ---------------------------------------------------------------------------------------------
// gate saturation

/**
 * The fraction of gate activations that are saturated. A sigmoid value y is saturated when
 * y > θ or y < 1 − θ (tested as 1 − y > θ), a tanh value when |y| > θ; the default θ = 0.95 is where the local
 * derivative has fallen to under a fifth of its peak for the sigmoid (y(1 − y) = 0.0475 against
 * 0.25) and under a tenth for tanh (1 − y² = 0.0975 against 1), so a saturated unit passes little
 * gradient back through its gate. NaN and ±∞ (which neither function produces) are left out of
 * both counts; with no finite value the fraction is 0. θ must be in (0.5, 1) for the sigmoid and
 * (0, 1) for tanh; otherwise this throws a `LoopgradError`.
 * @since 0.1.0
 * @category destructors
 */
export const saturation = (values: ArrayLike<number>, kind: 'sigmoid' | 'tanh', threshold = 0.95): number => {
  const lowest = kind === 'sigmoid' ? 0.5 : 0;
  getOrThrow(
    threshold > lowest && threshold < 1
      ? E.right(undefined)
      : E.left([issue('OptionError', ['saturation', 'threshold'], `threshold is ${threshold} but must be in (${lowest}, 1) for ${kind}`)]),
  );
  let saturated = 0, counted = 0;
  for (let i = 0; i < values.length; i++) {
    const y = values[i]!;
    if (!Number.isFinite(y)) continue;
    counted++;
    // 1 − y > θ rather than y < 1 − θ: 1 − 0.95 rounds above 0.05, 1 − 0.05 is 0.95 exactly
    if (kind === 'sigmoid' ? y > threshold || 1 - y > threshold : Math.abs(y) > threshold) saturated++;
  }
  return counted === 0 ? 0 : saturated / counted;
};
