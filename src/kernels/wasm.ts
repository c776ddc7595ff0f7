/**
 * The WebAssembly SIMD kernel tier: the matvec GEMMs and the hot element-wise kernels (add, sub,
 * mul, tanh, sigmoid and their VJPs) of wasm/kernels.ts (AssemblyScript, compiled
 * at package build time by scripts/build-wasm.ts and shipped as base64 in ./wasm-binary.ts), over
 * arenas that live inside a WebAssembly memory. Browser-safe: no Node APIs; the module is
 * compiled once, lazily and synchronously, on first use.
 *
 * Unavailable (every function here says so by returning false / undefined, and the caller keeps
 * the TS kernels) when the engine has no WebAssembly or no SIMD (the compile fails), when
 * synchronous compilation is forbidden (Chrome's main thread refuses `new WebAssembly.Module` for
 * modules over 4 KB; workers and Node are fine), or when the memory cannot be allocated.
 */
import type { ElementwiseKernels, GemmKernels } from '../primitives/types';
import { kernelsSharedWasmBase64, kernelsWasmBase64 } from './wasm-binary';

/** The two element types the kernels come in. @since 0.1.0 @category kernels */
export type WasmDtype = 'float32' | 'float64';

/**
 * A typed-array arena inside a WebAssembly memory, with the kernels bound to it. All offsets
 * are ELEMENT offsets into `data` (the kernels convert to bytes), all matrices row-major and
 * contiguous, exactly as the TS kernels address a `Buf`.
 *
 * One arena holds everything a kernel call touches, because a kernel can only read its own
 * memory: a Program that wants both its value arena (V elements) and its gradient arena (G
 * elements) on the wasm tier allocates ONE arena, `createWasmArena(V + G, dtype)`, takes
 * `data.subarray(0, V)` as values and `data.subarray(V, V + G)` as gradients, and passes
 * gradient offsets to `tnAcc` / `nnAcc` with V added (offsets are into the WHOLE `data`).
 *
 * The memory is never grown, so `data` and any subarray of it stay valid for the arena's life.
 * Outputs must not overlap the inputs of the same call.
 * @since 0.1.0
 * @category kernels
 */
export interface WasmArena extends GemmKernels, ElementwiseKernels {
  readonly dtype: WasmDtype;
  /** The memory (a whole number of 64 KiB pages, at least the elements asked for). */
  readonly memory: WasmMemory;
  /** A view of the whole memory from offset 0: Float32Array for float32, Float64Array for float64. */
  readonly data: Float32Array | Float64Array;

  // The GEMMs and the row-wise element-wise kernels are those of GemmKernels and
  // ElementwiseKernels (src/primitives/types.ts); below, the plain contiguous-run forms.
  /** y[i] = a[i] + b[i], i < count. */
  readonly add: (y: number, a: number, b: number, count: number) => void;
  /** y[i] = a[i] − b[i], i < count. */
  readonly sub: (y: number, a: number, b: number, count: number) => void;
  /** y[i] = a[i] · b[i], i < count. */
  readonly mul: (y: number, a: number, b: number, count: number) => void;
  /** g[i] += dy[i], i < count. */
  readonly accAdd: (g: number, dy: number, count: number) => void;
  /** g[i] −= dy[i], i < count. */
  readonly accSub: (g: number, dy: number, count: number) => void;
  /** g[i] += dy[i] · o[i], i < count. */
  readonly accMul: (g: number, dy: number, o: number, count: number) => void;
  /**
   * O[p, k] += Σ_q S[p, q] · B[q, k] (p < P, q < Q, k < n), S[p, q] at s + p·sp + q·sq
   * (element strides): the kernel under tnAcc and nnAcc, for callers that split O's rows; a
   * thread `slot` packs in its own scratch.
   */
  readonly accBroadcast: (o: number, s: number, sp: number, sq: number, b: number, P: number, Q: number, n: number, slot?: number) => void;
  /** BYTE offset of the GEMMs' packing scratch (slot j at `scratch + j·scratchBytes`). */
  readonly scratch: number;
  /** Bytes of packing scratch per slot (see {@link gemmScratchBytes}; 0: the products run unpacked). */
  readonly scratchBytes: number;
  /** Scratch slots (threads that can pack at once). */
  readonly scratchSlots: number;
  /** data[at … at + count) = 0 (a memset: `fill` is slow over a shared buffer). */
  readonly zero: (at: number, count: number) => void;
  /**
   * Runs a fused group's program (src/fuse.ts) at BYTE offset `prog` over rows r0 ≤ r < r1,
   * with its registers in the scratch area at BYTE offset `scratch`.
   */
  readonly fused: (prog: number, scratch: number, r0: number, r1: number) => void;
  /** Whether `memory` is shared (a `SharedArrayBuffer`, for worker threads). */
  readonly shared: boolean;
  /** The compiled module this arena's instance runs (workers instantiate it over `memory`). */
  readonly module: WasmModule;
}

