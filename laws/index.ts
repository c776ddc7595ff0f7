/**
 * loopgrad/laws: property-based laws that certify a recurrent cell's gradients, in three
 * layers as fp-ts-laws has them: pure predicates, fast-check checkers, arbitraries.
 * @packageDocumentation
 */
export { deterministic, gradientMatchesFiniteDifferences, type Verdict } from './predicates';
export { cellCase, type CaseBounds, type CellCase } from './arbitraries';
export { checkCell, materialize, type CheckCellOptions } from './checkers';
