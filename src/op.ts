/**
 * The DSL a step function is written in. Every function records one or a few eqns on the
 * trace of its arguments and returns a symbolic value; ranks are checked by TypeScript, exact
 * sizes when the cell is instantiated.
 *
 * ```ts
 * const f = op.sigmoid(op.add(op.matvec(p.W_f, op.concat(x, h)), p.b_f));
 * ```
 */
import type { OpParams, OpTag } from './ir';
import type { CustomPrimitive } from './primitives/types';
import { showShape } from './shape';
import { activeTracer, Sym, type Mat, type Rank, type Scalar, type Tracer, type Vec } from './trace';

type Tuple<A, N extends number, Acc extends readonly A[] = []> = Acc['length'] extends N ? Acc : Tuple<A, N, [...Acc, A]>;

/** The trace an op records into: its first symbolic argument's, or the step being traced. */
const traceOf = (op: string, args: readonly unknown[]): Tracer => {
  for (const a of args) if (a instanceof Sym) return a.tracer;
  return activeTracer(op);
};

/** Records one built-in eqn; argument checking (ownership, arity, shapes) is the tracer's. */
const record = <K extends OpTag>(op: K, params: OpParams[K], args: readonly unknown[]): Sym =>
  traceOf(op, args).emit(op, params, args);

const unary = <R extends Rank>(tag: 'neg' | 'tanh' | 'sigmoid' | 'relu' | 'exp' | 'log' | 'copy', x: Sym<R>): Sym<R> =>
  record(tag, {}, [x]) as Sym<R>;

const binary = <R extends Rank>(tag: 'add' | 'sub' | 'mul', a: Sym<R>, b: Sym<R>): Sym<R> => record(tag, {}, [a, b]) as Sym<R>;

/** y = A x (a matrix times a per-example vector). @since 0.1.0 @category linear algebra */
export const matvec = (a: Mat, x: Vec): Vec => record('matvec', {}, [a, x]) as Vec;
/** y = W x + b. @since 0.1.0 @category linear algebra */
export const linear = (w: Mat, x: Vec, b: Vec): Vec => add(matvec(w, x), b);

/** a + b (equal shapes). @since 0.1.0 @category element-wise */
export const add = <R extends Rank>(a: Sym<R>, b: Sym<R>): Sym<R> => binary('add', a, b);
/** a − b. @since 0.1.0 @category element-wise */
export const sub = <R extends Rank>(a: Sym<R>, b: Sym<R>): Sym<R> => binary('sub', a, b);
/** a ⊙ b (element-wise product). @since 0.1.0 @category element-wise */
export const mul = <R extends Rank>(a: Sym<R>, b: Sym<R>): Sym<R> => binary('mul', a, b);
/** −x. @since 0.1.0 @category element-wise */
export const neg = <R extends Rank>(x: Sym<R>): Sym<R> => unary('neg', x);
/** factor · x. @since 0.1.0 @category element-wise */
export const scale = <R extends Rank>(x: Sym<R>, factor: number): Sym<R> => record('scale', { factor }, [x]) as Sym<R>;
/** x + offset. @since 0.1.0 @category element-wise */
export const shift = <R extends Rank>(x: Sym<R>, offset: number): Sym<R> => record('shift', { offset }, [x]) as Sym<R>;
/** 1 − x (the complement of a gate). @since 0.1.0 @category element-wise */
export const oneMinus = <R extends Rank>(x: Sym<R>): Sym<R> => shift(neg(x), 1);
/** tanh x. @since 0.1.0 @category element-wise */
export const tanh = <R extends Rank>(x: Sym<R>): Sym<R> => unary('tanh', x);
/** σ(x) = 1 / (1 + e^−x). @since 0.1.0 @category element-wise */
export const sigmoid = <R extends Rank>(x: Sym<R>): Sym<R> => unary('sigmoid', x);
/** max(x, 0). @since 0.1.0 @category element-wise */
export const relu = <R extends Rank>(x: Sym<R>): Sym<R> => unary('relu', x);
/** eˣ. @since 0.1.0 @category element-wise */
export const exp = <R extends Rank>(x: Sym<R>): Sym<R> => unary('exp', x);
/** ln x. @since 0.1.0 @category element-wise */
export const log = <R extends Rank>(x: Sym<R>): Sym<R> => unary('log', x);
/** x itself, as a var of its own. @since 0.1.0 @category element-wise */
export const copy = <R extends Rank>(x: Sym<R>): Sym<R> => unary('copy', x);

