/**
 * Case generators for every built-in primitive: the arbitraries behind `checkPrimitive` and the
 * primitive property tests (test/primitives.test.ts).
 *
 * One entry per primitive tag, typed `{ [K in OpTag]: OpCase<K> }` so that a tag added to the IR
 * without a case here is a compile error (and, through the `opTags` loop in the test, a runtime
 * failure with a clear message). Each entry gives:
 * - `instance`: random shapes, params, batchedness and operand wiring suited to the op;
 * - `reference`: an independent plain-number forward pass (no code shared with src/);
 * - `mismatch`: inputs the shape rule must reject, with the substrings its message must contain,
 *   or `null` for ops whose shape rule accepts every input (stated per op).
 *
 * Nothing here uses kernels: only the IR types, the shape helpers and the primitives' domains.
 */
import fc from 'fast-check';
import { numel, primitives, sameShape, showShape, type Domain, type OpParams, type OpTag, type Shape } from 'loopgrad';

/** A graph input of a case: its per-example shape and whether it carries the batch dimension. */
export interface OperandSpec {
  readonly shape: Shape;
  readonly batched: boolean;
}

/**
 * A concrete use of one primitive, before any number is drawn: the distinct graph inputs
 * (`operands`), which operand each argument of the op is (`args`, so `mul(x, x)` is
 * `args: [0, 0]`; an operand no argument refers to is a graph input the op ignores), and the
 * output shape the test expects, worked out here rather than by the shape rule under test.
 */
export interface Instance<K extends OpTag = OpTag> {
  readonly op: K;
  readonly params: OpParams[K];
  readonly operands: readonly OperandSpec[];
  readonly args: readonly number[];
  readonly outShape: Shape;
}

/** An instance with a batch size and all the numbers a run needs. */
export interface Case<K extends OpTag = OpTag> extends Instance<K> {
  readonly batch: number;
  /** Expected batchedness of the op's output (map: any argument batched; reduce: never). */
  readonly outBatched: boolean;
  /** Values of each operand, `numel(shape) · (batched ? batch : 1)` each, from the op's domain. */
  readonly values: readonly (readonly number[])[];
  /** Whether a gradient is wanted for each operand (at least one when there are operands). */
  readonly wanted: readonly boolean[];
  /** Whether the cotangent input c of the loss is batched (always when the output is). */
  readonly cotBatched: boolean;
  /** Values of c, `numel(outShape) · (cotBatched ? batch : 1)`, in [-1, 1]. */
  readonly cot: readonly number[];
  /** Input tangents u, laid out like `values`, in [-1, 1]. */
  readonly tangents: readonly (readonly number[])[];
}

/** Inputs a shape rule must reject, and what its message must name. */
export interface Mismatch<K extends OpTag = OpTag> {
  readonly op: K;
  readonly params: OpParams[K];
  readonly operands: readonly { readonly shape: Shape; readonly label: string }[];
  /** Substrings the message must contain: the labels and shapes of the operands at fault. */
  readonly mentions: readonly string[];
}

export interface OpCase<K extends OpTag> {
  readonly instance: fc.Arbitrary<Instance<K>>;
  /** The op's output for the whole batch, laid out as the out var (`[nb, numel(outShape)]`). */
  readonly reference: (c: Case<K>) => number[];
  readonly mismatch: fc.Arbitrary<Mismatch<K>> | null;
}

// ---------------------------------------------------------------------------------------------
// building blocks

const dim = fc.integer({ min: 1, max: 4 });
/** Per-example shapes of rank 0–2 with dims 1..4. */
const shapeArb: fc.Arbitrary<Shape> = fc.oneof(
  fc.constant<Shape>([]),
  fc.tuple(dim).map((s): Shape => s),
  fc.tuple(dim, dim).map((s): Shape => s),
);
const vectorArb: fc.Arbitrary<Shape> = fc.integer({ min: 1, max: 5 }).map((n): Shape => [n]);
/** Shapes that are not vectors (rank 0 or 2), for the ops that demand a vector. */
const nonVectorArb: fc.Arbitrary<Shape> = fc.oneof(
  fc.constant<Shape>([]),
  fc.tuple(dim, dim).map((s): Shape => s),
);
/**
 * A float drawn uniformly from the grid 2⁻²⁰ℤ ∩ [min, max] (nine times in ten), else one of the
 * interval's ends or 0 when inside it. Deliberately not `fc.double`: its bias towards tiny
 * magnitudes (1e-300, subnormals) makes many entries ≈ 0 — products then underflow gradually
 * (so "2c gives exactly 2× the gradient" fails for reasons of the number format) and terms
 * such as a·db in d(a ⊙ b) are too small to be noticed when dropped. Grid values (|x| ≤ 5,
 * ≤ 23 significant bits) are also exact in float32, so both dtypes see the same inputs.
 */
