/** Checkers: the predicates as fast-check properties over generated cases. */
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { formatIssues, init, mulberry32, unroll, type Cell, type CellFamily, type GradcheckOptions } from 'loopgrad';
import { cellCase, type CaseBounds, type CellCase } from './arbitraries';
import { deterministic, gradientMatchesFiniteDifferences, type Verdict } from './predicates';

/** Options of {@link checkCell}. @since 0.1.0 @category model */
export interface CheckCellOptions<Z extends string> extends CaseBounds {
  /** Sizes to instantiate a cell family with (not needed for an instantiated cell). */
  readonly sizes?: Readonly<Record<Z, number>>;
  readonly numRuns?: number;
  readonly seed?: number;
  readonly gradcheck?: GradcheckOptions;
}

/** The params, batch and unrolled graph of one case. */
export const materialize = (cell: Cell, c: CellCase) => {
  const u = unroll(cell, { steps: c.steps, readout: { output: c.output } });
  const r = mulberry32(c.seed ^ 0x5eed);
  const uni = (n: number, lo: number, hi: number) => Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
  const batch = {
    inputs: uni(c.steps * c.batch * cell.inputSize, -1, 1),
    targets: uni(c.steps * c.batch * c.output, -1, 1),
    ...(c.randomState ? { initialState: Object.fromEntries(cell.state.map((s) => [s.name, uni(c.batch * s.shape[0]!, -0.5, 0.5)])) } : {}),
  };
  return { u, params: init(u, { seed: c.seed, range: c.range }), batch };
};

const verdictProperty = (cell: Cell, bounds: CaseBounds, law: (c: CellCase) => Verdict) =>
  fc.property(cellCase(cell, bounds), (c) => {
    const v = law(c);
    if (!v.ok) throw new Error(`law '${v.law}' fails for cell ${cell.name} at ${JSON.stringify(c)}:\n${v.report}`);
  });

/**
 * Certifies a cell (or a cell family at `sizes`): over generated lengths, batches, values and
 * initial states, its BPTT gradients agree with finite differences and are deterministic.
 * Throws, with fast-check's shrunk counterexample and the law's report, when a law fails.
 *
 * ```ts
 * test('mgu obeys the BPTT laws', () => checkCell(mgu, { sizes: { input: 3, hidden: 5 } }));
 * ```
 * @since 0.1.0
 * @category checkers
 */
export const checkCell = <Z extends string>(cellOrFamily: Cell | CellFamily<Z, string, string>, options: CheckCellOptions<Z> = {}): void => {
  let cell: Cell;
  if ('instantiate' in cellOrFamily) {
    if (options.sizes === undefined) throw new Error(`checkCell: give sizes to instantiate the cell family '${cellOrFamily.name}'`);
    const e = cellOrFamily.instantiate(options.sizes);
    if (E.isLeft(e)) throw new Error(`checkCell: ${cellOrFamily.name} does not instantiate:\n${formatIssues(e.left)}`);
    cell = e.right;
  } else cell = cellOrFamily;
  const params = { numRuns: options.numRuns ?? 25, seed: options.seed ?? 1, includeErrorInReport: true };
  fc.assert(verdictProperty(cell, options, (c) => {
    const m = materialize(cell, c);
    return gradientMatchesFiniteDifferences(m.u, m.params, m.batch, options.gradcheck);
  }), params);
  fc.assert(verdictProperty(cell, options, (c) => {
    const m = materialize(cell, c);
    return deterministic(m.u, m.params, m.batch, c.batch);
  }), { ...params, numRuns: Math.max(1, Math.ceil(params.numRuns / 5)) });
};
