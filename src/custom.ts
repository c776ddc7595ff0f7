/**
 * Custom primitives: a user declares a new op with its forward kernel and its VJP (and JVP),
 * uses it in a cell through `op.call`, and the same gradient checks and laws test it.
 *
 * ```ts
 * // softsign(x) = x / (1 + |x|);  d softsign(x) = dx / (1 + |x|)²
 * const softsign = defineElementwise({
 *   name: 'softsign',
 *   fn: (x) => x / (1 + Math.abs(x)),
 *   derivative: (x) => 1 / (1 + Math.abs(x)) ** 2,
 * });
 * ... op.call(softsign, z) ...
 * ```
 * `definePrimitive` gives full control: kernels work on the `Site` memory layout documented in
 * `src/primitives/types.ts` (batched operands have stride n, shared ones stride 0; a VJP adds
 * into the input cotangents).
 */
import * as E from 'fp-ts/Either';
import { issue, LoopgradError } from './errors';
import { opTags } from './ir';
import type { Buf, CustomPrimitive, Domain, Operand, Site } from './primitives/types';
import type { Shape } from './shape';

/** What a user gives to declare a primitive. @since 0.1.0 @category model */
export interface PrimitiveDefinition {
  /** Unique among the primitives a cell uses; not a built-in tag. */
  readonly name: string;
  readonly arity: number | 'variadic';
  /** The output shape, or a message saying (with the operands' labels) why the inputs do not fit. */
  readonly shape: (inputs: readonly Operand[]) => Shape | string;
  /** `reduce` drops the batch dimension (a batch mean); default `map`. */
  readonly batching?: 'map' | 'reduce';
  /** Which values the VJP reads: the planner keeps exactly those alive. */
  readonly saves: { readonly inputs: boolean; readonly output: boolean };
  readonly forward: (values: Buf, site: Site<{ readonly name: string }>) => void;
  /** Adds each wanted input's cotangent (`site.gIn[i] >= 0`) from the output's (`site.gOut`). */
  readonly vjp: (values: Buf, grads: Buf, site: Site<{ readonly name: string }>) => void;
  /** Writes the output tangent from the input tangents (laid out like the values). */
  readonly jvp: (values: Buf, tangents: Buf, site: Site<{ readonly name: string }>) => void;
  /** Where the laws sample inputs from; default [−2, 2]. */
  readonly domain?: Domain;
}

/**
 * Declares a primitive from its rules. Throws a `LoopgradError` for a name that is empty or a
 * built-in tag, or an arity that is not a non-negative integer.
 * @since 0.1.0
 * @category constructors
 */
export const definePrimitive = (def: PrimitiveDefinition): CustomPrimitive => {
  const bad = [
    ...(typeof def.name !== 'string' || def.name === '' || (opTags as readonly string[]).includes(def.name)
      ? [issue('CellSpecError', ['definePrimitive', 'name'], `name ${JSON.stringify(def.name)} must be a non-empty string that is not a built-in op`)]
      : []),
    ...(def.arity !== 'variadic' && !(Number.isSafeInteger(def.arity) && def.arity >= 0)
      ? [issue('CellSpecError', ['definePrimitive', 'arity'], `arity ${String(def.arity)} must be a non-negative integer or 'variadic'`)]
      : []),
  ];
  if (bad.length > 0) throw new LoopgradError(bad);
  return {
    name: def.name,
    arity: def.arity,
    batching: def.batching ?? 'map',
    saves: def.saves,
    domain: def.domain ?? { min: -2, max: 2 },
    shape: (ins) => {
      const s = def.shape(ins);
      return typeof s === 'string' ? E.left(s) : E.right(s);
    },
    forward: def.forward,
    vjp: def.vjp,
    jvp: def.jvp,
  };
};

/** What a user gives to declare an element-wise function y = f(x). @since 0.1.0 @category model */
export interface ElementwiseDefinition {
  readonly name: string;
  readonly fn: (x: number) => number;
  /** dy/dx at x (y = f(x) is given too, for derivatives best written through the output). */
  readonly derivative: (x: number, y: number) => number;
  readonly domain?: Domain;
}

/**
 * Declares an element-wise primitive from f and f′: the kernels (forward, VJP dx += f′(x) dy,
 * JVP dy = f′(x) dx) are derived. Input and output have one shape and one batchedness, so each
 * is one contiguous run of values.
 * @since 0.1.0
 * @category constructors
 */
export const defineElementwise = (def: ElementwiseDefinition): CustomPrimitive =>
  definePrimitive({
    name: def.name,
    arity: 1,
    shape: (ins) => ins[0]!.shape,
    saves: { inputs: true, output: true },
    ...(def.domain ? { domain: def.domain } : {}),
    forward: (v, s) => {
      const n = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
      for (let i = 0; i < n; i++) v[y + i] = def.fn(v[x + i]!);
    },
    vjp: (v, g, s) => {
      const n = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff, d = s.gIn[0]!, gy = s.gOut;
      for (let i = 0; i < n; i++) g[d + i] += def.derivative(v[x + i]!, v[y + i]!) * g[gy + i]!;
    },
    jvp: (v, t, s) => {
      const n = s.nb * s.outSize, x = s.inOff[0]!, y = s.outOff;
      for (let i = 0; i < n; i++) t[y + i] = def.derivative(v[x + i]!, v[y + i]!) * t[x + i]!;
    },
  });
