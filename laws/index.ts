/**
 * loopgrad/laws: property-based laws that certify a recurrent cell's gradients, in three
 * layers as fp-ts-laws has them: pure predicates, fast-check checkers, arbitraries.
 * The laws are stated, with formulas and tolerances, in docs/laws.md.
 * @packageDocumentation
 */
export {
  continuation, deterministic, float32MatchesFloat64, gradientMatchesFiniteDifferences, graphGradientMatchesFiniteDifferences, graphSizes,
  jvpVjpAdjoint, lossAdditivity, plansAgree, serializationRoundTrip, unrollEqualsLoop, vjpIsLinear, weightSharing, type GraphCase, type Verdict,
} from './predicates';
export { caseMask, cellCase, type CaseBounds, type CellCase } from './arbitraries';
export { cellRecipe, recipeCell, recipeOps, showRecipe, type CellRecipe, type RecipeBounds, type RecipeOp, type RecipeStep } from './random-cells';
export { caseArb as primitiveCase, type Case as PrimitiveCase } from './primitive-cases';
export {
  checkCell, checkGraph, checkPrimitive, checkRandomCells, checkUnroll, materialize,
  type CheckCellOptions, type CheckRandomCellsOptions, type CheckGraphOptions, type CheckPrimitiveOptions, type RunOptions,
} from './checkers';
