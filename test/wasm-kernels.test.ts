/**
 * The WebAssembly SIMD kernels (wasm/kernels.ts via src/kernels/wasm.ts) against plain loops:
 * every kernel, both dtypes, every size 1…17 in every dimension (all block remainders), some
 * larger shapes, unaligned offsets, and nothing written outside the output. Also: the arena's
 * views, and the committed src/kernels/wasm-binary.ts is what scripts/build-wasm.ts builds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildKernels, kernelsBinaryFile } from '../scripts/build-wasm';
import { createWasmArena, decodeBase64, wasmKernelsAvailable, wasmKernelsUnavailableReason, type WasmArena, type WasmDtype } from '../src/kernels/wasm';
import { kernelsWasmBase64 } from '../src/kernels/wasm-binary';

type Kernel = 'nt' | 'tnAcc' | 'nnAcc';
const kernels: readonly Kernel[] = ['nt', 'tnAcc', 'nnAcc'];
const dtypes: readonly WasmDtype[] = ['float32', 'float64'];

/** mulberry32: a seeded stream in [-1, 1). */
const rng = (seed: number): (() => number) => {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
};

interface Case { readonly rows: number; readonly m: number; readonly n: number; readonly seed: number; readonly shift: number }

/**
 * Runs one kernel on random data laid out like a Program would (values first, gradients after a
 * base offset, each operand at an odd offset so vector loads are unaligned) and checks it
 * element by element against float64 loops over the stored inputs, with the tolerance relative
 * to Σ|terms| (the initial value of an accumulated output counts as a term). Everything outside
 * the output must be left as it was.
 */
const check = (arena: WasmArena, kernel: Kernel, { rows, m, n, seed, shift }: Case): void => {
  const d = arena.data, next = rng(seed);
  const sx = rows * n, sa = m * n, sy = rows * m;
  // values: X, A; gradients (after gBase): dY, the output (Y, dA or dX)
  const x = 1 + shift, a = x + sx + 3, gBase = a + sa + 5;
  const dy = gBase + 2 + shift, out = dy + sy + 1;
  const outSize = kernel === 'nt' ? sy : kernel === 'tnAcc' ? sa : sx;
  const end = out + outSize + 7;
  expect(end).toBeLessThanOrEqual(d.length);
  for (let i = 0; i < end; i++) d[i] = next();
  const before = d.slice(0, end);
  const tol = arena.dtype === 'float64' ? 1e-12 : 1e-5;

  if (kernel === 'nt') arena.nt(out, x, a, rows, m, n);
  else if (kernel === 'tnAcc') arena.tnAcc(out, dy, x, rows, m, n);
  else arena.nnAcc(out, dy, a, rows, m, n);

  const X = (r: number, k: number): number => before[x + r * n + k]!;
  const A = (i: number, k: number): number => before[a + i * n + k]!;
  const DY = (r: number, i: number): number => before[dy + r * m + i]!;
  const expectClose = (at: number, terms: readonly number[], what: string): void => {
    let sum = 0, abs = 0;
    for (const t of terms) { sum += t; abs += Math.abs(t); }
    const got = d[at]!;
    if (!(Math.abs(got - sum) <= tol * abs)) {
      expect.fail(`${arena.dtype} ${kernel} rows=${rows} m=${m} n=${n} seed=${seed}: ${what} = ${got}, expected ${sum} (Σ|terms| ${abs}, error ${Math.abs(got - sum) / abs} > ${tol})`);
    }
  };
  if (kernel === 'nt') {
    for (let r = 0; r < rows; r++) for (let i = 0; i < m; i++) {
      expectClose(out + r * m + i, Array.from({ length: n }, (_, k) => X(r, k) * A(i, k)), `Y[${r}, ${i}]`);
    }
  } else if (kernel === 'tnAcc') {
    for (let i = 0; i < m; i++) for (let k = 0; k < n; k++) {
      const init = before[out + i * n + k]!;
      expectClose(out + i * n + k, [init, ...Array.from({ length: rows }, (_, r) => DY(r, i) * X(r, k))], `dA[${i}, ${k}]`);
    }
  } else {
    for (let r = 0; r < rows; r++) for (let k = 0; k < n; k++) {
      const init = before[out + r * n + k]!;
      expectClose(out + r * n + k, [init, ...Array.from({ length: m }, (_, i) => DY(r, i) * A(i, k))], `dX[${r}, ${k}]`);
    }
  }
  for (let i = 0; i < end; i++) {
    if (i >= out && i < out + outSize) continue;
    if (!Object.is(d[i], before[i])) expect.fail(`${arena.dtype} ${kernel} rows=${rows} m=${m} n=${n}: element ${i} outside the output changed`);
  }
};