const GRID = 2 ** 20;
const realArb = (min: number, max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { arbitrary: fc.noBias(fc.integer({ min: Math.ceil(min * GRID), max: Math.floor(max * GRID) })).map((k) => k / GRID), weight: 9 },
    { arbitrary: fc.constantFrom(...[min, max, 0].filter((x) => x >= min && x <= max)), weight: 1 },
  );

/** Batchedness of n operands with at least one batched. */
const someBatched = (n: number): fc.Arbitrary<boolean[]> =>
  fc.array(fc.boolean(), { minLength: n, maxLength: n }).map((fl) => (fl.some((b) => b) ? fl : fl.map((_, i) => i === 0)));

/** A unary op's single operand is batched three times out of four. */
const mostlyBatched = fc.integer({ min: 0, max: 3 }).map((k) => k > 0);

/** The value entries of operand `a` for example `b` (an unbatched operand is the same for all). */
export const exampleOf = (c: Case, a: number, b: number): number[] => {
  const o = c.operands[a]!, n = numel(o.shape), at = o.batched ? b * n : 0;
  return c.values[a]!.slice(at, at + n);
};

/** Reference of a map op: `f` applied example by example to the op's arguments. */
const perExample = <K extends OpTag>(f: (xs: number[][], c: Case<K>) => number[]) => (c: Case<K>): number[] => {
  const out: number[] = [];
  for (let b = 0; b < (c.outBatched ? c.batch : 1); b++) {
    out.push(...f(c.args.map((a) => exampleOf(c as unknown as Case, a, b)), c));
  }
  return out;
};

const unaryRef = <K extends OpTag>(f: (x: number, p: OpParams[K]) => number) =>
  perExample<K>(([x], c) => x!.map((xi) => f(xi, c.params)));
const binaryRef = <K extends OpTag>(f: (a: number, b: number) => number) =>
  perExample<K>(([x, y]) => x!.map((xi, i) => f(xi, y![i]!)));

const none = {} as Record<string, never>;

/** A unary op on a rank 0–2 operand (batched 3/4 of the time). */
const unaryInstance = <K extends OpTag>(op: K, params: fc.Arbitrary<OpParams[K]>): fc.Arbitrary<Instance<K>> =>
  fc.record({ shape: shapeArb, batched: mostlyBatched, params }).map(({ shape, batched, params }) => ({
    op, params, operands: [{ shape, batched }], args: [0], outShape: shape,
  }));

/** A unary op that needs a vector. */
const vectorInstance = <K extends OpTag>(op: K): fc.Arbitrary<Instance<K>> =>
  fc.record({ shape: vectorArb, batched: mostlyBatched }).map(({ shape, batched }) => ({
    op, params: none as OpParams[K], operands: [{ shape, batched }], args: [0], outShape: shape,
  }));

/**
 * A binary element-wise op: equal shapes of rank 0–2, at least one operand batched, and one
 * time in five the same var twice (`mul(x, x)`: the two cotangent contributions must add up).
 */
const binaryInstance = <K extends 'add' | 'sub' | 'mul'>(op: K): fc.Arbitrary<Instance<K>> =>
  fc.record({ shape: shapeArb, batched: someBatched(2), alias: fc.integer({ min: 0, max: 4 }).map((k) => k === 0) })
    .map(({ shape, batched, alias }) => ({
      op,
      params: none as OpParams[K],
      operands: alias ? [{ shape, batched: true }] : [{ shape, batched: batched[0]! }, { shape, batched: batched[1]! }],
      args: alias ? [0, 0] : [0, 1],
      outShape: shape,
    }));

/** Two shapes of rank 0–2 that differ. */
const unequalShapes = fc.tuple(shapeArb, shapeArb).filter(([a, b]) => !sameShape(a, b));

const binaryMismatch = <K extends 'add' | 'sub' | 'mul'>(op: K): fc.Arbitrary<Mismatch<K>> =>
  unequalShapes.map(([a, b]) => ({
    op,
    params: none as OpParams[K],
    operands: [{ shape: a, label: 'lhs' }, { shape: b, label: 'rhs' }],
    mentions: ['lhs', showShape(a), 'rhs', showShape(b)],
  }));

