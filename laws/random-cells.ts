/**
 * Random valid cells, generated from the primitive table: a {@link CellRecipe} is small,
 * printable data (sizes, how many projections, a list of ops over a growing pool of values);
 * {@link recipeCell} turns it into a real cell through the public DSL (`defineCell`, `op.*`),
 * exactly as a user would write one. The laws then run on it like on any other cell.
 *
 * Every recipe is valid by construction: operand indices are taken modulo the pool size at
 * that point, so fast-check can shrink a failing recipe (fewer ops, smaller sizes) and every
 * shrunk recipe is still a cell. Values stay bounded over time (each new state goes through
 * tanh, or is a convex gate mix of the old state and a tanh), and ops with a restricted domain
 * are composed to stay inside it (log of a sigmoid, exp of a tanh, relu off its kink).
 */
import fc from 'fast-check';
import { defineCell, getOrThrow, op, type Cell, type Mat, type ParamShape, type Vec } from 'loopgrad';

/**
 * The ops a recipe draws from. Each reads one or two pool values of size H and appends one of
 * size H; together they use every built-in primitive except the scalar reductions `sum`/`mean`
 * and `batchMean`, which a per-example vector cell cannot feed back into a vector state (the
 * losses use them, and `checkPrimitive` tests them alone).
 * @since 0.1.0
 * @category model
 */
export const recipeOps = [
  'add', 'sub', 'mul', 'neg', 'scale', 'shift', 'tanh', 'sigmoid', 'relu', 'expTanh', 'logSigmoid',
  'softmax', 'logSoftmax', 'concatSlice', 'matvec', 'fill', 'copy',
] as const;

/** One op of a recipe. @since 0.1.0 @category model */
export type RecipeOp = (typeof recipeOps)[number];

/** One step of a recipe: `pool.push(op(pool[a], pool[b]))`, indices modulo the pool size. @since 0.1.0 @category model */
export interface RecipeStep {
  readonly op: RecipeOp;
  readonly a: number;
  readonly b: number;
  /** A constant for `scale`, `shift`, `fill`; an offset for `concatSlice`. */
  readonly k: number;
}

/**
 * A generated cell, as data.
 * - params: W_j [H, I + S·H] and b_j [H] per projection j, U_j [H, H] per `matvec` step;
 * - the pool starts as [s_1 … s_S, a_1 … a_P] with a_j = W_j [x; s_1; …; s_S] + b_j;
 * - each step appends a value; state field i becomes tanh(pool[update_i]) or, when `gated`,
 *   (1 − z) ⊙ s_i + z ⊙ tanh(pool[update_i]) with z = σ(pool[gate]);
 * - the output is pool[output].
 * @since 0.1.0
 * @category model
 */
export interface CellRecipe {
  readonly input: number;
  readonly hidden: number;
  readonly stateFields: number;
  readonly projections: number;
  readonly steps: readonly RecipeStep[];
  readonly updates: readonly number[];
  readonly gated: boolean;
  readonly gate: number;
  readonly output: number;
}

/** Bounds of generated recipes. @since 0.1.0 @category model */
export interface RecipeBounds {
  readonly maxInput?: number;
  readonly maxHidden?: number;
  readonly maxStateFields?: number;
  readonly maxOps?: number;
}

/**
 * Recipes of random valid cells: 1…maxInput inputs, 1…maxHidden hidden units, 1…maxStateFields
 * state fields, 1…3 projections and 1…maxOps ops drawn from {@link recipeOps}.
 * @since 0.1.0
 * @category arbitraries
 */
export const cellRecipe = (bounds: RecipeBounds = {}): fc.Arbitrary<CellRecipe> => {
  const index = fc.nat({ max: 63 });
  return fc.record({
    input: fc.integer({ min: 1, max: bounds.maxInput ?? 3 }),
    hidden: fc.integer({ min: 1, max: bounds.maxHidden ?? 4 }),
    stateFields: fc.integer({ min: 1, max: bounds.maxStateFields ?? 2 }),
    projections: fc.integer({ min: 1, max: 3 }),
    steps: fc.array(
      fc.record({ op: fc.constantFrom(...recipeOps), a: index, b: index, k: fc.constantFrom(-1.5, -0.5, 0.25, 0.75, 2) }),
      { minLength: 1, maxLength: bounds.maxOps ?? 8 },
    ),
    updates: fc.array(index, { minLength: bounds.maxStateFields ?? 2, maxLength: bounds.maxStateFields ?? 2 }),
    gated: fc.boolean(),
    gate: index,
    output: index,
  });
};

