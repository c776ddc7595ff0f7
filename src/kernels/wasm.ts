/**
 * The WebAssembly SIMD kernel tier: the matvec GEMMs of wasm/kernels.ts (AssemblyScript, compiled
 * at package build time by scripts/build-wasm.ts and shipped as base64 in ./wasm-binary.ts), over
 * arenas that live inside a WebAssembly memory. Browser-safe: no Node APIs; the module is
 * compiled once, lazily and synchronously, on first use.
 *
 * Unavailable (every function here says so by returning false / undefined, and the caller keeps
 * the TS kernels) when the engine has no WebAssembly or no SIMD (the compile fails), when
 * synchronous compilation is forbidden (Chrome's main thread refuses `new WebAssembly.Module` for
 * modules over 4 KB; workers and Node are fine), or when the memory cannot be allocated.
 */
import { kernelsWasmBase64 } from './wasm-binary';

/** The two element types the kernels come in. @since 0.2.0 @category kernels */
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
 * @since 0.2.0
 * @category kernels
 */
export interface WasmArena {
  readonly dtype: WasmDtype;
  /** The memory (a whole number of 64 KiB pages, at least the elements asked for). */
  readonly memory: WasmMemory;
  /** A view of the whole memory from offset 0: Float32Array for float32, Float64Array for float64. */
  readonly data: Float32Array | Float64Array;
  /** Y[r, i] = Σ_k X[r, k] · A[i, k]: Y [rows, m] at y (overwritten), X [rows, n] at x, A [m, n] at a. */
  readonly nt: (y: number, x: number, a: number, rows: number, m: number, n: number) => void;
  /** dA[i, k] += Σ_r dY[r, i] · X[r, k]: dA [m, n] at da, dY [rows, m] at dy, X [rows, n] at x. */
  readonly tnAcc: (da: number, dy: number, x: number, rows: number, m: number, n: number) => void;
  /** dX[r, k] += Σ_i dY[r, i] · A[i, k]: dX [rows, n] at dx, dY [rows, m] at dy, A [m, n] at a. */
  readonly nnAcc: (dx: number, dy: number, a: number, rows: number, m: number, n: number) => void;
}

// The root tsconfig has neither DOM nor WebAssembly types (only ES2022 + node), so the little of
// the WebAssembly JS API used here is typed locally and reached through globalThis.
/** The part of a `WebAssembly.Memory` an arena exposes. @since 0.2.0 @category kernels */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmModule { readonly __brand?: 'WebAssembly.Module' }
interface WasmInstance { readonly exports: Record<string, unknown> }
interface WasmApi {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  readonly Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

type RawKernel = (y: number, x: number, a: number, rows: number, m: number, n: number) => void;

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

const compile = (): Compiled => {
  if (compiled !== undefined) return compiled;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (api === undefined) return (compiled = { ok: false, reason: 'this engine has no WebAssembly' });
  try {
    const module = new api.Module(decodeBase64(kernelsWasmBase64));
    compiled = { ok: true, api, module };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // Chrome's main thread: "WebAssembly.Module is disallowed on the main thread, if the buffer size is larger than 4KB"
    compiled = { ok: false, reason: /main thread|disallowed/i.test(msg) ? `synchronous WebAssembly compilation is not allowed here (${msg}); use a worker` : `the kernels module does not compile here, probably no WebAssembly SIMD (${msg})` };
  }
  return compiled;
};

/** Whether the wasm kernels can run here (compiles the module on first call). @since 0.2.0 @category kernels */
export const wasmKernelsAvailable = (): boolean => compile().ok;

/** Why the wasm kernels cannot run here, or undefined when they can. @since 0.2.0 @category kernels */
export const wasmKernelsUnavailableReason = (): string | undefined => {
  const c = compile();
  return c.ok ? undefined : c.reason;
};

/**
 * A fresh arena of at least `elements` values of `dtype` in its own WebAssembly memory, with the
 * kernels bound to it (see {@link WasmArena}, including how to hold values and gradients in one
 * arena). Undefined when the kernels are unavailable or the memory cannot be allocated.
 * @since 0.2.0
 * @category kernels
 */
export const createWasmArena = (elements: number, dtype: WasmDtype): WasmArena | undefined => {
  const c = compile();
  if (!c.ok) return undefined;
  if (!Number.isInteger(elements) || elements < 0) throw new RangeError(`createWasmArena: elements must be a non-negative integer, got ${elements}`);
  const bpe = dtype === 'float32' ? 4 : 8;
  const pages = Math.max(1, Math.ceil((elements * bpe) / PAGE));
  if (pages > MAX_PAGES) return undefined;
  let memory: WasmMemory, instance: WasmInstance;
  try {
    memory = new c.api.Memory({ initial: pages, maximum: pages });
    instance = new c.api.Instance(c.module, { env: { memory } });
  } catch {
    return undefined;
  }
  const sfx = dtype === 'float32' ? 'f32' : 'f64';
  const ntRaw = instance.exports[`gemmNT_${sfx}`] as RawKernel;
  const tnRaw = instance.exports[`gemmTNacc_${sfx}`] as RawKernel;
  const nnRaw = instance.exports[`gemmNNacc_${sfx}`] as RawKernel;
  return {
    dtype,
    memory,
    data: dtype === 'float32' ? new Float32Array(memory.buffer) : new Float64Array(memory.buffer),
    nt: (y, x, a, rows, m, n) => ntRaw(y * bpe, x * bpe, a * bpe, rows, m, n),
    tnAcc: (da, dy, x, rows, m, n) => tnRaw(da * bpe, dy * bpe, x * bpe, rows, m, n),
    nnAcc: (dx, dy, a, rows, m, n) => nnRaw(dx * bpe, dy * bpe, a * bpe, rows, m, n),
  };
};
