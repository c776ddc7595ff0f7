/**
 * Micro-benchmark: the wasm SIMD matvec GEMMs (src/kernels/wasm.ts) against the TS kernels of
 * src/primitives/linalg.ts (matvec's forward and VJP with a shared A), GFLOP/s (2·R·m·n flops per
 * call), one core, best of a few timed runs.
 *
 *   npx tsx bench/wasm-kernels.ts
 */
import { performance } from 'node:perf_hooks';
import { createWasmArena, wasmKernelsUnavailableReason } from '../src/kernels/wasm';
import { matvec } from '../src/primitives/linalg';
import type { Buf, Site } from '../src/primitives/types';

const reason = wasmKernelsUnavailableReason();
if (reason !== undefined) throw new Error(`wasm kernels unavailable: ${reason}`);

/** GFLOP/s of `run`, best of 5 runs of enough calls to take ≳ 40 ms each. */
const gflops = (flops: number, run: () => void): number => {
  for (let i = 0; i < 3; i++) run();
  let calls = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) run();
    if (performance.now() - t0 > 40) break;
    calls *= 2;
  }
  let best = Infinity;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) run();
    best = Math.min(best, (performance.now() - t0) / calls);
  }
  return flops / (best * 1e6);
};

const site = (R: number, m: number, n: number, off: { a: number; x: number; y: number; ga: number; gx: number; gy: number }): Site<Record<string, never>> => ({
    nb: R, batch: R, inOff: [off.a, off.x], inStride: [0, n], inShape: [[m, n], [n]], inSize: [m * n, n],
    outOff: off.y, outStride: m, outShape: [m], outSize: m, params: {}, gIn: [off.ga, off.gx], gOut: off.gy,
});

const shapes: (readonly [number, number, number])[] = [];
for (const R of [8, 32, 64]) for (const m of [256, 512]) for (const n of [64, 128, 256]) shapes.push([R, m, n]);

const rows: string[][] = [];
for (const dtype of ['float32', 'float64'] as const) {
  for (const [R, m, n] of shapes) {
    const sa = m * n, sx = R * n, sy = R * m;
    // one arena: values [A, X, Y] then gradients [dA, dX, dY], as a Program would lay them out
    const V = sa + sx + sy, arena = createWasmArena(2 * V, dtype)!;
    const d = arena.data;
    for (let i = 0; i < 2 * V; i++) d[i] = Math.sin(i * 0.37) * 0.5;
    const a = 0, x = sa, y = sa + sx, ga = V, gx = V + sa, gy = V + sa + sx;
    // the TS kernels on separate arrays of the same size (their usual value and gradient arenas)
    const v: Buf = dtype === 'float32' ? new Float32Array(V) : new Float64Array(V);
    const g: Buf = dtype === 'float32' ? new Float32Array(V) : new Float64Array(V);
    v.set(d.subarray(0, V)); g.set(d.subarray(V, 2 * V));
    const off = { a, x, y, ga: a, gx: x, gy: y };
    const sF = site(R, m, n, off), sA = site(R, m, n, { ...off, gx: -1 }), sX = site(R, m, n, { ...off, ga: -1 });
    const flops = 2 * R * m * n;
    // keep accumulated gradients bounded: scale dY down so repeated += stays finite
    for (let i = gy; i < gy + sy; i++) d[i] = d[i]! * 1e-6;
    for (let i = y; i < y + sy; i++) g[i] = g[i]! * 1e-6;
    const res = [
      gflops(flops, () => matvec.forward(v, sF)),
      gflops(flops, () => arena.nt(y, x, a, R, m, n)),
      gflops(flops, () => matvec.vjp(v, g, sA)),
      gflops(flops, () => arena.tnAcc(ga, gy, x, R, m, n)),
      gflops(flops, () => matvec.vjp(v, g, sX)),
      gflops(flops, () => arena.nnAcc(gx, gy, a, R, m, n)),
    ];
    const row = [dtype === 'float32' ? 'f32' : 'f64', String(R), String(m), String(n), ...res.map((r) => r.toFixed(1))];
    rows.push(row);
    console.log(row.join('\t'));
  }
}

const head = ['dtype', 'R', 'm', 'n', 'fwd TS', 'nt wasm', 'dA TS', 'tnAcc wasm', 'dX TS', 'nnAcc wasm'];
console.log(`\nGFLOP/s (2·R·m·n per call), Node ${process.version}, one core\n`);
console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
