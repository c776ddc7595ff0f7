/**
 * Generated sequence tasks for experiments and demos: seeded, allocation-free once the buffers
 * exist (`fill` writes a fresh batch into the same arrays).
 *
 * The adding problem (Hochreiter & Schmidhuber 1997; Le, Jaitly & Hinton 2015): each step's
 * input is (value ∈ [0, 1), marker ∈ {0, 1}); exactly two steps are marked, one in each half
 * of the sequence; the target at the last step is the sum of the two marked values. Predicting
 * the mean (1) scores E = ½ · Var = 1/12 ≈ 0.083 under loopgrad's ½-MSE; solving it needs
 * information carried across up to T steps: a long-range dependency.
 */
import { mulberry32 } from './random';

/** A task's batch buffers, time-major and flat like a plan's `Batch`. @since 0.1.0 @category model */
export interface TaskBatch {
  readonly inputs: Float64Array;
  readonly targets: Float64Array;
}

/** A seeded generator of batches of one task. @since 0.1.0 @category model */
export interface Task {
  readonly steps: number;
  readonly batch: number;
  readonly inputSize: number;
  readonly outputSize: number;
  /** Loss of the best constant prediction (the baseline to beat). */
  readonly baseline: number;
  /** Writes the next batch into `out` (default: the task's own buffers) and returns it. */
  readonly next: (out?: TaskBatch) => TaskBatch;
}

/**
 * The adding problem of length `steps`: use with `lossAt: 'last'` and one output.
 * @since 0.1.0
 * @category constructors
 */
export const addingProblem = (steps: number, batch: number, seed = 0): Task => {
  const rand = mulberry32(seed);
  const own = { inputs: new Float64Array(steps * batch * 2), targets: new Float64Array(steps * batch) };
  const half = Math.floor(steps / 2);
  return {
    steps, batch, inputSize: 2, outputSize: 1, baseline: 1 / 12,
    next: (out = own) => {
      out.inputs.fill(0);
      out.targets.fill(0);
      for (let b = 0; b < batch; b++) {
        const first = Math.floor(rand() * Math.max(1, half));
        const second = half + Math.floor(rand() * (steps - half));
        let sum = 0;
        for (let t = 0; t < steps; t++) {
          const x = rand(), at = (t * batch + b) * 2;
          out.inputs[at] = x;
          if (t === first || t === second) {
            out.inputs[at + 1] = 1;
            sum += x;
          }
        }
        out.targets[(steps - 1) * batch + b] = sum;
      }
      return out;
    },
  };
};

/**
 * A character vocabulary of a text: sorted distinct characters, and one-hot encoding of
 * windows for next-character prediction (inputs one-hot of c_t, targets one-hot of c_{t+1}).
 * @since 0.1.0
 * @category constructors
 */
export const charVocabulary = (text: string) => {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const V = chars.length;
  return {
    chars,
    size: V,
    encode: (s: string): number[] => [...s].map((c) => index.get(c) ?? 0),
    decode: (ids: readonly number[]): string => ids.map((i) => chars[i] ?? '?').join(''),
    /**
     * A task of random windows of `steps + 1` characters of the text: one-hot inputs [T, B, V]
     * and one-hot next-character targets; use with `loss.softmaxCrossEntropy()`.
     */
    windows: (steps: number, batch: number, seed = 0): Task => {
      const ids = [...text].map((c) => index.get(c)!);
      const rand = mulberry32(seed);
      const own = { inputs: new Float64Array(steps * batch * V), targets: new Float64Array(steps * batch * V) };
      return {
        steps, batch, inputSize: V, outputSize: V, baseline: Math.log(V),
        next: (out = own) => {
          out.inputs.fill(0);
          out.targets.fill(0);
          for (let b = 0; b < batch; b++) {
            const start = Math.floor(rand() * Math.max(1, ids.length - steps - 1));
            for (let t = 0; t < steps; t++) {
              out.inputs[(t * batch + b) * V + ids[start + t]!] = 1;
              out.targets[(t * batch + b) * V + ids[start + t + 1]!] = 1;
            }
          }
          return out;
        },
      };
    },
  };
};
