// Counts typed arrays made while a function runs, by replacing the Float64Array and Float32Array
// constructors with counting subclasses (every `new`, and every subarray/slice/map through the
// species constructor, is counted); the originals are restored however `f` ends.

/** Runs `f` with a counter it can read and reset (`counter.n`); returns what `f` returns. */
export const countingTypedArrays = <A>(f: (counter: { n: number }) => A): A => {
  const counter = { n: 0 };
  const originals = { Float64Array, Float32Array };
  class CountingF64 extends originals.Float64Array { constructor(...a: any[]) { super(...(a as [number])); counter.n++; } }
  class CountingF32 extends originals.Float32Array { constructor(...a: any[]) { super(...(a as [number])); counter.n++; } }
  try {
    (globalThis as any).Float64Array = CountingF64;
    (globalThis as any).Float32Array = CountingF32;
    return f(counter);
  } finally {
    (globalThis as any).Float64Array = originals.Float64Array;
    (globalThis as any).Float32Array = originals.Float32Array;
  }
};
