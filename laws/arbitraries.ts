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
}

/** Bounds of generated cases. @since 0.1.0 @category model */
export interface CaseBounds {
  readonly maxSteps?: number;
  readonly maxBatch?: number;
  readonly maxOutput?: number;
}

/**
 * Cases for a cell: sequence lengths 1…maxSteps, batches 1…maxBatch, readout sizes, seeds,
 * param ranges and initial states; fast-check shrinks a failure toward the shortest, smallest.
 * @since 0.1.0
 * @category arbitraries
 */
export const cellCase = (_cell: Cell | undefined, bounds: CaseBounds = {}): fc.Arbitrary<CellCase> =>
  fc.record({
    steps: fc.integer({ min: 1, max: bounds.maxSteps ?? 5 }),
    batch: fc.integer({ min: 1, max: bounds.maxBatch ?? 3 }),
    output: fc.integer({ min: 1, max: bounds.maxOutput ?? 3 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    range: fc.constantFrom(0.3, 0.7, 1.2),
    randomState: fc.boolean(),
  });