// The root tsconfig has neither DOM nor WebAssembly types (only ES2022 + node), so the little of
// the WebAssembly JS API used here is typed locally and reached through globalThis.
/** The part of a `WebAssembly.Memory` an arena exposes. @since 0.1.0 @category kernels */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}
/** A compiled `WebAssembly.Module` (opaque here). @since 0.1.0 @category kernels */
export interface WasmModule { readonly __brand?: 'WebAssembly.Module' }
interface WasmInstance { readonly exports: Record<string, unknown> }
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  readonly Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
}

type RawKernel = (y: number, x: number, a: number, rows: number, m: number, n: number) => void;
type RawAccKernel = (y: number, x: number, a: number, rows: number, m: number, n: number, w: number, wb: number) => void;
type RawBinary = (y: number, a: number, as: number, b: number, bs: number, rows: number, n: number) => void;
type RawAcc = (g: number, gs: number, dy: number, rows: number, n: number) => void;
type RawAccMul = (g: number, gs: number, dy: number, o: number, os: number, rows: number, n: number) => void;
type RawUnary = (y: number, x: number, count: number) => void;
type RawUnaryGrad = (g: number, dy: number, y: number, count: number) => void;
type RawBroadcast = (o: number, s: number, sp: number, sq: number, b: number, P: number, Q: number, n: number, w: number, wb: number) => void;

const PAGE = 65536;
/** wasm32's limit: 65536 pages (4 GiB). Engines may allow less; allocation failure is caught. */
const MAX_PAGES = 65536;

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes standard base64 (with or without padding). */
export const decodeBase64 = (s: string): Uint8Array => {
  const lut = new Uint8Array(128).fill(255);
  for (let i = 0; i < 64; i++) lut[B64.charCodeAt(i)] = i;
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 61 /* = */) len--;
  const out = new Uint8Array((len * 3) >> 2);
  let acc = 0, bits = 0, j = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i), v = c < 128 ? lut[c]! : 255;
    if (v === 255) throw new Error(`invalid base64 character at ${i}`);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 0xff; }
  }
  return out;
};

type Compiled = { readonly ok: true; readonly api: WasmApi; readonly module: WasmModule } | { readonly ok: false; readonly reason: string };
let compiled: Compiled | undefined;
let compiledShared: Compiled | undefined;

