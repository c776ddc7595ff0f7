/**
 * Checkers: the predicates as fast-check properties, composed as
 * `checkPrimitive` → `checkGraph` → `checkUnroll` → `checkCell`. Each law is its own property,
 * so a failure names its law; fast-check shrinks the case (shorter sequences, smaller batches,
 * simpler values) before reporting it.
 */
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import {
  cellPrimitives, formatIssues, init, mulberry32, primitiveGraph, primitives, sizesAt, unroll,
  type Cell, type CellFamily, type CustomPrimitive, type Customs, type Domain, type GradcheckOptions, type Graph, type OpTag, type Shape,
} from 'loopgrad';
import { caseMask, cellCase, type CaseBounds, type CellCase } from './arbitraries';
import { caseArb } from './primitive-cases';
import { cellRecipe, recipeCell, showRecipe, type RecipeBounds } from './random-cells';
import {
  continuation, deterministic, float32MatchesFloat64, gradientMatchesFiniteDifferences, graphGradientMatchesFiniteDifferences,
  jvpVjpAdjoint, lossAdditivity, plansAgree, serializationRoundTrip, unrollEqualsLoop, vjpIsLinear, weightSharing, type GraphCase, type Verdict,
} from './predicates';

/** Run settings shared by every checker. @since 0.1.0 @category model */
export interface RunOptions {
  /** Cases per law (default 20 for cells and graphs, 40 for primitives). */
  readonly numRuns?: number;
  readonly seed?: number;
}

const settings = (o: RunOptions, runs: number) => ({ numRuns: o.numRuns ?? runs, seed: o.seed ?? 1, includeErrorInReport: true });

/** Throws with the law's report when a verdict fails: the error fast-check shrinks and shows. */
const holds = (what: string, v: Verdict): void => {
  if (!v.ok) throw new Error(`law '${v.law}' fails for ${what}:\n${v.report}`);
};

const uniform = (rand: () => number, n: number, lo = -1, hi = 1): Float64Array => Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());

// ---------------------------------------------------------------------------------------------
// graphs

/** Options of {@link checkGraph}. @since 0.1.0 @category model */
export interface CheckGraphOptions extends RunOptions {
  readonly customs?: Customs;
  /** Where each input's values are drawn from (by input index); default uniform(−1, 1). */
  readonly domain?: (input: number) => Domain;
  /** Batch sizes to try; default 1…3. */
  readonly maxBatch?: number;
  /** A name for reports. */
  readonly name?: string;
}

interface GraphDraw {
  readonly batch: number;
  readonly seed: number;
  readonly alpha: number;
  readonly beta: number;
}

