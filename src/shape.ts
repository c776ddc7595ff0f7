/** Shapes of per-example values: scalars `[]`, vectors `[n]`, matrices `[m, n]` (row-major). */

/**
 * The shape of one example's value. The batch dimension is never part of a shape: the
 * interpreter adds it (as `vmap` does in JAX).
 * @since 0.1.0
 * @category model
 */
export type Shape = readonly number[];

/** Number of elements of a shape. @since 0.1.0 @category destructors */
export const numel = (shape: Shape): number => {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
};

/** `[8, 11]`, `[3]`, `[]`: how shapes appear in messages. @since 0.1.0 @category destructors */
export const showShape = (shape: Shape): string => `[${shape.join(', ')}]`;

/** Structural equality of two shapes. @since 0.1.0 @category destructors */
export const sameShape = (a: Shape, b: Shape): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** A dimension is a positive safe integer. @since 0.1.0 @category destructors */
export const isDim = (d: unknown): d is number =>
  typeof d === 'number' && Number.isSafeInteger(d) && d > 0;