const compileModule = (base64: string): Compiled => {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return { ok: false, reason: 'this engine has no WebAssembly' };
  try {
    return { ok: true, api, module: new api.Module(decodeBase64(base64)) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // Chrome's main thread: "WebAssembly.Module is disallowed on the main thread, if the buffer size is larger than 4KB"
    return { ok: false, reason: /main thread|disallowed/i.test(msg) ? `synchronous WebAssembly compilation is not allowed here (${msg}); use a worker` : `the kernels module does not compile here, probably no WebAssembly SIMD (${msg})` };
  }
};

const compile = (): Compiled => (compiled ??= compileModule(kernelsWasmBase64));
/** The shared-memory build, compiled on first use by a thread pool. */
const compileShared = (): Compiled => (compiledShared ??= compileModule(kernelsSharedWasmBase64));

/** Whether the wasm kernels can run here (compiles the module on first call). @since 0.1.0 @category kernels */
export const wasmKernelsAvailable = (): boolean => compile().ok;

/** Why the wasm kernels cannot run here, or undefined when they can. @since 0.1.0 @category kernels */
export const wasmKernelsUnavailableReason = (): string | undefined => {
  const c = compile();
  return c.ok ? undefined : c.reason;
};

/**
 * A fresh arena of at least `elements` values of `dtype` in its own WebAssembly memory, with the
 * kernels bound to it (see {@link WasmArena}, including how to hold values and gradients in one
 * arena). Undefined when the kernels are unavailable or the memory cannot be allocated.
 * `shared: true` puts it in a shared memory (a `SharedArrayBuffer`, the shared-memory build of
 * the module), which worker threads can run the same kernels on (see `startThreads`); that needs
 * an engine with shared memory (Node; browsers only on cross-origin-isolated pages).
 * @since 0.1.0
 * @category kernels
 */
export const createWasmArena = (
  elements: number, dtype: WasmDtype, options: { readonly shared?: boolean; readonly scratchBytes?: number; readonly scratchSlots?: number } = {},
): WasmArena | undefined => {
  const shared = options.shared === true;
  const c = shared ? compileShared() : compile();
  if (!c.ok) return undefined;
  if (!Number.isInteger(elements) || elements < 0) throw new RangeError(`createWasmArena: elements must be a non-negative integer, got ${elements}`);
  const bpe = dtype === 'float32' ? 4 : 8;
  // the GEMMs' packing scratch, one slot per thread, after the elements
  const scratchBytes = Math.ceil((options.scratchBytes ?? 0) / 16) * 16, slots = Math.max(1, options.scratchSlots ?? 1);
  const scratch = Math.ceil((elements * bpe) / 16) * 16;
  const pages = Math.max(1, Math.ceil((scratch + slots * scratchBytes) / PAGE));
  if (pages > MAX_PAGES) return undefined;
  let memory: WasmMemory, instance: WasmInstance;
  try {
    memory = new c.api.Memory({ initial: pages, maximum: pages, ...(shared ? { shared: true } : {}) });
    instance = new c.api.Instance(c.module, { env: { memory } });
  } catch {
    return undefined;
  }
  const sfx = dtype === 'float32' ? 'f32' : 'f64';
  const ex = <K>(name: string): K => instance.exports[`${name}_${sfx}`] as K;
  const ntRaw = ex<RawKernel>('gemmNT'), tnRaw = ex<RawAccKernel>('gemmTNacc'), nnRaw = ex<RawAccKernel>('gemmNNacc');
  const broadcastRaw = ex<RawBroadcast>('accBroadcast');
  const addRaw = ex<RawBinary>('add'), subRaw = ex<RawBinary>('sub'), mulRaw = ex<RawBinary>('mul');
  const accAddRaw = ex<RawAcc>('accAdd'), accSubRaw = ex<RawAcc>('accSub'), accMulRaw = ex<RawAccMul>('accMul');
  const zeroRaw = instance.exports['zero'] as (p: number, bytes: number) => void;
  const copyRowsRaw = instance.exports['copyRows'] as (y: number, ys: number, x: number, xs: number, rows: number, nb: number) => void;
  const tanhRaw = ex<RawUnary>('tanh'), sigmoidRaw = ex<RawUnary>('sigmoid');
  const tanhGradRaw = ex<RawUnaryGrad>('accTanhGrad'), sigmoidGradRaw = ex<RawUnaryGrad>('accSigmoidGrad');
  // byte offsets for pointers; strides, rows, n and counts stay element counts
  return {
    dtype,
    memory,
    shared,
    module: c.module,
    data: dtype === 'float32' ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer),
    nt: (y, x, a, rows, m, n) => ntRaw(y * bpe, x * bpe, a * bpe, rows, m, n),
    scratch,
    scratchBytes,
    scratchSlots: slots,
    tnAcc: (da, dy, x, rows, m, n) => tnRaw(da * bpe, dy * bpe, x * bpe, rows, m, n, scratch, scratchBytes),
    nnAcc: (dx, dy, a, rows, m, n) => nnRaw(dx * bpe, dy * bpe, a * bpe, rows, m, n, scratch, scratchBytes),
    zero: (at, count) => zeroRaw(at * bpe, count * bpe),
    fused: ex<(prog: number, scratch: number, r0: number, r1: number) => void>('fused'),
    copyRows: (y, ys, x, xs, rows, n) => copyRowsRaw(y * bpe, ys * bpe, x * bpe, xs * bpe, rows, n * bpe),
    accBroadcast: (o, s, sp, sq, b, P, Q, n, slot = 0) => broadcastRaw(o * bpe, s * bpe, sp * bpe, sq * bpe, b * bpe, P, Q, n, scratch + slot * scratchBytes, scratchBytes),
    add: (y, a, b, count) => addRaw(y * bpe, a * bpe, 0, b * bpe, 0, 1, count),
    sub: (y, a, b, count) => subRaw(y * bpe, a * bpe, 0, b * bpe, 0, 1, count),
    mul: (y, a, b, count) => mulRaw(y * bpe, a * bpe, 0, b * bpe, 0, 1, count),
    addRows: (y, a, as, b, bs, rows, n) => addRaw(y * bpe, a * bpe, as, b * bpe, bs, rows, n),
    subRows: (y, a, as, b, bs, rows, n) => subRaw(y * bpe, a * bpe, as, b * bpe, bs, rows, n),
    mulRows: (y, a, as, b, bs, rows, n) => mulRaw(y * bpe, a * bpe, as, b * bpe, bs, rows, n),
    accAdd: (g, dy, count) => accAddRaw(g * bpe, 0, dy * bpe, 1, count),
    accSub: (g, dy, count) => accSubRaw(g * bpe, 0, dy * bpe, 1, count),
    accMul: (g, dy, o, count) => accMulRaw(g * bpe, 0, dy * bpe, o * bpe, 0, 1, count),
    accAddRows: (g, gs, dy, rows, n) => accAddRaw(g * bpe, gs, dy * bpe, rows, n),
    accSubRows: (g, gs, dy, rows, n) => accSubRaw(g * bpe, gs, dy * bpe, rows, n),
    accMulRows: (g, gs, dy, o, os, rows, n) => accMulRaw(g * bpe, gs, dy * bpe, o * bpe, os, rows, n),
    tanh: (y, x, count) => tanhRaw(y * bpe, x * bpe, count),
    sigmoid: (y, x, count) => sigmoidRaw(y * bpe, x * bpe, count),
    accTanhGrad: (g, dy, y, count) => tanhGradRaw(g * bpe, dy * bpe, y * bpe, count),
    accSigmoidGrad: (g, dy, y, count) => sigmoidGradRaw(g * bpe, dy * bpe, y * bpe, count),
  };
};

