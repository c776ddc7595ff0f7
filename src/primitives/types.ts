/** The contract every primitive fulfils: shape rule, kernels (forward, VJP, JVP), saved values, domain. */
import type { Either } from 'fp-ts/Either';
import type { OpParams, OpTag } from '../ir';
import type { Shape } from '../shape';

/** The storage a plan runs on: one typed array per arena, chosen by dtype. @since 0.1.0 @category model */
export type Buf = Float64Array | Float32Array;

/**
 * One eqn placed in memory for a batched run: where each operand lives in the value arena, and
 * where its cotangent lives in the gradient arena. A batched operand of per-example size n
 * occupies `[batch, n]` row-major and has stride n; an unbatched one (a weight, a constant) has
 * stride 0, so a kernel that loops over the batch reads the same weight for every example, and a
 * VJP that accumulates into it with stride 0 sums over the batch: un-broadcasting happens in
 * one place, the memory layout, never inside a rule.
 * @since 0.1.0
 * @category model
 */
export interface Site<P = unknown> {
  /** Batch iterations: the batch size when the output is batched, else 1. */
  readonly nb: number;
  /** The run's batch size (used by batch reductions). */
  readonly batch: number;
  readonly inOff: readonly number[];
  readonly inStride: readonly number[];
  readonly inShape: readonly Shape[];
  /** Per-example element counts of the inputs. */
  readonly inSize: readonly number[];
  readonly outOff: number;
  readonly outStride: number;
  readonly outShape: Shape;
  readonly outSize: number;
  readonly params: P;
  /** Cotangent offsets of the inputs in the gradient arena; -1 where no gradient is wanted. */
  readonly gIn: readonly number[];
  /** Cotangent offset of the output in the gradient arena. */
  readonly gOut: number;
  /**
   * The plan's WebAssembly kernels (matvec's GEMMs, the element-wise kernels), when its arenas
   * live in a wasm memory (filled in once the arenas exist; the kernels stay undefined on the
   * typed-array tier). Offsets passed to them are into the whole memory: values start at 0,
   * cotangents at `gradBase`.
   */
  readonly gemm?: GemmHolder;
}

/** The GEMM kernels a site may use (see `src/kernels/wasm.ts`), element offsets. @since 0.1.0 @category model */
export interface GemmKernels {
  /** Y[r, i] = Σ_k X[r, k] A[i, k] (overwrites Y [rows, m]). */
  readonly nt: (y: number, x: number, a: number, rows: number, m: number, n: number) => void;
  /** dA[i, k] += Σ_r dY[r, i] X[r, k]. */
  readonly tnAcc: (da: number, dy: number, x: number, rows: number, m: number, n: number) => void;
  /** dX[r, k] += Σ_i dY[r, i] A[i, k]. */
  readonly nnAcc: (dx: number, dy: number, a: number, rows: number, m: number, n: number) => void;
}

/**
 * The element-wise kernels a site may use (see `src/kernels/wasm.ts`), element offsets. Each
 * works on `rows` rows of n: the output, or the accumulated cotangent of a batched operand, is
 * [rows, n] contiguous, and every other operand has a row stride of n (batched) or 0 (a shared
 * [n] vector). One contiguous run of `count` elements is rows = 1, n = count.
 * @since 0.1.0
 * @category model
 */