/**
 * relu reads its operand shifted by this odd constant: a zero initial state (and what is
 * computed from it alone) would otherwise sit exactly on relu's kink at 0, where finite
 * differences measure the mean of the two one-sided slopes, not the gradient.
 */
const reluOffset = 0.3173;

const stepOp = (s: RecipeStep, a: Vec, b: Vec, H: number, U: () => Mat): Vec => {
  switch (s.op) {
    case 'add': return op.add(a, b);
    case 'sub': return op.sub(a, b);
    case 'mul': return op.mul(a, b);
    case 'neg': return op.neg(a);
    case 'scale': return op.scale(a, s.k);
    case 'shift': return op.shift(a, s.k);
    case 'tanh': return op.tanh(a);
    case 'sigmoid': return op.sigmoid(a);
    case 'relu': return op.relu(op.shift(a, reluOffset));
    case 'expTanh': return op.exp(op.tanh(a));
    case 'logSigmoid': return op.log(op.sigmoid(a));
    case 'softmax': return op.softmax(a);
    case 'logSoftmax': return op.logSoftmax(a);
    case 'concatSlice': {
      const offset = Math.abs(Math.round(s.k * 7)) % (H + 1);
      return op.slice(op.concat(a, b), offset, H);
    }
    case 'matvec': return op.matvec(U(), a);
    case 'fill': return op.add(a, op.fill([H], s.k));
    case 'copy': return op.copy(a);
  }
};

/** A one-line description of a recipe, for the cell's name and reports. @since 0.1.0 @category destructors */
export const showRecipe = (r: CellRecipe): string =>
  `I${r.input} H${r.hidden} S${r.stateFields} P${r.projections}: ${r.steps.map((s) => s.op).join(' ')}${r.gated ? ' (gated)' : ''}`;

/**
 * The cell a recipe describes, built with the public DSL. Throws (an `internal`-style bug in
 * the generator, never the user's) if it does not instantiate.
 * @since 0.1.0
 * @category constructors
 */
export const recipeCell = (r: CellRecipe): Cell => {
  const S = r.stateFields, H = r.hidden;
  const fields = Array.from({ length: S }, (_, i) => `s${i}`);
  const matvecs = r.steps.filter((s) => s.op === 'matvec').length;
  const family = defineCell({
    name: `random(${showRecipe(r)})`,
    sizes: ['input', 'hidden'],
    params: ({ input: I, hidden: h }) => {
      const p: Record<string, ParamShape> = {};
      for (let j = 0; j < r.projections; j++) (p[`W${j}`] = [h, I + S * h]), (p[`b${j}`] = [h]);
      for (let j = 0; j < matvecs; j++) p[`U${j}`] = [h, h];
      return p;
    },
    state: ({ hidden: h }) => Object.fromEntries(fields.map((f) => [f, [h] as const])),
    step: (p, x, state) => {
      const s = fields.map((f) => state[f]!);
      const pool: Vec[] = [...s];
      for (let j = 0; j < r.projections; j++) pool.push(op.linear(p[`W${j}`] as Mat, op.concat(x, ...s), p[`b${j}`] as Vec));
      let u = 0;
      for (const st of r.steps) {
        const a = pool[st.a % pool.length]!, b = pool[st.b % pool.length]!;
        pool.push(stepOp(st, a, b, H, () => p[`U${u++}`] as Mat));
      }
      const pick = (i: number): Vec => pool[i % pool.length]!;
      const next = s.map((old, i) => {
        const candidate = op.tanh(pick(r.updates[i % r.updates.length]!));
        if (!r.gated) return candidate;
        const z = op.sigmoid(pick(r.gate));
        return op.add(op.mul(op.oneMinus(z), old), op.mul(z, candidate));
      });
      return { state: Object.fromEntries(fields.map((f, i) => [f, next[i]!])), output: pick(r.output) };
    },
  });
  return getOrThrow(family.instantiate({ input: r.input, hidden: H }));
};
