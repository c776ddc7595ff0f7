/** Per-step losses: how E_t is computed from a step's prediction y_t and its target. */
import * as op from './op';
import type { Scalar, Vec } from './trace';

/**
 * A per-step loss, as data. The batch enters only here, through the batch mean:
 * - `mse`: E_t = (1 / 2B) Σ_b ‖y_{t,b} − target_{t,b}‖² (the workload's loss);
 * - `softmaxCrossEntropy`: E_t = −(1 / B) Σ_b ⟨target_{t,b}, log softmax(y_{t,b})⟩, targets
 *   being probability vectors (one-hot for classes), computed with a stable log-sum-exp.
 * @since 0.1.0
 * @category model
 */
export type LossSpec = { readonly kind: 'mse' } | { readonly kind: 'softmaxCrossEntropy' };

/**
 * Builds E_t in the DSL (traced like any cell). With `weight` (a per-example scalar, e.g. the
 * mask of variable-length sequences), E_t = (1/B) Σ_b w_b ℓ_b: examples weighted 0 add nothing
 * and the mean stays over the whole batch. @internal
 */
export const stepLoss = (spec: LossSpec, y: Vec, target: Vec, weight?: Scalar): Scalar => {
  const weighted = (perExample: Scalar): Scalar => op.batchMean(weight === undefined ? perExample : op.mul(weight, perExample));
  switch (spec.kind) {
    case 'mse': {
      const d = op.sub(y, target);
      return op.scale(weighted(op.sum(op.mul(d, d))), 0.5);
    }
    case 'softmaxCrossEntropy':
      return op.neg(weighted(op.sum(op.mul(target, op.logSoftmax(y)))));
  }
};

/** Loss constructors. @since 0.1.0 @category constructors */
export const loss = {
  /** Half the squared error, summed over outputs, averaged over the batch. */
  mse: (): LossSpec => ({ kind: 'mse' }),
  /** Cross-entropy of softmax(y) against target distributions, averaged over the batch. */
  softmaxCrossEntropy: (): LossSpec => ({ kind: 'softmaxCrossEntropy' }),
};
