/** Seeded pseudo-random numbers (mulberry32): reproducible initialisation and test data. */

/**
 * A generator of uniform numbers in [0, 1) from a 32-bit seed; the same seed gives the same
 * sequence on every platform.
 * @since 0.1.0
 * @category constructors
 */
export const mulberry32 = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
};

/** A Float64Array of n uniform(lo, hi) numbers from `rand`. @since 0.1.0 @category constructors */
export const uniformArray = (rand: () => number, n: number, lo: number, hi: number): Float64Array =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * rand());