/** A vector op given a non-vector. */
const vectorMismatch = <K extends 'softmax' | 'logSoftmax'>(op: K): fc.Arbitrary<Mismatch<K>> =>
  nonVectorArb.map((s) => ({ op, params: none as OpParams[K], operands: [{ shape: s, label: 'logits' }], mentions: ['logits', showShape(s)] }));

const sigma = (x: number): number => 1 / (1 + Math.exp(-x));

// ---------------------------------------------------------------------------------------------
// the table

export const cases: { readonly [K in OpTag]: OpCase<K> } = {
  matvec: {
    // A [m, n] shared and x batched (the GEMM case) half of the time, else A batched with x
    // batched or shared; m up to 5 so both the 4-row unrolled loop and its tail run. Batched A
    // must come up often (and with B ≥ 2 and A wanted) to check the per-example dA offsets.
    instance: fc.record({
      m: fc.integer({ min: 1, max: 5 }),
      n: fc.integer({ min: 1, max: 5 }),
      batched: fc.constantFrom([false, true], [false, true], [true, true], [true, false]),
    }).map(({ m, n, batched }) => ({
      op: 'matvec' as const,
      params: none,
      operands: [{ shape: [m, n], batched: batched[0]! }, { shape: [n], batched: batched[1]! }],
      args: [0, 1],
      outShape: [m],
    })),
    reference: perExample(([a, x], c) => {
      const [m, n] = c.operands[c.args[0]!]!.shape as [number, number];
      const y: number[] = [];
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a![i * n + k]! * x![k]!;
        y.push(s);
      }
      return y;
    }),
    mismatch: fc.oneof(
      // inner sizes differ: both operands must be named with their shapes
      fc.record({ m: dim, n: dim, k: dim }).filter(({ n, k }) => n !== k).map(({ m, n, k }) => ({
        op: 'matvec' as const, params: none,
        operands: [{ shape: [m, n], label: 'W' }, { shape: [k], label: 'x' }],
        mentions: ['W', showShape([m, n]), 'x', showShape([k])],
      })),
      // the matrix operand is not a matrix
      fc.record({ a: fc.oneof(fc.constant<Shape>([]), vectorArb), n: dim }).map(({ a, n }) => ({
        op: 'matvec' as const, params: none,
        operands: [{ shape: a, label: 'W' }, { shape: [n], label: 'x' }],
        mentions: ['W', showShape(a)],
      })),
      // the vector operand is not a vector
      fc.record({ m: dim, n: dim, x: nonVectorArb }).map(({ m, n, x }) => ({
        op: 'matvec' as const, params: none,
        operands: [{ shape: [m, n], label: 'W' }, { shape: x, label: 'x' }],
        mentions: ['x', showShape(x)],
      })),
    ),
  },

  add: { instance: binaryInstance('add'), reference: binaryRef((a, b) => a + b), mismatch: binaryMismatch('add') },
  sub: { instance: binaryInstance('sub'), reference: binaryRef((a, b) => a - b), mismatch: binaryMismatch('sub') },
  mul: { instance: binaryInstance('mul'), reference: binaryRef((a, b) => a * b), mismatch: binaryMismatch('mul') },

  // Unary element-wise ops accept any shape: no mismatch exists.
  neg: { instance: unaryInstance('neg', fc.constant(none)), reference: unaryRef((x) => -x), mismatch: null },
  scale: {
    instance: unaryInstance('scale', realArb(-3, 3).map((factor) => ({ factor }))),
    reference: unaryRef<'scale'>((x, p) => p.factor * x),
    mismatch: null,
  },
  shift: {
    instance: unaryInstance('shift', realArb(-3, 3).map((offset) => ({ offset }))),
    reference: unaryRef<'shift'>((x, p) => x + p.offset),
    mismatch: null,
  },
  copy: { instance: unaryInstance('copy', fc.constant(none)), reference: unaryRef((x) => x), mismatch: null },
  tanh: { instance: unaryInstance('tanh', fc.constant(none)), reference: unaryRef(Math.tanh), mismatch: null },
  sigmoid: { instance: unaryInstance('sigmoid', fc.constant(none)), reference: unaryRef(sigma), mismatch: null },
  relu: { instance: unaryInstance('relu', fc.constant(none)), reference: unaryRef((x) => (x > 0 ? x : 0)), mismatch: null },
  exp: { instance: unaryInstance('exp', fc.constant(none)), reference: unaryRef(Math.exp), mismatch: null },
  log: { instance: unaryInstance('log', fc.constant(none)), reference: unaryRef(Math.log), mismatch: null },

  concat: {
    // 1–4 vectors with mixed batchedness (at least one batched); one time in four the
    // arguments are a random list of operand indices (repeats, and operands left unused).
    instance: fc.integer({ min: 1, max: 4 }).chain((k) =>
      fc.record({
        sizes: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: k, maxLength: k }),
        batched: someBatched(k),
        args: fc.oneof(
          { arbitrary: fc.constant(Array.from({ length: k }, (_, i) => i)), weight: 3 },
          { arbitrary: fc.array(fc.nat(k - 1), { minLength: 1, maxLength: 4 }), weight: 1 },
        ),
      })).map(({ sizes, batched, args }) => ({
      op: 'concat' as const,
      params: none,
      operands: sizes.map((n, i) => ({ shape: [n], batched: batched[i]! })),
      args,
      outShape: [args.reduce((s, a) => s + sizes[a]!, 0)],
    })),
    reference: perExample((xs) => xs.flat()),
    mismatch: fc.record({
      before: fc.array(vectorArb, { maxLength: 2 }),
      bad: nonVectorArb,
      after: fc.array(fc.oneof(vectorArb, nonVectorArb), { maxLength: 2 }),
    }).map(({ before, bad, after }) => ({
      op: 'concat' as const,
      params: none,
      operands: [...before, bad, ...after].map((shape, i) => ({ shape, label: `part${i}` })),
      // the first operand that is not a vector is the one named
      mentions: [`part${before.length}`, showShape(bad)],
    })),
  },

  slice: {
    instance: fc.integer({ min: 1, max: 5 }).chain((n) =>
      fc.integer({ min: 0, max: n - 1 }).chain((start) =>
        fc.record({ size: fc.integer({ min: 1, max: n - start }), batched: mostlyBatched }).map(({ size, batched }) => ({
          op: 'slice' as const,
          params: { start, size },
          operands: [{ shape: [n], batched }],
          args: [0],
          outShape: [size],
        })))),
    reference: perExample(([x], c) => x!.slice(c.params.start, c.params.start + c.params.size)),
    mismatch: fc.oneof(
      // a vector with a window that does not fit in it
      fc.integer({ min: 1, max: 5 }).chain((n) =>
        fc.oneof(
          fc.record({ start: fc.integer({ min: 0, max: n }), size: fc.integer({ min: 1, max: 4 }) }).filter(({ start, size }) => start + size > n),
          fc.record({ start: fc.integer({ min: -3, max: -1 }), size: fc.integer({ min: 1, max: n }) }),
          fc.record({ start: fc.integer({ min: 0, max: n - 1 }), size: fc.integer({ min: -2, max: 0 }) }),
          fc.record({ start: fc.constant(0.5), size: fc.constant(1) }),
          fc.record({ start: fc.constant(0), size: fc.constant(1.5) }),
        ).map((params) => ({
          op: 'slice' as const,
          params,
          operands: [{ shape: [n], label: 'seq' }],
          mentions: ['seq', showShape([n]), `${params.start}`],
        }))),
      // not a vector
      nonVectorArb.map((s) => ({
        op: 'slice' as const,
        params: { start: 0, size: 1 },
        operands: [{ shape: s, label: 'seq' }],
        mentions: ['seq', showShape(s)],
      })),
    ),
  },

  // Reductions to a scalar accept any shape: no mismatch exists.
  sum: {
    instance: unaryInstance('sum', fc.constant(none)).map((i) => ({ ...i, outShape: [] })),
    reference: perExample(([x]) => [x!.reduce((s, v) => s + v, 0)]),
    mismatch: null,
  },
  mean: {
    instance: unaryInstance('mean', fc.constant(none)).map((i) => ({ ...i, outShape: [] })),
    reference: perExample(([x]) => [x!.reduce((s, v) => s + v, 0) / x!.length]),
    mismatch: null,
  },
  softmax: {
    instance: vectorInstance('softmax'),
    // the textbook formula, without the max shift the kernel uses (inputs are in [-2, 2])
    reference: perExample(([x]) => {
      const e = x!.map(Math.exp), z = e.reduce((s, v) => s + v, 0);
      return e.map((v) => v / z);
    }),
    mismatch: vectorMismatch('softmax'),
  },
  logSoftmax: {
    instance: vectorInstance('logSoftmax'),
    reference: perExample(([x]) => {
      const lz = Math.log(x!.reduce((s, v) => s + Math.exp(v), 0));
      return x!.map((v) => v - lz);
    }),
    mismatch: vectorMismatch('logSoftmax'),
  },

  fill: {
    // no inputs; the output is an unbatched constant of rank 0–2
    instance: fc.record({ shape: shapeArb, value: realArb(-5, 5) }).map(({ shape, value }) => ({
      op: 'fill' as const,
      params: { shape, value },
      operands: [],
      args: [],
      outShape: shape,
    })),
    reference: (c) => new Array<number>(numel(c.params.shape)).fill(c.params.value),
    mismatch: fc.oneof(
      fc.record({ shape: fc.tuple(dim, dim, dim).map((s): Shape => s), value: realArb(-5, 5) }),
      fc.record({
        shape: fc.oneof(
          fc.tuple(fc.integer({ min: -2, max: 0 })).map((s): Shape => s),
          fc.tuple(dim, fc.integer({ min: -2, max: 0 })).map((s): Shape => s),
          fc.constant<Shape>([1.5]),
        ),
        value: realArb(-5, 5),
      }),
      fc.record({ shape: shapeArb, value: fc.constantFrom(Number.NaN, Infinity, -Infinity) }),
    ).map((params) => ({
      op: 'fill' as const,
      params,
      operands: [],
      mentions: [showShape(params.shape), `${params.value}`],
    })),
  },

  batchMean: {
    // any rank; the input may be unbatched (then the mean over the batch is the value itself)
    instance: unaryInstance('batchMean', fc.constant(none)),
    reference: (c) => {
      const n = numel(c.outShape), out = new Array<number>(n).fill(0);
      for (let b = 0; b < c.batch; b++) {
        const x = exampleOf(c as unknown as Case, 0, b);
        for (let i = 0; i < n; i++) out[i]! += x[i]!;
      }
      return out.map((s) => s / c.batch);
    },
    mismatch: null,
  },
};