describe('wasm kernels', () => {
  it('are available in Node 20 (WebAssembly SIMD, synchronous compilation)', () => {
    expect(wasmKernelsUnavailableReason()).toBeUndefined();
    expect(wasmKernelsAvailable()).toBe(true);
  });

  for (const dtype of dtypes) {
    // one arena per dtype, big enough for the largest case below
    const arena = createWasmArena(300_000, dtype);
    for (const kernel of kernels) {
      it(`${kernel} ${dtype}: every size 1…17 in every dimension, against plain loops`, () => {
        expect(arena).toBeDefined();
        fc.assert(
          fc.property(
            fc.record({ rows: fc.integer({ min: 1, max: 17 }), m: fc.integer({ min: 1, max: 17 }), n: fc.integer({ min: 1, max: 17 }), seed: fc.integer(), shift: fc.integer({ min: 0, max: 3 }) }),
            (c) => check(arena!, kernel, c),
          ),
          { numRuns: 300 },
        );
        // and exhaustively over the remainders of the blocks (2 or 4 rows, 4 rows of A, 1–2 vectors)
        let seed = 1;
        for (let rows = 1; rows <= 9; rows++) for (let m = 1; m <= 9; m++) for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17]) check(arena!, kernel, { rows, m, n, seed: seed++, shift: seed & 3 });
      });

      it(`${kernel} ${dtype}: larger shapes`, () => {
        expect(arena).toBeDefined();
        const shapes: readonly (readonly [number, number, number])[] = [[64, 96, 33], [33, 64, 96], [8, 256, 64], [7, 130, 67], [1, 512, 129], [65, 3, 200]];
        shapes.forEach(([rows, m, n], i) => check(arena!, kernel, { rows, m, n, seed: 1000 + i, shift: i & 3 }));
      });

      it(`${kernel} ${dtype}: zero sizes touch nothing`, () => {
        for (const [rows, m, n] of [[0, 5, 6], [4, 0, 6], [4, 5, 0]] as const) {
          const d = arena!.data;
          for (let i = 0; i < 200; i++) d[i] = i + 0.5;
          const before = d.slice(0, 200);
          if (kernel === 'nt') arena!.nt(150, 0, 50, rows, m, n);
          else if (kernel === 'tnAcc') arena!.tnAcc(150, 100, 0, rows, m, n);
          else arena!.nnAcc(150, 100, 50, rows, m, n);
          // nt with n = 0 writes zeros (an empty sum); everything else leaves the memory alone
          if (kernel === 'nt' && n === 0) {
            for (let i = 0; i < rows * m; i++) expect(d[150 + i]).toBe(0);
            d.set(before.subarray(150, 150 + rows * m), 150);
          }
          expect(d.slice(0, 200)).toEqual(before);
        }
      });
    }
  }

  it('arenas: the view covers the whole memory from offset 0, and values and gradients can share one arena', () => {
    for (const [dtype, bpe] of [['float32', 4], ['float64', 8]] as const) {
      for (const elements of [0, 1, 8191, 8192, 8193, 100_000]) {
        const arena = createWasmArena(elements, dtype)!;
        expect(arena.dtype).toBe(dtype);
        expect(arena.data).toBeInstanceOf(dtype === 'float32' ? Float32Array : Float64Array);
        expect(arena.data.buffer).toBe(arena.memory.buffer);
        expect(arena.data.byteOffset).toBe(0);
        expect(arena.data.byteLength).toBe(arena.memory.buffer.byteLength);
        expect(arena.memory.buffer.byteLength % 65536).toBe(0);
        expect(arena.data.length).toBeGreaterThanOrEqual(elements);
        expect(arena.data.length * bpe).toBeLessThan(Math.max(elements * bpe, 1) + 65536);
      }
    }
    // the Program's layout: values at [0, V), gradients at [V, V + G); gradient offsets + V
    const V = 1000, G = 1000, arena = createWasmArena(V + G, 'float64')!;
    const values = arena.data.subarray(0, V), grads = arena.data.subarray(V, V + G);
    const m = 3, n = 2, rows = 2;
    values.set([1, 2, 3, 4, 5, 6], 0); // A [3, 2] at 0
    values.set([1, -1, 2, 0.5], 10); // X [2, 2] at 10
    grads.set([1, 0, 0, 0, 1, 0], 0); // dY [2, 3] at 0
    arena.nnAcc(V + 20, V + 0, 0, rows, m, n); // dX at grads 20 += dY A
    expect(Array.from(grads.subarray(20, 24))).toEqual([1, 2, 3, 4]);
    arena.tnAcc(V + 30, V + 0, 10, rows, m, n); // dA at grads 30 += dYᵀ X
    expect(Array.from(grads.subarray(30, 36))).toEqual([1, -1, 2, 0.5, 0, 0]);
    arena.nt(40, 10, 0, rows, m, n); // Y at values 40 = X Aᵀ
    expect(Array.from(values.subarray(40, 46))).toEqual([-1, -1, -1, 3, 8, 13]);
  });

  it('each arena has its own memory', () => {
    const a = createWasmArena(10, 'float32')!, b = createWasmArena(10, 'float32')!;
    expect(a.memory.buffer).not.toBe(b.memory.buffer);
    a.data[0] = 1;
    expect(b.data[0]).toBe(0);
  });

  it('decodeBase64 matches Buffer', () => {
    for (let len = 0; len < 40; len++) {
      const bytes = Uint8Array.from({ length: len }, (_, i) => (i * 97 + len * 31) & 255);
      const b64 = Buffer.from(bytes).toString('base64');
      expect(decodeBase64(b64)).toEqual(bytes);
      expect(decodeBase64(b64.replace(/=+$/, ''))).toEqual(bytes);
    }
    expect(decodeBase64(kernelsWasmBase64)).toEqual(new Uint8Array(Buffer.from(kernelsWasmBase64, 'base64')));
    expect(() => decodeBase64('ab$d')).toThrow(/invalid base64/);
  });

  it('src/kernels/wasm-binary.ts is up to date with wasm/kernels.ts (npm run build:wasm)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loopgrad-wasm-'));
    try {
      const out = join(dir, 'wasm-binary.ts');
      await buildKernels(out);
      const rebuilt = readFileSync(out), committed = readFileSync(kernelsBinaryFile);
      if (!rebuilt.equals(committed)) expect.fail('src/kernels/wasm-binary.ts is stale: run `npm run build:wasm` and commit the result');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
