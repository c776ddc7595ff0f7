/**
 * Gradient clipping: by the global L2 norm over every parameter (PyTorch's `clip_grad_norm_`), or by value.
 *
 * ```ts
 * const { norm, grads } = clipGradNorm(r.grads, 1.0);          // new arrays; norm is before clipping
 * clipGradNorm(r.grads, 1.0, { inPlace: true });                // the hot path: scales r.grads itself
 * ```
 * A non-finite gradient entry is a `NumericError` naming the parameter and index, found before
 * anything is written: clipping never turns a NaN into a number, nor produces one.
 */
import * as E from 'fp-ts/Either';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import type { Tensors } from './optim';

/** Options of {@link clipGradNorm}. @since 0.1.0 @category model */
export interface ClipNormOptions {
  /** Scale the given arrays instead of returning new ones (default false). */
  readonly inPlace?: boolean;
  /** The ε in maxNorm / (norm + ε) (default 1e-6, PyTorch's; 0 makes the clipped norm exactly maxNorm). */
  readonly eps?: number;
}

/** Options of {@link clipGradValue}. @since 0.1.0 @category model */
export interface ClipValueOptions {
  /** Clamp the given arrays instead of returning new ones (default false). */
  readonly inPlace?: boolean;
}

/** The result of {@link clipGradNorm}. @since 0.1.0 @category model */
export interface ClipNormResult<G> {
  /** ‖g‖ over all parameters, before clipping. */
  readonly norm: number;
  /** The factor applied: min(1, maxNorm / (norm + ε)); 1 means untouched. */
  readonly scale: number;
  /** The clipped gradients: new arrays, or the given ones with `inPlace`. */
  readonly grads: G;
}

const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** The first non-finite entry, as an issue; `undefined` when all are finite. */
const firstNonFinite = (grads: Tensors, what: string): LoopgradIssue | undefined => {
  for (const k in grads) {
    const g = grads[k]!;
    for (let i = 0; i < g.length; i++) {
      if (!Number.isFinite(g[i])) return issue('NumericError', ['grads', k, String(i)], `grad ${k}[${i}] is ${g[i]}; ${what}`);
    }
  }
  return undefined;
};

/**
 * ‖g‖₂ over the entries of every array, or a `NumericError` naming the first non-finite entry.
 * Squares that overflow (or underflow) float64 are summed again scaled by the largest entry.
 * @since 0.1.0
 * @category destructors
 */
export const globalNormEither = (grads: Tensors): E.Either<readonly LoopgradIssue[], number> => {
  let sum = 0;
  for (const k in grads) {
    const g = grads[k]!;
    for (let i = 0; i < g.length; i++) sum += g[i]! * g[i]!;
  }
  if (sum < Infinity && sum > 1e-280) return E.right(Math.sqrt(sum));
  const bad = firstNonFinite(grads, 'the global norm is not finite');
  if (bad !== undefined) return E.left([bad]);
  // every entry is finite: all zero, or the squares left float64's range (rare, so more passes are fine)
  let max = 0;
  for (const k in grads) for (const x of grads[k]!) max = Math.max(max, Math.abs(x));
  if (max === 0) return E.right(0);
  let scaled = 0;
  for (const k in grads) for (const x of grads[k]!) scaled += (x / max) * (x / max);
  const norm = max * Math.sqrt(scaled);
  return Number.isFinite(norm)
    ? E.right(norm)
    : E.left([issue('NumericError', ['grads'], `the global norm is ${norm}: it exceeds the largest float64 (the largest entry is ${max})`)]);
};

/** {@link globalNormEither}, throwing a `LoopgradError`. @since 0.1.0 @category destructors */
export const globalNorm = (grads: Tensors): number => getOrThrow(globalNormEither(grads));

const target = <G extends Tensors>(grads: G, inPlace: boolean): G => {
  if (inPlace) return grads;
  const out: Record<string, Tensors[string]> = {};
  for (const k in grads) out[k] = grads[k]!.slice();
  return out as unknown as G;
};

/**
 * Scales all gradients together so that their global L2 norm is at most about `maxNorm`, as
 * PyTorch's `torch.nn.utils.clip_grad_norm_`: s = min(1, maxNorm / (norm + ε)), g ← s·g. So the
 * gradients are scaled when norm + ε > maxNorm, and then their norm is maxNorm · norm / (norm + ε).
 * Returns the norm before clipping.
 * @since 0.1.0
 * @category combinators
 */
export const clipGradNormEither = <G extends Tensors>(
  grads: G,
  maxNorm: number,
  options: ClipNormOptions = {},
): E.Either<readonly LoopgradIssue[], ClipNormResult<G>> => {
  const bad: LoopgradIssue[] = [];
  if (!positive(maxNorm)) bad.push(issue('OptionError', ['clipGradNorm', 'maxNorm'], `maxNorm is ${String(maxNorm)}; expected a positive finite number`));
  const eps = options.eps ?? 1e-6;
  if (!(typeof eps === 'number' && Number.isFinite(eps) && eps >= 0)) {
    bad.push(issue('OptionError', ['clipGradNorm', 'eps'], `eps is ${String(eps)}; expected a finite number ≥ 0`));
  }
  if (bad.length > 0) return E.left(bad);
  const measured = globalNormEither(grads);
  if (E.isLeft(measured)) return measured;
  const norm = measured.right;
  const scale = Math.min(1, maxNorm / (norm + eps));
  const out = target(grads, options.inPlace ?? false);
  if (scale < 1) {
    for (const k in out) {
      const g = out[k]!;
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * scale;
    }
  }
  return E.right({ norm, scale, grads: out });
};

/** {@link clipGradNormEither}, throwing a `LoopgradError`. @since 0.1.0 @category combinators */
export const clipGradNorm = <G extends Tensors>(grads: G, maxNorm: number, options: ClipNormOptions = {}): ClipNormResult<G> =>
  getOrThrow(clipGradNormEither(grads, maxNorm, options));

/**
 * Clamps every gradient entry to [−c, c], as PyTorch's `torch.nn.utils.clip_grad_value_`.
 * @since 0.1.0
 * @category combinators
 */
export const clipGradValueEither = <G extends Tensors>(
  grads: G,
  clipValue: number,
  options: ClipValueOptions = {},
): E.Either<readonly LoopgradIssue[], G> => {
  if (!positive(clipValue)) {
    return E.left([issue('OptionError', ['clipGradValue', 'clipValue'], `clipValue is ${String(clipValue)}; expected a positive finite number`)]);
  }
  const bad = firstNonFinite(grads, 'expected a finite number to clip');
  if (bad !== undefined) return E.left([bad]);
  const out = target(grads, options.inPlace ?? false);
  for (const k in out) {
    const g = out[k]!;
    for (let i = 0; i < g.length; i++) g[i] = Math.min(clipValue, Math.max(-clipValue, g[i]!));
  }
  return E.right(out);
};

/** {@link clipGradValueEither}, throwing a `LoopgradError`. @since 0.1.0 @category combinators */
export const clipGradValue = <G extends Tensors>(grads: G, clipValue: number, options: ClipValueOptions = {}): G =>
  getOrThrow(clipGradValueEither(grads, clipValue, options));
