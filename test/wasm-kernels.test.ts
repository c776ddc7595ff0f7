/**
 * The WebAssembly SIMD kernels (wasm/kernels.ts via src/kernels/wasm.ts) against plain loops:
 * every GEMM, both dtypes, every size 1…17 in every dimension (all block remainders), some
 * larger shapes, unaligned offsets, and nothing written outside the output. The element-wise
 * kernels: bit-exact against plain loops (arithmetic) or within a few ulp of Math.* (tanh,
 * sigmoid) over counts 0…67, odd offsets and broadcast shapes, and position-independent (an
 * element's result does not depend on where it sits in a run); the element-wise rules give the
 * TS loops' results when they dispatch to them. Also: the arena's views, and the committed
 * src/kernels/wasm-binary.ts is what scripts/build-wasm.ts builds.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildKernels, kernelsBinaryFile } from '../scripts/build-wasm';
import { createWasmArena, decodeBase64, gemmScratchBytes, wasmKernelsAvailable, wasmKernelsUnavailableReason, type WasmArena, type WasmDtype } from '../src/kernels/wasm';
import { kernelsWasmBase64 } from '../src/kernels/wasm-binary';
import { add, mul, sigmoid, sub, tanh } from '../src/primitives/elementwise';
import type { Buf, GemmHolder, Site } from '../src/primitives/types';
import { mulberry32 } from '../src/random';

type Kernel = 'nt' | 'tnAcc' | 'nnAcc';
const kernels: readonly Kernel[] = ['nt', 'tnAcc', 'nnAcc'];
const dtypes: readonly WasmDtype[] = ['float32', 'float64'];

/** A seeded stream in [-1, 1) (mulberry32). */
const rng = (seed: number): (() => number) => {
  const r = mulberry32(seed);
  return () => r() * 2 - 1;
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

  for (const [dtype, packed] of dtypes.flatMap((d) => [[d, false], [d, true]] as const)) {
    // one arena per dtype, big enough for the largest case below; `packed`: with the scratch the
    // accumulating products pack into (tnAcc packs any case below, nnAcc only an A over 512 KiB)
    const bpe = dtype === 'float32' ? 4 : 8;
    const arena = createWasmArena(600_000, dtype, packed ? { scratchBytes: gemmScratchBytes(512, 1024, 1024, bpe) } : {});
    const how = packed ? ' (packed)' : '';
    for (const kernel of packed ? kernels.filter((k) => k !== 'nt') : kernels) {
      it(`${kernel} ${dtype}${how}: every size 1…17 in every dimension, against plain loops`, () => {
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

      if (packed && kernel === 'tnAcc') {
        it(`tnAcc ${dtype}${how}: rows of dY 2 or 4 KiB apart (the packed path), any rows and n, against plain loops`, () => {
          fc.assert(
            fc.property(
              fc.record({ rows: fc.integer({ min: 1, max: 40 }), m: fc.constantFrom(2048 / bpe, 4096 / bpe), n: fc.integer({ min: 1, max: 70 }), seed: fc.integer(), shift: fc.integer({ min: 0, max: 3 }) }),
              (c) => check(arena!, kernel, c),
            ),
            { numRuns: 25 },
          );
        });
      }

      it(`${kernel} ${dtype}${how}: larger shapes`, () => {
        expect(arena).toBeDefined();
        const shapes: readonly (readonly [number, number, number])[] = [
          [64, 96, 33], [33, 64, 96], [8, 256, 64], [7, 130, 67], [1, 512, 129], [65, 3, 200],
          // rows 4 KiB apart (the case packing is for), and an A over 512 KiB (nnAcc packs it)
          [9, 1024, 21], [6, 512, 40], [2, 1100, 240],
        ];
        shapes.forEach(([rows, m, n], i) => check(arena!, kernel, { rows, m, n, seed: 1000 + i, shift: i & 3 }));
      });

      it(`${kernel} ${dtype}${how}: zero sizes touch nothing`, () => {
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

  it.each(dtypes)('%s: packed and unpacked tnAcc / nnAcc give the same bits (each element sums its terms in the same order)', (dtype) => {
    const bpe = dtype === 'float32' ? 4 : 8, size = 1_500_000;
    const plain = createWasmArena(size, dtype)!, packed = createWasmArena(size, dtype, { scratchBytes: gemmScratchBytes(512, 1024, 1024, bpe) })!;
    // scratch for one row block of S at a time (S repacked per panel): the path past 4 MiB of S
    const blockwise = createWasmArena(size, dtype, { scratchBytes: 512 * 32 + 4 * 512 * bpe })!;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), fc.constantFrom(3, 64, 512, 1024), fc.integer({ min: 1, max: 150 }), fc.integer(),
        (rows, m, n, seed) => {
          // nnAcc packs only an A of 1 MiB or more: with m ≥ 512, widen A past that
          const nnCols = m >= 512 ? Math.ceil(1048576 / (m * bpe)) + (n % 37) : n;
          for (const [kernel, cols] of [['tnAcc', n], ['nnAcc', nnCols]] as const) {
            const next = rng(seed), x = 0, a = rows * cols, dy = a + m * cols, out = dy + rows * m, end = out + Math.max(m, rows) * cols;
            expect(end).toBeLessThan(size);
            for (let i = 0; i < end; i++) plain.data[i] = packed.data[i] = blockwise.data[i] = next();
            for (const ar of [plain, packed, blockwise]) {
              if (kernel === 'tnAcc') ar.tnAcc(out, dy, x, rows, m, cols);
              else ar.nnAcc(out, dy, a, rows, m, cols);
            }
            for (let i = 0; i < end; i++) {
              if (!Object.is(plain.data[i], packed.data[i])) expect.fail(`${kernel} rows=${rows} m=${m} n=${cols}: element ${i} is ${packed.data[i]} packed, ${plain.data[i]} unpacked`);
              if (!Object.is(plain.data[i], blockwise.data[i])) expect.fail(`${kernel} rows=${rows} m=${m} n=${cols}: element ${i} is ${blockwise.data[i]} packed by row blocks, ${plain.data[i]} unpacked`);
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  elementwiseTests();

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

  it.each(['float32', 'float64'] as const)('%s: copyRows and zero match plain loops (any strides, a repeated row, overlapping rows)', (dtype) => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (rows, n, xPad, yPad, seed) => {
          const arena = createWasmArena(4096, dtype)!, d = arena.data;
          const rand = mulberry32(seed);
          for (let i = 0; i < 4096; i++) d[i] = rand();
          const before = Float64Array.from(d);
          const xs = xPad === 4 ? 0 : n + xPad, ys = n + yPad, x = 3, y = 700; // xs = 0: one row for all
          arena.copyRows(y, ys, x, xs, rows, n);
          const want = Float64Array.from(before);
          for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) want[y + r * ys + i] = before[x + r * xs + i]!;
          expect(Array.from(d)).toEqual(Array.from(dtype === 'float32' ? Float32Array.from(want) : want));
          arena.zero(y, rows * n);
          for (let i = 0; i < rows * n; i++) want[y + i] = 0;
          expect(Array.from(d)).toEqual(Array.from(dtype === 'float32' ? Float32Array.from(want) : want));
        },
      ),
      { numRuns: 200, seed: 3 },
    );
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

// ---------------------------------------------------------------------------------------------
// element-wise kernels

type BinOp = 'add' | 'sub' | 'mul';
const binOps: readonly BinOp[] = ['add', 'sub', 'mul'];
type UnOp = 'tanh' | 'sigmoid';
const unOps: readonly UnOp[] = ['tanh', 'sigmoid'];

/** The TS reference for σ (as src/primitives/elementwise.ts computes it). */
const sigma = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const refUnary: Record<UnOp, (x: number) => number> = { tanh: Math.tanh, sigmoid: sigma };

/** Rounding to the dtype: a plain loop over a Float32Array rounds every stored value. */
const rounder = (dtype: WasmDtype): ((x: number) => number) => (dtype === 'float32' ? Math.fround : (x) => x);

/** An f64 ulp of x (the spacing at |x|; the smallest subnormal at 0). */
const ulp64 = (x: number): number => {
  const a = Math.abs(x);
  if (a < 2.2250738585072014e-308) return Number.MIN_VALUE;
  return 2 ** (Math.floor(Math.log2(a)) - 52);
};

/** Element-wise results match, bit for bit (NaN matches NaN). */
const expectSame = (got: number, want: number, what: string): void => {
  if (!Object.is(got, want) && !(Number.isNaN(got) && Number.isNaN(want))) expect.fail(`${what}: got ${got}, expected ${want}`);
};

/** Everything in [0, end) outside [from, to) is as before. */
const expectUntouched = (d: Buf, before: Buf, end: number, from: number, to: number, what: string): void => {
  for (let i = 0; i < end; i++) {
    if (i >= from && i < to) continue;
    if (!Object.is(d[i], before[i])) expect.fail(`${what}: element ${i} outside the output changed`);
  }
};

/** Binary forward over rows × n (strides 0 or n), checked bit for bit against a plain loop. */
const checkBinary = (arena: WasmArena, op: BinOp, rows: number, n: number, as: number, bs: number, flat: boolean, seed: number, shift: number): void => {
  const d = arena.data, next = rng(seed), R = rounder(arena.dtype);
  const a = 1 + shift, b = a + Math.max(rows * as, n) + 3, y = b + Math.max(rows * bs, n) + 2 + shift, end = y + rows * n + 5;
  for (let i = 0; i < end; i++) d[i] = next() * 4;
  const before = d.slice(0, end);
  if (flat) arena[op](y, a, b, rows * n);
  else arena[`${op}Rows`](y, a, as, b, bs, rows, n);
  const f = op === 'add' ? (p: number, q: number) => p + q : op === 'sub' ? (p: number, q: number) => p - q : (p: number, q: number) => p * q;
  const what = `${arena.dtype} ${op}${flat ? '' : 'Rows'} rows=${rows} n=${n} as=${as} bs=${bs} shift=${shift}`;
  if (flat) for (let i = 0; i < rows * n; i++) expectSame(d[y + i]!, R(f(before[a + i]!, before[b + i]!)), `${what} y[${i}]`);
  else for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) expectSame(d[y + r * n + i]!, R(f(before[a + r * as + i]!, before[b + r * bs + i]!)), `${what} y[${r}, ${i}]`);
  expectUntouched(d, before, end, y, y + rows * n, what);
};

/**
 * VJP accumulation over rows × n: g[r·gs + i] (+|−)= dy[r, i] (· o[r·os + i]), against a plain
 * loop in row order that rounds every step like the kernel (f32: the product, then the sum),
 * bit for bit; gs = 0 is the broadcast reduction.
 */
const checkAcc = (arena: WasmArena, op: BinOp, rows: number, n: number, gs: number, os: number, flat: boolean, seed: number, shift: number): void => {
  const d = arena.data, next = rng(seed), R = rounder(arena.dtype);
  const o = 1 + shift, dy = o + Math.max(rows * os, n) + 3, g = dy + rows * n + 2 + shift, gLen = Math.max(rows * gs, n), end = g + gLen + 5;
  for (let i = 0; i < end; i++) d[i] = next() * 4;
  const before = d.slice(0, end), want = before.slice(g, g + gLen);
  for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
    const t = before[dy + r * n + i]!, at = r * gs + i;
    want[at] = op === 'add' ? R(want[at]! + t) : op === 'sub' ? R(want[at]! - t) : R(want[at]! + R(t * before[o + r * os + i]!));
  }
  const name = op === 'add' ? 'accAdd' : op === 'sub' ? 'accSub' : 'accMul';
  if (flat) {
    if (op === 'mul') arena.accMul(g, dy, o, rows * n);
    else arena[name as 'accAdd' | 'accSub'](g, dy, rows * n);
  } else if (op === 'mul') arena.accMulRows(g, gs, dy, o, os, rows, n);
  else arena[`${name as 'accAdd' | 'accSub'}Rows`](g, gs, dy, rows, n);
  const what = `${arena.dtype} ${name}${flat ? '' : 'Rows'} rows=${rows} n=${n} gs=${gs} os=${os} shift=${shift}`;
  for (let i = 0; i < gLen; i++) expectSame(d[g + i]!, want[i]!, `${what} g[${i}]`);
  expectUntouched(d, before, end, g, g + gLen, what);
};

/** tanh / sigmoid's VJP from the saved output, bit for bit against the same operations in a loop. */
const checkUnaryGrad = (arena: WasmArena, op: UnOp, count: number, seed: number, shift: number): void => {
  const d = arena.data, next = rng(seed), R = rounder(arena.dtype);
  const y = 1 + shift, dy = y + count + 3, g = dy + count + 2 + shift, end = g + count + 5;
  for (let i = 0; i < end; i++) d[i] = next() * 2;
  const before = d.slice(0, end);
  if (op === 'tanh') arena.accTanhGrad(g, dy, y, count);
  else arena.accSigmoidGrad(g, dy, y, count);
  const what = `${arena.dtype} ${op} grad count=${count} shift=${shift}`;
  for (let i = 0; i < count; i++) {
    const yi = before[y + i]!, t = before[dy + i]!;
    const dydx = op === 'tanh' ? R(1 - R(yi * yi)) : R(yi * R(1 - yi));
    expectSame(d[g + i]!, R(before[g + i]! + R(dydx * t)), `${what} g[${i}]`);
  }
  expectUntouched(d, before, end, g, g + count, what);
};

/** Accuracy bound of tanh / sigmoid against Math.*: f64 ≤ 4 ulp; f32 ≤ 2e-7 relative. */
const unaryError = (dtype: WasmDtype, got: number, want: number): number =>
  dtype === 'float64' ? Math.abs(got - want) / ulp64(want) : Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
const unaryBound = (dtype: WasmDtype): number => (dtype === 'float64' ? 4 : 2e-7);

/** Runs tanh / sigmoid on xs (at an odd offset) and checks every result against Math.*; returns the worst error. */
const checkUnary = (arena: WasmArena, op: UnOp, xs: ArrayLike<number>, shift: number): number => {
  const d = arena.data, count = xs.length, x = 1 + shift, y = x + count + 3 + shift, end = y + count + 5;
  for (let i = 0; i < end; i++) d[i] = 12345.5;
  d.set(xs, x);
  const inputs = d.slice(x, x + count), before = d.slice(0, end);
  arena[op](y, x, count);
  let worst = 0;
  for (let i = 0; i < count; i++) {
    const xi = inputs[i]!, got = d[y + i]!, want = refUnary[op](xi);
    if (Number.isNaN(want) !== Number.isNaN(got)) expect.fail(`${arena.dtype} ${op}(${xi}) = ${got}, expected ${want}`);
    if (Number.isNaN(want) || Object.is(got, want)) continue;
    if (arena.dtype === 'float32' && Object.is(got, Math.fround(want))) continue;
    const err = unaryError(arena.dtype, got, want);
    if (!(err <= unaryBound(arena.dtype))) expect.fail(`${arena.dtype} ${op}(${xi}) = ${got}, expected ${want} (error ${err} > ${unaryBound(arena.dtype)})`);
    worst = Math.max(worst, err);
  }
  expectUntouched(d, before, end, y, y + count, `${arena.dtype} ${op} count=${count}`);
  return worst;
};

/** A hand-built site of an element-wise rule on values [0, V) and cotangents [V, …) of one arena. */
interface EwCase { readonly nb: number; readonly n: number; readonly batched: readonly boolean[] }

/**
 * Runs a rule's forward and VJP twice on the same data, once through the wasm kernels (the site
 * carries the arena as its holder) and once on the TS loops (no holder), and compares: bit for
 * bit where the kernel does the same operations as the loop (f64 arithmetic), within 1e-14 for
 * f64 tanh / sigmoid (their values a few ulp apart, then the VJP), and within 1e-6 in f32 (the
 * TS loop rounds only once per statement).
 */
const checkRule = (arena: WasmArena, name: BinOp | UnOp, { nb, n, batched }: EwCase, seed: number): void => {
  const rule = ({ add, sub, mul, tanh, sigmoid } as const)[name] as unknown as { forward: (v: Buf, s: Site) => void; vjp: (v: Buf, g: Buf, s: Site) => void };
  const arity = name === 'tanh' || name === 'sigmoid' ? 1 : 2;
  const d = arena.data, next = rng(seed);
  const outBatched = batched.slice(0, arity).some((b) => b) || nb === 1;
  const len = (b: boolean): number => (b ? nb * n : n);
  // values: inputs, output; gradients at V: dy, then each input's cotangent
  let at = 3;
  const inOff = batched.slice(0, arity).map((b) => { const o = at; at += len(b) + 1; return o; });
  const outOff = at; at += len(outBatched) + 2;
  const V = at + 1;
  let ga = 1;
  const gOut = ga; ga += len(outBatched) + 1;
  const gIn = batched.slice(0, arity).map((b) => { const o = ga; ga += len(b) + 3; return o; });
  const end = V + ga + 4;
  const site = (holder?: GemmHolder): Site => ({
    nb: outBatched ? nb : 1, batch: nb, inOff, inStride: batched.slice(0, arity).map((b) => (b ? n : 0)),
    inShape: inOff.map(() => [n]), inSize: inOff.map(() => n), outOff, outStride: outBatched ? n : 0, outShape: [n], outSize: n,
    params: undefined, gIn, gOut, ...(holder !== undefined ? { gemm: holder } : {}),
  });
  for (let i = 0; i < end; i++) d[i] = next() * 2;
  const init = d.slice(0, end);
  const v = d.subarray(0, V), g = d.subarray(V, end);
  const runOnce = (holder?: GemmHolder): Buf => {
    d.set(init);
    const s = site(holder);
    rule.forward(v, s);
    rule.vjp(v, g, s);
    return d.slice(0, end);
  };
  const wasm = runOnce({ kernels: arena, elementwise: arena, values: v, grads: g, gradBase: V });
  // the TS loops: no holder, or a holder whose arenas are not the buffers passed (a JVP's tangents)
  const js = runOnce(seed % 2 === 0 ? undefined : { kernels: arena, elementwise: arena, values: d.subarray(0, V), grads: g, gradBase: V });
  const exact = arena.dtype === 'float64' && arity === 2;
  for (let i = 0; i < end; i++) {
    const what = `${arena.dtype} ${name} nb=${nb} n=${n} batched=${batched.slice(0, arity).join(',')}: element ${i}`;
    if (exact) { expectSame(wasm[i]!, js[i]!, what); continue; }
    // values are O(1): a cotangent built from a y a few ulp off may cancel, so the tolerance is on the scale of the terms
    const tol = (arena.dtype === 'float64' ? 1e-14 : 1e-6) * Math.max(1, Math.abs(js[i]!));
    if (!(Math.abs(wasm[i]! - js[i]!) <= tol)) expect.fail(`${what}: wasm ${wasm[i]} vs js ${js[i]}`);
  }
};

function elementwiseTests(): void {
  for (const dtype of dtypes) {
    const arena = createWasmArena(1 << 22, dtype)!;
    const counts = Array.from({ length: 68 }, (_, i) => i);

    it(`add/sub/mul ${dtype}: contiguous runs of 0…67 and rows × n with shared operands, bit for bit against plain loops`, () => {
      expect(arena).toBeDefined();
      let seed = 7;
      for (const op of binOps) {
        for (const count of counts) for (const shift of [0, 1, 3]) checkBinary(arena, op, 1, count, 0, 0, true, seed++, shift);
        for (let rows = 0; rows <= 9; rows++) for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33]) {
          for (const [as, bs] of [[n, n], [n, 0], [0, n], [0, 0]] as const) checkBinary(arena, op, rows, n, as, bs, false, seed++, seed & 3);
        }
      }
    });

    it(`accAdd/accSub/accMul ${dtype}: contiguous, per-row and broadcast reductions (g [n] += Σ_rows), bit for bit against plain loops`, () => {
      let seed = 11;
      for (const op of binOps) {
        for (const count of counts) for (const shift of [0, 1, 2]) checkAcc(arena, op, 1, count, 0, 0, true, seed++, shift);
        for (let rows = 0; rows <= 9; rows++) for (const n of [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33]) {
          for (const [gs, os] of [[n, n], [n, 0], [0, n], [0, 0]] as const) checkAcc(arena, op, rows, n, gs, op === 'mul' ? os : 0, false, seed++, seed & 3);
        }
        fc.assert(fc.property(
          fc.record({ rows: fc.integer({ min: 0, max: 40 }), n: fc.integer({ min: 0, max: 70 }), gShared: fc.boolean(), oShared: fc.boolean(), seed: fc.integer(), shift: fc.integer({ min: 0, max: 3 }) }),
          (c) => checkAcc(arena, op, c.rows, c.n, c.gShared ? 0 : c.n, c.oShared && op === 'mul' ? 0 : c.n, false, c.seed, c.shift),
        ), { numRuns: 100 });
      }
    });

    it(`accTanhGrad/accSigmoidGrad ${dtype}: counts 0…67 at odd offsets, bit for bit against plain loops`, () => {
      let seed = 13;
      for (const op of unOps) for (const count of [...counts, 128, 1001]) for (const shift of [0, 1, 3]) checkUnaryGrad(arena, op, count, seed++, shift);
    });

    for (const op of unOps) {
      it(`${op} ${dtype}: within ${dtype === 'float64' ? '4 ulp' : '2e-7 relative'} of Math.* over millions of points and the edge cases; NaN in, NaN out`, () => {
        const edges = [0, -0, Number.MIN_VALUE, -Number.MIN_VALUE, 1e-310, -1e-310, 2.2250738585072014e-308, 1e-300, -1e-300, 1e-20, -1e-20, 1e-8, -1e-8,
          0.5, -0.5, 0.625, -0.625, Math.log(2) / 2, -Math.log(2) / 2, 0.3465, 1, -1, 19.999, 20, -20, 20.001, 36, -36, 40, 88, -88, 104, -104,
          354, -354, 700, -700, 709.78, 709.79, -708.4, -745.1, -745.2, -746, 1000, -1000, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE,
          Infinity, -Infinity, NaN, -NaN, 1.7976931348623157e308];
        for (let around = 0; around < 1; around++) {
          // near each branch point: the nextafter neighbours
          const near: number[] = [];
          for (const e of [0.5, 0.625, Math.log(2) / 2, 20]) for (let k = -4; k <= 4; k++) { near.push(e + k * ulp64(e), -(e + k * ulp64(e))); }
          edges.push(...near);
        }
        for (let count = 0; count <= 67; count++) checkUnary(arena, op, edges.slice(0, count), count & 3);
        checkUnary(arena, op, edges, 1);
        const next = rng(dtype === 'float64' ? 99 : 98);
        const N = 1 << 20, xs = new Float64Array(N);
        const ranges: readonly (readonly [number, number, 'lin' | 'log'])[] = [[-1, 1, 'lin'], [-0.7, 0.7, 'lin'], [-25, 25, 'lin'], [-800, 800, 'lin'], [-40, 4, 'log']];
        let worst = 0;
        for (const [lo, hi, kind] of ranges) {
          for (let i = 0; i < N; i++) {
            const u = next();
            xs[i] = kind === 'lin' ? lo + ((u + 1) / 2) * (hi - lo) : Math.sign(next()) * Math.exp(lo + ((u + 1) / 2) * (hi - lo));
          }
          worst = Math.max(worst, checkUnary(arena, op, xs, 3));
        }
        expect(worst).toBeLessThanOrEqual(unaryBound(dtype));
      });
    }

    it(`every element-wise kernel ${dtype}: an element's result does not depend on its position in the run (vector body = scalar tail)`, () => {
      const d = arena.data, next = rng(5);
      const N = 67, src = 16, src2 = 200, base = 400, out = 1000;
      for (let i = 0; i < 2000; i++) d[i] = next() * 3;
      // each kernel over [start, start + count) vs. the same kernel on each element alone
      type Run = (off: number, count: number) => void;
      const runs: Record<string, Run> = {
        add: (o, c) => arena.add(out + o, src + o, src2 + o, c),
        sub: (o, c) => arena.sub(out + o, src + o, src2 + o, c),
        mul: (o, c) => arena.mul(out + o, src + o, src2 + o, c),
        tanh: (o, c) => arena.tanh(out + o, src + o, c),
        sigmoid: (o, c) => arena.sigmoid(out + o, src + o, c),
        accAdd: (o, c) => arena.accAdd(out + o, src + o, c),
        accSub: (o, c) => arena.accSub(out + o, src + o, c),
        accMul: (o, c) => arena.accMul(out + o, src + o, src2 + o, c),
        accTanhGrad: (o, c) => arena.accTanhGrad(out + o, src + o, src2 + o, c),
        accSigmoidGrad: (o, c) => arena.accSigmoidGrad(out + o, src + o, src2 + o, c),
      };
      const init = d.slice(base, base + N);
      for (const [name, run] of Object.entries(runs)) {
        d.set(init, out);
        for (let i = 0; i < N; i++) run(i, 1);
        const alone = d.slice(out, out + N);
        for (const start of [0, 1, 2, 3, 5]) for (const count of [1, 2, 3, 4, 5, 7, 8, 9, 31, 62 - start]) {
          d.set(init, out);
          run(start, count);
          for (let i = start; i < start + count; i++) expectSame(d[out + i]!, alone[i]!, `${dtype} ${name} element ${i} in a run [${start}, ${start + count})`);
        }
      }
    });

    it(`element-wise rules ${dtype}: forward and VJP through the wasm kernels agree with the TS loops (flat, broadcast, unbatched sites)`, () => {
      let seed = 21;
      const layouts: readonly (readonly boolean[])[] = [[true, true], [true, false], [false, true], [false, false]];
      for (const name of [...binOps, ...unOps]) {
        for (const nb of [1, 2, 3, 5, 8]) for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 64]) {
          for (const batched of name === 'tanh' || name === 'sigmoid' ? [[true], [false]] : layouts) checkRule(arena, name, { nb, n, batched }, seed++);
        }
      }
    });
  }
}