/** The case entry of a tag, typed loosely for loops over `opTags`. */
export const caseOf = (op: OpTag): OpCase<OpTag> | undefined =>
  (cases as unknown as Partial<Record<OpTag, OpCase<OpTag>>>)[op];

// ---------------------------------------------------------------------------------------------
// numbers

/** Values from a primitive's domain, at least 0.05 away from each point it asks to avoid. */
export const domainValue = (d: Domain): fc.Arbitrary<number> =>
  realArb(d.min, d.max).filter((x) => (d.avoid ?? []).every((p) => Math.abs(x - p) >= 0.05));

const fixedArray = (arb: fc.Arbitrary<number>, n: number): fc.Arbitrary<number[]> =>
  fc.array(arb, { minLength: n, maxLength: n });

/** A full case for an op: an instance, a batch size 1..3, values, wanted inputs, c and tangents. */
export const caseArb = (op: OpTag): fc.Arbitrary<Case> => {
  const spec = caseOf(op)!;
  const domain = primitives[op].domain;
  return spec.instance.chain((inst) =>
    fc.integer({ min: 1, max: 3 }).chain((batch) => {
      const outBatched = primitives[op].batching === 'reduce' ? false : inst.args.some((a) => inst.operands[a]!.batched);
      const lens = inst.operands.map((o) => numel(o.shape) * (o.batched ? batch : 1));
      const unit = realArb(-1, 1);
      return fc.record({
        values: fc.tuple(...lens.map((n) => fixedArray(domainValue(domain), n))),
        tangents: fc.tuple(...lens.map((n) => fixedArray(unit, n))),
        wanted: fixedArray(fc.integer({ min: 0, max: 4 }), lens.length).map((w) =>
          w.some((k) => k > 0) ? w.map((k) => k > 0) : w.map(() => true)),
        cotBatched: outBatched ? fc.constant(true) : fc.boolean(),
      }).chain(({ values, tangents, wanted, cotBatched }) =>
        fixedArray(unit, numel(inst.outShape) * (cotBatched ? batch : 1)).map((cot): Case => ({
          ...(inst as Instance),
          batch, outBatched, values, tangents, wanted, cotBatched, cot,
        })));
    }));
};

/** Mismatches of an op, if its shape rule can fail at all. */
export const mismatchArb = (op: OpTag): fc.Arbitrary<Mismatch> | null =>
  caseOf(op)?.mismatch ?? null;