const drawArb = (maxBatch: number): fc.Arbitrary<GraphDraw> =>
  fc.record({
    batch: fc.integer({ min: 1, max: maxBatch }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    alpha: fc.constantFrom(-1.5, 0.5, 2),
    beta: fc.constantFrom(-0.75, 1, 3),
  });

/** Values for every input (inside its domain) and cotangents/tangents in [−1, 1], from one seed. */
const materializeGraph = (graph: Graph, d: GraphDraw, o: CheckGraphOptions) => {
  const rand = mulberry32(d.seed);
  const sizes = sizesAt(graph, d.batch);
  const primals = sizes.inputs.map((n, k) => {
    const dom = o.domain?.(k) ?? { min: -1, max: 1 };
    return Float64Array.from({ length: n }, () => {
      for (;;) {
        const x = dom.min + (dom.max - dom.min) * rand();
        if ((dom.avoid ?? []).every((p) => Math.abs(x - p) >= 0.05)) return x;
      }
    });
  });
  const c: GraphCase = { graph, batch: d.batch, primals, ...(o.customs ? { customs: o.customs } : {}) };
  return {
    c,
    u: sizes.inputs.map((n) => uniform(rand, n)),
    v: sizes.outputs.map((n) => uniform(rand, n)),
    w: sizes.outputs.map((n) => uniform(rand, n)),
  };
};

/**
 * Certifies a graph's interpreters: over batch sizes and values, law 1 (its VJP against finite
 * differences of ⟨c, outputs⟩), law 2 (the VJP is linear; zero gives zero) and law 3 (JVP and
 * VJP are adjoint). Throws with the shrunk case and the law's report on failure.
 * @since 0.1.0
 * @category checkers
 */
export const checkGraph = (graph: Graph, options: CheckGraphOptions = {}): void => {
  const name = options.name ?? 'graph';
  const arb = drawArb(options.maxBatch ?? 3);
  const run = settings(options, 20);
  fc.assert(fc.property(arb, (d) => {
    const m = materializeGraph(graph, d, options);
    holds(`${name} at ${JSON.stringify(d)}`, graphGradientMatchesFiniteDifferences(m.c, m.v));
  }), run);
  fc.assert(fc.property(arb, (d) => {
    const m = materializeGraph(graph, d, options);
    holds(`${name} at ${JSON.stringify(d)}`, vjpIsLinear(m.c, m.v, m.w, d.alpha, d.beta));
  }), run);
  fc.assert(fc.property(arb, (d) => {
    const m = materializeGraph(graph, d, options);
    holds(`${name} at ${JSON.stringify(d)}`, jvpVjpAdjoint(m.c, m.u, m.v));
  }), run);
};

// ---------------------------------------------------------------------------------------------
// primitives

/** Options of {@link checkPrimitive}. @since 0.1.0 @category model */
export interface CheckPrimitiveOptions extends RunOptions {
  /**
   * Operand shapes and batchedness to test a custom primitive on; default: `arity` vectors
   * (1–3 for a variadic one) of one size 1…5, each batched or shared.
   */
  readonly operands?: fc.Arbitrary<readonly { readonly shape: Shape; readonly batched: boolean }[]>;
}

const defaultOperands = (p: CustomPrimitive) =>
  fc.record({
    n: p.arity === 'variadic' ? fc.integer({ min: 1, max: 3 }) : fc.constant(p.arity),
    size: fc.integer({ min: 1, max: 5 }),
    batched: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  }).map(({ n, size, batched }) => Array.from({ length: n }, (_, i) => ({ shape: [size] as Shape, batched: batched[i]! || i === 0 })));

/**
 * Certifies one primitive, built-in (by tag) or user-declared: on random operands inside its
 * domain, laws 1–3 on the one-eqn graph. Built-in tags draw operands, params and batchedness
 * from their case generators (`laws/primitive-cases.ts`).
 * @since 0.1.0
 * @category checkers
 */
export const checkPrimitive = (primitive: OpTag | CustomPrimitive, options: CheckPrimitiveOptions = {}): void => {
  const name = typeof primitive === 'string' ? primitive : primitive.name;
  const domain = typeof primitive === 'string' ? primitives[primitive].domain : primitive.domain;
  const instances = typeof primitive === 'string'
    ? caseArb(primitive).map((c) => ({ params: c.params as unknown, operands: c.args.map((a) => c.operands[a]!) }))
    : (options.operands ?? defaultOperands(primitive)).map((operands) => ({ params: { name } as unknown, operands }));
  fc.assert(fc.property(instances, drawArb(3), (inst, d) => {
    const g = primitiveGraph(primitive, inst.params, inst.operands);
    if (E.isLeft(g)) throw new Error(`checkPrimitive: ${name} rejects its own test operands:\n${formatIssues(g.left)}`);
    const o: CheckGraphOptions = { customs: g.right.customs, domain: () => domain };
    const m = materializeGraph(g.right.graph, d, o);
    const what = `primitive ${name} on ${JSON.stringify(inst.operands)} at ${JSON.stringify(d)}`;
    holds(what, graphGradientMatchesFiniteDifferences(m.c, m.v));
    holds(what, vjpIsLinear(m.c, m.v, m.w, d.alpha, d.beta));
    holds(what, jvpVjpAdjoint(m.c, m.u, m.v));
  }), settings(options, 40));
};

// ---------------------------------------------------------------------------------------------
// cells

/** Options of {@link checkCell} and {@link checkUnroll}. @since 0.1.0 @category model */
export interface CheckCellOptions<Z extends string = string> extends RunOptions, CaseBounds {
  /** Sizes to instantiate a cell family with (not needed for an instantiated cell). */
  readonly sizes?: Readonly<Record<Z, number>>;
  readonly gradcheck?: GradcheckOptions;
}

/** The unrolled graph, params and batch of one case. @since 0.1.0 @category checkers */
export const materialize = (cell: Cell, c: CellCase) => {
  const mask = cell.bidirectional === undefined ? caseMask(c) : undefined; // a bidirectional cell is never masked
  const options = { steps: c.steps, readout: { output: c.output }, ...(mask ? { masked: true } : {}) };
  const u = unroll(cell, options);
  const r = mulberry32(c.seed ^ 0x5eed);
  const batch = {
    inputs: uniform(r, c.steps * c.batch * u.inputSize),
    targets: uniform(r, c.steps * c.batch * c.output),
    ...(c.randomState ? { initialState: Object.fromEntries(cell.state.map((s) => [s.name, uniform(r, c.batch * s.shape[0]!, -0.5, 0.5)])) } : {}),
    ...(mask ? { mask } : {}),
  };
  return { options, u, params: init(u, { seed: c.seed, range: c.range }), batch };
};

const resolve = <Z extends string>(cellOrFamily: Cell | CellFamily<Z, string, string>, sizes: Readonly<Record<Z, number>> | undefined, who: string): Cell => {
  if (!('instantiate' in cellOrFamily)) return cellOrFamily;
  if (sizes === undefined) throw new Error(`${who}: give sizes to instantiate the cell family '${cellOrFamily.name}'`);
  const e = cellOrFamily.instantiate(sizes);
  if (E.isLeft(e)) throw new Error(`${who}: ${cellOrFamily.name} does not instantiate:\n${formatIssues(e.left)}`);
  return e.right;
};

type Materialized = ReturnType<typeof materialize>;

/** A law on one unrolled case of a cell. */
type CellLaw = (cell: Cell, c: CellCase, m: Materialized, o: CheckCellOptions) => Verdict;

const chunks = (a: Float64Array, n: number): Float64Array[] => {
  const size = a.length / n;
  return Array.from({ length: n }, (_, t) => a.subarray(t * size, (t + 1) * size));
};

/** Laws 4–7, in order. */
const unrollLaws: readonly CellLaw[] = [
  (cell, _c, m) => unrollEqualsLoop(cell, m.options, m.params, m.batch),
  (cell, c, m) => continuation(cell, m.options, 1 + (c.seed % Math.max(1, c.steps - 1)), m.params, m.batch),
  (cell, _c, m) => weightSharing(cell, m.options, m.params, m.batch),
  (cell, c, m) => {
    const primals = [
      ...m.u.params.map((p) => m.params[p.name]!), ...chunks(m.batch.inputs, c.steps), ...chunks(m.batch.targets, c.steps),
      ...m.u.initialState.map((s) => (m.batch.initialState as Record<string, Float64Array> | undefined)?.[s.name] ?? new Float64Array(c.batch * s.shape[0]!)),
      ...(m.batch.mask ? chunks(m.batch.mask, c.steps) : []),
    ];
    return lossAdditivity({ graph: m.u.graph, batch: c.batch, primals, customs: cellPrimitives(cell) }, c.steps);
  },
];

/**
 * Laws 4 and 5 compare the unrolled graph with step-by-step runs: they hold for causal cells
 * only. A bidirectional cell's output at t depends on the future, so for it only 6 and 7 apply.
 */
const applicableUnrollLaws = (cell: Cell): readonly CellLaw[] => (cell.bidirectional === undefined ? unrollLaws : unrollLaws.slice(2));

/** Law 1 on the unrolled sequence, then laws 8, 9, 10. */
const gradientLaw: CellLaw = (_cell, _c, m, o) => gradientMatchesFiniteDifferences(m.u, m.params, m.batch, o.gradcheck);
const serializationLaw: CellLaw = (cell, _c, m) => serializationRoundTrip(cell, m.options, m.params, m.batch);
const determinismLaw: CellLaw = (_cell, c, m) => deterministic(m.u, m.params, m.batch, c.batch);
const precisionLaw: CellLaw = (_cell, c, m) => float32MatchesFloat64(m.u, m.params, m.batch, c.batch);
const plansLaw: CellLaw = (cell, _c, m) => plansAgree(cell, m.options, m.params, m.batch);

const cellProperty = (cell: Cell, options: CheckCellOptions, law: CellLaw) =>
  fc.property(cellCase(cell, options), (c) => holds(`cell ${cell.name} at ${JSON.stringify(c)}`, law(cell, c, materialize(cell, c), options)));

/**
 * Certifies a cell's unrolling: law 4 (unroll = the hand-written loop), law 5 (continuation at
 * a random split), law 6 (weight sharing: Σ_t of untied gradients = tied) and law 7 (loss
 * additivity), over generated lengths, batches, values, initial states and masks. For a
 * bidirectional cell, which is not causal, laws 4 and 5 do not apply and are not run.
 * @since 0.1.0
 * @category checkers
 */
export const checkUnroll = <Z extends string>(cellOrFamily: Cell | CellFamily<Z, string, string>, options: CheckCellOptions<Z> = {}): void => {
  const cell = resolve(cellOrFamily, options.sizes, 'checkUnroll');
  const run = settings(options, 20);
  for (const law of applicableUnrollLaws(cell)) fc.assert(cellProperty(cell, options, law), run);
};

/**
 * Certifies a cell (or a cell family at `sizes`) with every law: its step graph through
 * {@link checkGraph} (laws 1–3), its unrolling through {@link checkUnroll} (laws 4–7), and on
 * unrolled cases law 1 (BPTT gradients = finite differences, every entry), law 8
 * (serialization round trip), law 9 (determinism), law 10 (float32 = float64 within its
 * tolerance) and law 11 (plain, hoisted + wasm and checkpointed plans agree). Throws, with fast-check's shrunk counterexample and the law's report, when a
 * law fails.
 *
 * ```ts
 * test('mgu obeys the BPTT laws', () => checkCell(mgu, { sizes: { input: 3, hidden: 5 } }));
 * ```
 * @since 0.1.0
 * @category checkers
 */
export const checkCell = <Z extends string>(cellOrFamily: Cell | CellFamily<Z, string, string>, options: CheckCellOptions<Z> = {}): void => {
  const cell = resolve(cellOrFamily, options.sizes, 'checkCell');
  const run = settings(options, 20);
  fc.assert(cellProperty(cell, options, gradientLaw), run);
  checkGraph(cell.graph, { ...run, customs: cellPrimitives(cell), name: `cell ${cell.name} (one step)` });
  checkUnroll(cell, options);
  fc.assert(cellProperty(cell, options, serializationLaw), run);
  fc.assert(cellProperty(cell, options, determinismLaw), { ...run, numRuns: Math.max(1, Math.ceil(run.numRuns / 4)) });
  fc.assert(cellProperty(cell, options, precisionLaw), run);
  fc.assert(cellProperty(cell, options, plansLaw), run);
};

// ---------------------------------------------------------------------------------------------
// random cells

/** Options of {@link checkRandomCells}. @since 0.1.0 @category model */
export interface CheckRandomCellsOptions extends RunOptions, CaseBounds, RecipeBounds {
  readonly gradcheck?: GradcheckOptions;
}

/**
 * Certifies the engine on random valid cells generated from the primitive table
 * ({@link cellRecipe}): for each generated cell and case, every law (1–3 on its step graph,
 * then 1 and 4–10 on the unrolled sequence). A failure shrinks the recipe (fewer ops, smaller
 * sizes) and the case together, and the report prints the recipe.
 * @since 0.1.0
 * @category checkers
 */
export const checkRandomCells = (options: CheckRandomCellsOptions = {}): void => {
  const laws = [gradientLaw, ...unrollLaws, serializationLaw, determinismLaw, precisionLaw, plansLaw];
  fc.assert(fc.property(cellRecipe(options), cellCase(undefined, options), drawArb(2), (recipe, c, d) => {
    const cell = recipeCell(recipe);
    const what = `random cell ${showRecipe(recipe)} at ${JSON.stringify(c)}`;
    const g = materializeGraph(cell.graph, d, { customs: cellPrimitives(cell) });
    holds(`${what} (one step, ${JSON.stringify(d)})`, graphGradientMatchesFiniteDifferences(g.c, g.v));
    holds(`${what} (one step, ${JSON.stringify(d)})`, vjpIsLinear(g.c, g.v, g.w, d.alpha, d.beta));
    holds(`${what} (one step, ${JSON.stringify(d)})`, jvpVjpAdjoint(g.c, g.u, g.v));
    const m = materialize(cell, c);
    for (const law of laws) holds(what, law(cell, c, m, options));
  }), settings(options, 30));
};
