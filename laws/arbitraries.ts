/** fast-check arbitraries: cases (length, batch, seeds) for a cell's laws. */
import fc from 'fast-check';
import type { Cell } from 'loopgrad';

/** One concrete case of a cell's laws. @since 0.1.0 @category model */
export interface CellCase {
  readonly steps: number;
  readonly batch: number;
  readonly output: number;
  /** Seeds the params (uniform(−range, range)), the inputs and the targets. */
  readonly seed: number;
  readonly range: number;
  /** Whether the initial state is random (else zeros). */
  readonly randomState: boolean;
  /**
   * Variable-length sequences: when set, the graph is unrolled with `masked: true` and example
   * b is valid for its first min(lengths[b], steps) steps, padding after.
   */
  readonly lengths?: readonly number[];
}

/** Bounds of generated cases. @since 0.1.0 @category model */
export interface CaseBounds {
  readonly maxSteps?: number;
  readonly maxBatch?: number;
  readonly maxOutput?: number;
  /** Draw variable-length (masked) batches too (default true). */
  readonly masks?: boolean;
}

/**
 * Cases for a cell: sequence lengths 1…maxSteps, batches 1…maxBatch, readout sizes, seeds,
 * param ranges and initial states; fast-check shrinks a failure toward the shortest, smallest.
 * @since 0.1.0
 * @category arbitraries
 */
export const cellCase = (_cell: Cell | undefined, bounds: CaseBounds = {}): fc.Arbitrary<CellCase> => {
  const maxSteps = bounds.maxSteps ?? 5, maxBatch = bounds.maxBatch ?? 3;
  const fixed = {
    steps: fc.integer({ min: 1, max: maxSteps }),
    batch: fc.integer({ min: 1, max: maxBatch }),
    output: fc.integer({ min: 1, max: bounds.maxOutput ?? 3 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    range: fc.constantFrom(0.3, 0.7, 1.2),
    randomState: fc.boolean(),
  };
  if (bounds.masks === false) return fc.record(fixed);
  // `lengths` is optional: some cases are masked, some not; shrinking drops it first
  const lengths = fc.array(fc.integer({ min: 1, max: maxSteps }), { minLength: maxBatch, maxLength: maxBatch });
  return fc.record({ ...fixed, lengths }, { requiredKeys: ['steps', 'batch', 'output', 'seed', 'range', 'randomState'] });
};

/**
 * The [T, B] mask of a case's lengths (1 for the first min(lengths[b], T) steps of example b),
 * or undefined for a case without lengths.
 * @since 0.1.0
 * @category arbitraries
 */
export const caseMask = (c: CellCase): Float64Array | undefined => {
  const lengths = c.lengths;
  if (lengths === undefined) return undefined;
  return Float64Array.from({ length: c.steps * c.batch }, (_, i) => (Math.floor(i / c.batch) < Math.min(lengths[i % c.batch]!, c.steps) ? 1 : 0));
};