/**
 * Bytes of packing scratch the accumulating products of a matvec with an [m, n] matrix over
 * `rows` rows need (mirrors `accBroadcast` in wasm/kernels.ts): tnAcc packs up to 512 rows of
 * dY whose rows are a multiple of 2 KiB (a ~16 KiB panel of X, ≥ 32 bytes wide, and 4 values of
 * dY per row), nnAcc packs a panel of A when A is 1 MiB or more. Without it a product runs unpacked (the same bits, slower).
 * @since 0.1.0
 * @category kernels
 */
export const gemmScratchBytes = (rows: number, m: number, n: number, bpe: number): number => {
  const panel = (Q: number): number => Math.max(32, Math.floor(16384 / Math.max(Q, 1)) & ~31);
  // tnAcc: a panel of X, and S (dY's m × rows values) whole where that is at most 4 MiB (else one
  // row block of it at a time, repacked per panel)
  const sWhole = Math.ceil(m / 4) * 4 * rows * bpe;
  const tn = rows <= 512 && (m * bpe) % 2048 === 0 ? rows * panel(rows) + (sWhole <= 4 << 20 ? sWhole : 4 * rows * bpe) : 0;
  const nn = m * n * bpe >= 1048576 ? m * panel(m) : 0;
  return Math.max(tn, nn);
};
