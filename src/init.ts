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
  const out: Record<string, Float64Array> = {};
  for (const p of u.params) {
    const k = options.range ?? 1 / Math.sqrt(pytorchFan(u, p.name));
    out[p.name] = uniformArray(rand, numel(p.shape), -k, k);
  }
  return out as { [K in PN]: Float64Array };
};

/**
 * PyTorch's default fan of a param of an unrolled graph, k = 1/√fan in uniform(−k, k): the
 * hidden size for a cell param (its layer's, in a composed cell), the input size for the
 * readout. @internal
 */
export const pytorchFan = (u: Unrolled<string, string>, name: string): number =>
  name.startsWith('readout.')
    ? u.params.find((p) => p.name.startsWith('readout.weight'))?.shape[1] ?? u.cell.outputSize
    : layerHidden(u.cell.sizes, name) ?? u.cell.outputSize;

/**
 * The hidden size a param belongs to: a composed cell's sizes are prefixed by layer
 * (`l1.hidden` for `l1.weight_hh`, `fwd.hidden` for `fwd.bias_ih`), so the longest prefix of
 * the name that names a hidden size wins; else the cell's own `hidden`. @internal
 */
export const layerHidden = (sizes: Readonly<Record<string, number>>, name: string): number | undefined => {
  for (let at = name.lastIndexOf('.'); at > 0; at = name.lastIndexOf('.', at - 1)) {
    const h = sizes[`${name.slice(0, at)}.hidden`];
    if (h !== undefined) return h;
  }
  return sizes['hidden'];
};

/** A fresh, mutable copy of parameter values (for optimizers that update in place). @since 0.1.0 @category constructors */
export const cloneParams = <PN extends string>(params: ParamValues<PN>): { [K in PN]: Float64Array } =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, Float64Array.from(v as ArrayLike<number>)])) as { [K in PN]: Float64Array };
