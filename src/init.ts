/** Parameter initialisation, seeded: PyTorch's defaults for recurrent cells and the readout. */
import type { ParamValues } from './plan';
import { mulberry32, uniformArray } from './random';
import { numel } from './shape';
import type { Unrolled } from './unroll';

/** Options of {@link init}. @since 0.1.0 @category model */
export interface InitOptions {
  readonly seed?: number;
  /** Draw every parameter from uniform(−range, range) instead of the defaults. */
  readonly range?: number;
}

/**
 * Fresh parameters for an unrolled graph. Defaults follow PyTorch: every cell parameter from
 * uniform(−k, k) with k = 1/√hidden (the cell's `hidden` size, else its output size), the
 * readout from uniform(−k, k) with k = 1/√(its input size). Same seed, same numbers.
 * @since 0.1.0
 * @category constructors
 */
export const init = <PN extends string>(u: Unrolled<PN, string>, options: InitOptions = {}): { [K in PN]: Float64Array } => {
  const rand = mulberry32(options.seed ?? 0);
  const hidden = u.cell.sizes['hidden'] ?? u.cell.outputSize;
  const out: Record<string, Float64Array> = {};
  for (const p of u.params) {
    const k = options.range ?? 1 / Math.sqrt(p.name.startsWith('readout.') ? u.cell.outputSize : hidden);
    out[p.name] = uniformArray(rand, numel(p.shape), -k, k);
  }
  return out as { [K in PN]: Float64Array };
};

/** A fresh, mutable copy of parameter values (for optimizers that update in place). @since 0.1.0 @category constructors */
export const cloneParams = <PN extends string>(params: ParamValues<PN>): { [K in PN]: Float64Array } =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v as ArrayLike<number>)])) as { [K in PN]: Float64Array };