/** [a; b; …]: vectors joined end to end. @since 0.1.0 @category structure */
export const concat = (...xs: readonly Vec[]): Vec => record('concat', {}, xs) as Vec;
/** x[start : start + size]. @since 0.1.0 @category structure */
export const slice = (x: Vec, start: number, size: number): Vec => record('slice', { start, size }, [x]) as Vec;
/** Consecutive pieces of the given sizes (which must add up to x's size). @since 0.1.0 @category structure */
export const split = (x: Vec, sizes: readonly number[]): Vec[] => {
  let start = 0;
  return sizes.map((size) => {
    const piece = slice(x, start, size);
    start += size;
    return piece;
  });
};
/**
 * n equal pieces, as a tuple: `const [i, f, g, o] = op.chunk(gates, 4)`. The size is only
 * known when the cell is instantiated; a size that does not divide is a shape error then.
 * @since 0.1.0
 * @category structure
 */
export const chunk = <N extends number>(x: Vec, n: N): Tuple<Vec, N> => {
  const t = traceOf('chunk', [x]);
  const v = x instanceof Sym ? t.vars[x.id] : undefined;
  const size = v?.shape.length === 1 ? v.shape[0]! : undefined;
  if (size !== undefined && (!Number.isSafeInteger(n) || n < 1 || size % n !== 0)) {
    return Array.from({ length: n }, () => t.fail('chunk', `${v!.label} ${showShape(v!.shape)} does not split into ${n} equal pieces`)) as Tuple<Vec, N>;
  }
  return split(x, Array.from({ length: n }, () => (size ?? n) / n)) as Tuple<Vec, N>;
};

/**
 * Applies a user-declared primitive (see {@link definePrimitive}) to symbolic values: its eqn
 * goes into the graph by name, and its rules travel with the cell.
 * @since 0.1.0
 * @category custom
 */
export const call = <R extends Rank = 1>(primitive: CustomPrimitive, ...args: readonly Sym[]): Sym<R> => {
  const t = traceOf(primitive.name, args);
  t.register(primitive);
  return t.emit('custom', { name: primitive.name }, args) as Sym<R>;
};

/** Σ of all elements. @since 0.1.0 @category reductions */
export const sum = (x: Sym): Scalar => record('sum', {}, [x]) as Scalar;
/** Mean of all elements. @since 0.1.0 @category reductions */
export const mean = (x: Sym): Scalar => record('mean', {}, [x]) as Scalar;
/** exp(x_i) / Σ_j exp(x_j), computed stably. @since 0.1.0 @category reductions */
export const softmax = (x: Vec): Vec => record('softmax', {}, [x]) as Vec;
/** x_i − log Σ_j exp(x_j), computed stably. @since 0.1.0 @category reductions */
export const logSoftmax = (x: Vec): Vec => record('logSoftmax', {}, [x]) as Vec;
/** Mean over the examples of the batch: the one op that sees the batch (losses use it). @since 0.1.0 @category reductions */
export const batchMean = <R extends Rank>(x: Sym<R>): Sym<R> => record('batchMean', {}, [x]) as Sym<R>;

/** A constant vector, the same for every example. @since 0.1.0 @category constants */
export function fill(shape: readonly [number], value: number): Vec;
/** A constant matrix. @since 0.1.0 @category constants */
export function fill(shape: readonly [number, number], value: number): Mat;
/** A constant scalar. @since 0.1.0 @category constants */
export function fill(shape: readonly [], value: number): Scalar;
export function fill(shape: readonly number[], value: number): Sym {
  return activeTracer('fill').emit('fill', { shape: [...shape], value }, []);
}

/** Names a value for listings and messages; returns the same value. @since 0.1.0 @category naming */
export const name = <R extends Rank>(x: Sym<R>, label: string): Sym<R> => {
  traceOf('name', [x]).relabel(x, label);
  return x;
};
