/**
 * Laws as pure predicates: each takes a concrete case and returns a verdict with a report.
 * No fast-check here; the checkers wire these into properties.
 */
import { compile, formatGradcheck, gradcheck, type Batch, type GradcheckOptions, type ParamValues, type Unrolled } from 'loopgrad';

/** The outcome of one law on one case. @since 0.1.0 @category model */
export interface Verdict {
  readonly law: string;
  readonly ok: boolean;
  /** What was compared and, on failure, where and by how much. */
  readonly report: string;
}

/**
 * Law 1: the analytic gradient agrees with central finite differences (every entry in `full`
 * mode, one random direction in `direction` mode), in float64 by default.
 * @since 0.1.0
 * @category predicates
 */
export const gradientMatchesFiniteDifferences = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>,
  params: ParamValues<PN>,
  batch: Batch<SN>,
  options: GradcheckOptions = {},
): Verdict => {
  const r = gradcheck(u, params, batch, options);
  return { law: `gradient = finite differences (${r.mode})`, ok: r.ok, report: `${u.cell.name} × ${u.steps} steps: ${formatGradcheck(r)}` };
};

/**
 * Law 10 (determinism): the same inputs give bit-identical loss and gradients, from the same
 * plan called twice and from a freshly compiled one.
 * @since 0.1.0
 * @category predicates
 */
export const deterministic = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>,
  params: ParamValues<PN>,
  batch: Batch<SN>,
  batchSize: number,
): Verdict => {
  const snap = (p: ReturnType<typeof compile<PN, SN>>): number[] => {
    const r = p.valueAndGrad(params, batch);
    return [r.loss, ...Object.values<ArrayLike<number>>(r.grads).flatMap((g) => Array.from(g)), ...Array.from(r.inputGrads)];
  };
  const plan = compile(u, { batch: batchSize });
  const a = snap(plan), b = snap(plan), c = snap(compile(u, { batch: batchSize }));
  const differs = a.findIndex((x, i) => !Object.is(x, b[i]) || !Object.is(x, c[i]));
  return {
    law: 'determinism',
    ok: differs < 0,
    report: differs < 0 ? `${a.length} numbers bit-identical over 3 runs` : `entry ${differs} differs: ${a[differs]} / ${b[differs]} / ${c[differs]}`,
  };
};
