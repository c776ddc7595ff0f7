// Helpers of the bit-identity tests (threads, fusion): seeded data, an element-by-element
// comparison that tells −0 from 0, and pools that split everything.
import { afterAll, beforeAll, expect } from 'vitest';
import { startThreads, type ThreadPool } from '../../src/index';
import { mulberry32 } from '../../src/random';

/** n seeded values in [−1, 1). */
export const uniform = (seed: number, n: number): Float64Array => {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => 2 * r() - 1);
};

/** Same bits, element by element (Object.is tells −0 from 0); `names` say which side is which in a failure. */
export const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string, names: readonly [string, string]): void => {
  expect(a.length, what).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect.fail(`${what}[${i}]: ${a[i]} ${names[0]}, ${b[i]} ${names[1]}`);
};

/**
 * Pools of 2 and 3 threads with minFlops 0, so every product and group is split, down to one row
 * per block, and every boundary is exercised; started before the file's tests, closed after.
 */
export const splitPools = (): { readonly two: ThreadPool; readonly three: ThreadPool } => {
  const pools = {} as { two: ThreadPool; three: ThreadPool };
  beforeAll(async () => {
    pools.two = await startThreads({ threads: 2, minFlops: 0 });
    pools.three = await startThreads({ threads: 3, minFlops: 0 });
  });
  afterAll(async () => {
    await pools.two.close();
    await pools.three.close();
  });
  return pools;
};
