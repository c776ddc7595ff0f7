/**
 * loopgrad as a peer of `npm run bench:compare` (float32 and float64 rows), and the float64
 * reference every peer's gradients are checked against. The same calls as bench/worker.ts, with
 * compile()'s default options (so the kernel tier is whatever loopgrad picks by default).
 */
import type { ThreadPool } from '../../src/kernels/threads';
import { compile, type ParamValues } from '../../src/plan';
import { HOIST_AUTO_LIMIT } from '../../src/program';
import { unroll } from '../../src/unroll';
import { CELLS, type DtypeName } from '../common';
import type { LossAndGrads, Problem, Stepper } from './problem';

/** What compile() picks by default here: the kernel tier ('wasm' or 'js'), whether gate math is fused, and the hoisting rule. */
export const loopgradKernels = (dtype: DtypeName): string => {
  const u = unroll(CELLS.gru.make({ B: 1, T: 2, I: 4, H: 4, O: 1 }), { steps: 2, readout: { output: 1 } });
  const plan = compile(u, { batch: 1, dtype });
  return `${plan.kernels}, ${plan.fused > 0 ? 'gate math fused' : 'unfused'}, input projections hoisted where hoist: 'auto' does (blocks ≤ ${HOIST_AUTO_LIMIT} elements)`;
};

export const loopgradStepper = (p: Problem, dtype: DtypeName, threads?: ThreadPool): Stepper => {
  const u = unroll(CELLS[p.cell].make(p.dims), { steps: p.dims.T, readout: { output: p.dims.O } });
  const plan = compile(u, { batch: p.dims.B, dtype, ...(threads ? { threads } : {}) });
  const conv = (a: Float32Array): Float32Array | Float64Array => (dtype === 'float32' ? Float32Array.from(a) : Float64Array.from(a));
  const params = Object.fromEntries(p.params.map((q) => [q.name, conv(q.data)])) as ParamValues<string>;
  const batch = { inputs: conv(p.inputs), targets: conv(p.targets) };
  let last: LossAndGrads | undefined;
  return {
    step: () => {
      const r = plan.valueAndGrad(params, batch);
      last = r as unknown as LossAndGrads;
    },
    result: () => {
      if (last === undefined) throw new Error('no step run yet');
      return { loss: last.loss, grads: Object.fromEntries(Object.entries(last.grads).map(([k, v]) => [k, Float64Array.from(v)])) };
    },
    dispose: () => undefined,
  };
};

/** loopgrad's float64 loss and gradients of one problem. */
export const reference = (p: Problem): LossAndGrads => {
  const s = loopgradStepper(p, 'float64');
  s.step();
  return s.result();
};