export interface ElementwiseKernels {
  /** y[r, i] = a[r·as + i] + b[r·bs + i]. */
  readonly addRows: (y: number, a: number, as: number, b: number, bs: number, rows: number, n: number) => void;
  /** y[r, i] = a[r·as + i] − b[r·bs + i]. */
  readonly subRows: (y: number, a: number, as: number, b: number, bs: number, rows: number, n: number) => void;
  /** y[r, i] = a[r·as + i] · b[r·bs + i]. */
  readonly mulRows: (y: number, a: number, as: number, b: number, bs: number, rows: number, n: number) => void;
  /** g[r·gs + i] += dy[r, i] (gs = 0: the sum over rows). */
  readonly accAddRows: (g: number, gs: number, dy: number, rows: number, n: number) => void;
  /** g[r·gs + i] −= dy[r, i]. */
  readonly accSubRows: (g: number, gs: number, dy: number, rows: number, n: number) => void;
  /** g[r·gs + i] += dy[r, i] · o[r·os + i]. */
  readonly accMulRows: (g: number, gs: number, dy: number, o: number, os: number, rows: number, n: number) => void;
  /** y = tanh x over `count` elements. */
  readonly tanh: (y: number, x: number, count: number) => void;
  /** y = σ(x) over `count` elements. */
  readonly sigmoid: (y: number, x: number, count: number) => void;
  /** g += (1 − y²) dy, from tanh's saved output y. */
  readonly accTanhGrad: (g: number, dy: number, y: number, count: number) => void;
  /** g += y (1 − y) dy, from sigmoid's saved output y. */
  readonly accSigmoidGrad: (g: number, dy: number, y: number, count: number) => void;
  /** y[r·ys + i] = x[r·xs + i] for r < rows, i < n (a row copy; xs = 0 repeats one row). @since 0.1.0 */
  readonly copyRows: (y: number, ys: number, x: number, xs: number, rows: number, n: number) => void;
}

/** Where a plan's sites find its WebAssembly kernels, if any. @since 0.1.0 @category model */
export interface GemmHolder {
  kernels?: GemmKernels;
  /** @since 0.1.0 */
  elementwise?: ElementwiseKernels;
  /**
   * The plan's value and gradient arenas, views of the kernels' memory: a rule runs a kernel
   * only on these (a JVP's tangent arena, say, is not in that memory). @since 0.1.0
   */
  values?: Buf;
  grads?: Buf;
  gradBase: number;
  /**
   * Runs a fused group's program (at BYTE offset `prog`) over its `rows`, split over the
   * threads where `work` pays (see `src/fuse.ts`). @since 0.1.0
   */
  fused?: (prog: number, rows: number, work: number) => void;
}

/** An input as the shape rule sees it: its shape and its label for messages. @since 0.1.0 @category model */
export interface Operand {
  readonly shape: Shape;
  readonly label: string;
}

/**
 * Where the laws sample a primitive's inputs from: an interval, and points to stay away from
 * (a kink such as relu's 0, where finite differences are meaningless).
 * @since 0.1.0
 * @category model
 */
export interface Domain {
  readonly min: number;
  readonly max: number;
  readonly avoid?: readonly number[];
}

/**
 * The rules of one primitive (a row of the primitive table, or a user-declared primitive).
 * - `shape` infers the output shape or says, naming both operands, why the inputs do not fit;
 * - `forward` writes the output; `vjp` ADDS each wanted input's cotangent contribution
 *   (fan-in accumulation is the interpreter's, by pre-zeroing); `jvp` writes the output tangent
 *   from the input tangents, which live in a tangent arena laid out like the value arena;
 * - `saves` says which values the VJP reads, so the planner keeps exactly those alive.
 * @since 0.1.0
 * @category model
 */
export interface Rule<P> {
  readonly arity: number | 'variadic';
  readonly shape: (ins: readonly Operand[], params: P) => Either<string, Shape>;
  /** `reduce`: the output drops the batch dimension (a mean over examples). */
  readonly batching: 'map' | 'reduce';
  readonly saves: { readonly inputs: boolean; readonly output: boolean };
  readonly forward: (v: Buf, s: Site<P>) => void;
  readonly vjp: (v: Buf, g: Buf, s: Site<P>) => void;
  readonly jvp: (v: Buf, t: Buf, s: Site<P>) => void;
  readonly domain: Domain;
}

/** The rules of a built-in primitive, by tag. @since 0.1.0 @category model */
export type Primitive<K extends OpTag> = Rule<OpParams[K]>;

/**
 * A user-declared primitive (see `definePrimitive`): the same rules as a built-in, under a
 * name that its eqns carry.
 * @since 0.1.0
 * @category model
 */
export interface CustomPrimitive extends Rule<{ readonly name: string }> {
  readonly name: string;
}

/** The custom primitives a graph uses, by name. @since 0.1.0 @category model */
export type Customs = ReadonlyMap<string, CustomPrimitive>;
