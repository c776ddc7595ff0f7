/**
 * Worker threads for the WebAssembly kernels: a plan compiled with a {@link ThreadPool} keeps
 * its arenas in a shared WebAssembly memory, and each large matrix product is cut into row
 * blocks, one per thread; the calling thread runs the first block and waits for the others.
 * Everything else (the element-wise kernels, the custom primitives, the loop over the graph)
 * stays on the calling thread, so any cell, custom primitives included, runs threaded.
 *
 * Bit-identical whatever the thread count: every element of a product is computed by the same
 * instructions in the same order whichever block (and thread) it falls in. In `gemmNT` an
 * element is one dot product over k (vector lanes, then the lane sum, then the scalar tail) in
 * every code path; in the broadcast kernel under `tnAcc` / `nnAcc` an element sums its q terms in
 * order whatever rows surround it. The blocks are rows of the OUTPUT, so no sum is ever split.
 *
 * The hand-off is a few words of a SharedArrayBuffer per worker: the caller writes a job's
 * arguments, flips the state word, and spins until the worker flips it back (about a
 * microsecond each way on Node 20). An idle worker spins for {@link SPIN_MS} and then sleeps
 * in `Atomics.wait` until the next job, so a pool costs no CPU between training steps.
 * Products under {@link THREAD_MIN_FLOPS} stay on the calling thread, where the hand-off would
 * cost more than it saves.
 *
 * Where it runs: Node (worker_threads) and browser workers on cross-origin-isolated pages
 * (shared memory needs it). Chrome's main thread has no synchronous wasm compilation, so its
 * plans use the typed-array kernels and no threads.
 */
import type { ElementwiseKernels, GemmKernels } from '../primitives/types';

/** A plan's kernels with the threads behind them. @internal */
export interface ThreadedKernels {
  readonly gemm: GemmKernels;
  readonly elementwise: ElementwiseKernels;
  /**
   * The runner of fused groups (src/fuse.ts): thread j's registers at byte `scratch + j·stride`;
   * a group's rows split over the threads when its `work` reaches the pool's `minFlops`.
   */
  readonly fused: (scratch: number, stride: number) => (prog: number, rows: number, work: number) => void;
}
import { createWasmArena, type WasmArena } from './wasm';

/** A failure of the thread pool itself (a worker that cannot start, crashed or stopped answering). @since 0.1.0 @category model */
export class ThreadError extends Error {
  override readonly name = 'ThreadError';
}

/**
 * Worker threads that share a plan's matrix products (see {@link startThreads}). Pass it to
 * `compile(u, { batch, threads: pool })`; one pool serves any number of plans, one call at a time
 * (plans are synchronous: a step returns only when every block is done).
 * @since 0.1.0
 * @category model
 */
export interface ThreadPool {
  /** Threads a product is split over: the caller's and the workers'. */
  readonly threads: number;
  /** Products below this many flops run on the calling thread alone. */
  readonly minFlops: number;
  /** After {@link ThreadPool.close}: plans compiled with the pool run on the calling thread alone (same results). */
  readonly closed: boolean;
  /** Stops the workers. */
  readonly close: () => Promise<void>;
}

/** Options of {@link startThreads}. @since 0.1.0 @category model */
export interface ThreadOptions {
  /** Threads in all, the caller's included (default: the machine's cores). 1 starts no worker. */
  readonly threads?: number;
  /** Products below this many flops (2·rows·m·n) stay on the calling thread (default {@link THREAD_MIN_FLOPS}). */
  readonly minFlops?: number;
}

/**
 * Products below this many flops (2·rows·m·n) run on the calling thread alone: 2¹⁹, measured on
 * the workload (2 cores, float32): splitting paid from medium up (every product there is at
 * least 2¹⁹), and at small it did not pay at any threshold from 2¹⁵ to 2¹⁸ (hand-off and
 * cache traffic ate the gain).
 * @since 0.1.0
 * @category model
 */
export const THREAD_MIN_FLOPS = 1 << 19;
/** How long an idle worker spins before it sleeps (ms): longer than the gaps inside a training step. */
export const SPIN_MS = 2;

// The control block of one worker: Int32 words, then the job's arguments as float64 (byte
// offsets into wasm32 memory go up to 2³², beyond Int32).
const STATE = 0, OP = 1, ARENA = 2, ERROR = 3, ACK = 4, SLEEPING = 5;
const IDLE = 0, POSTED = 1, DONE = 2, YIELD = 3, EXIT = 4;
const OP_NT = 0, OP_BROADCAST = 1, OP_TANH = 2, OP_SIGMOID = 3, OP_FUSED = 4;
const WORDS = 8, ARGS = 10;
const CONTROL_BYTES = WORDS * 4 + ARGS * 8;

/**
 * The worker's program. A plain script (no imports, no bundler in between) so the same text runs
 * as a Node `eval` worker and as a browser worker from a Blob URL. It handles messages (init,
 * arena, drop) on its event loop, then serves jobs in a loop until told to yield back to it.
 */
const WORKER_SOURCE = `'use strict';
const port = typeof self !== 'undefined' && typeof self.postMessage === 'function' ? null : require('node:worker_threads').parentPort;
let ctl, args, spinMs;
const arenas = new Map();
const serve = () => {
  let spins = 0, since = performance.now();
  for (;;) {
    const s = Atomics.load(ctl, ${STATE});
    if (s === ${POSTED}) {
      try {
        const k = arenas.get(ctl[${ARENA}]);
        const op = ctl[${OP}];
        if (op === ${OP_NT}) k.nt(args[0], args[1], args[2], args[3], args[4], args[5]);
        else if (op === ${OP_BROADCAST}) k.broadcast(args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7], args[8], args[9]);
        else if (op === ${OP_TANH}) k.tanh(args[0], args[1], args[2]);
        else if (op === ${OP_SIGMOID}) k.sigmoid(args[0], args[1], args[2]);
        else k.fused(args[0], args[1], args[2], args[3]);
      } catch (e) {
        ctl[${ERROR}] = 2;
      }
      Atomics.store(ctl, ${STATE}, ${DONE});
      spins = 0;
      since = performance.now();
      continue;
    }
    if (s === ${YIELD}) { Atomics.compareExchange(ctl, ${STATE}, ${YIELD}, ${IDLE}); return; }
    if (s === ${EXIT}) { if (port) port.close(); else self.close(); return; }
    if ((++spins & 1023) === 0 && performance.now() - since > spinMs) {
      Atomics.store(ctl, ${SLEEPING}, 1);
      Atomics.wait(ctl, ${STATE}, s);
      Atomics.store(ctl, ${SLEEPING}, 0);
      spins = 0;
      since = performance.now();
    }
  }
};
const handle = (m) => {
  if (m.type === 'init') {
    ctl = new Int32Array(m.control, 0, ${WORDS});
    args = new Float64Array(m.control, ${WORDS * 4}, ${ARGS});
    spinMs = m.spinMs;
  } else if (m.type === 'arena') {
    try {
      const x = new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports;
      const sfx = m.dtype === 'float32' ? 'f32' : 'f64';
      arenas.set(m.id, { nt: x['gemmNT_' + sfx], broadcast: x['accBroadcast_' + sfx], tanh: x['tanh_' + sfx], sigmoid: x['sigmoid_' + sfx], fused: x['fused_' + sfx] });
    } catch (e) {
      ctl[${ERROR}] = 1;
    }
    Atomics.add(ctl, ${ACK}, 1);
  } else if (m.type === 'drop') {
    arenas.delete(m.id);
  } else if (m.type === 'serve') {
    serve();
  }
};
if (port) port.on('message', handle); else self.onmessage = (e) => handle(e.data);
`;

/** What both kinds of worker (Node's, the browser's) offer here. */
interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

interface Slot {
  readonly worker: AnyWorker;
  readonly ctl: Int32Array;
  readonly args: Float64Array;
  acks: number;
}

/**
 * The thread count asked for, or the machine's (`os.availableParallelism()` in Node,
 * `navigator.hardwareConcurrency` in browsers).
 */
const machineThreads = async (): Promise<number> => {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (typeof nav?.hardwareConcurrency === 'number') return nav.hardwareConcurrency;
  try {
    const os = (await importNode('node:os')) as { availableParallelism?: () => number; cpus: () => unknown[] };
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
};

/**
 * A Node built-in, imported through a non-literal specifier so that bundlers targeting browsers
 * (esbuild, webpack, Vite) leave it alone instead of failing to resolve it: this module is part
 * of the browser-safe library, and only ever takes this path in Node.
 */
const importNode = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ /* webpackIgnore: true */ specifier);

const isNode = (): boolean => {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' && typeof (globalThis as { self?: unknown }).self === 'undefined';
};

const spawn = async (): Promise<AnyWorker> => {
  if (isNode()) {
    const wt = (await importNode('node:worker_threads')) as {
      Worker: new (code: string, options: { eval: true; execArgv: string[] }) => AnyWorker & { unref(): void };
    };
    // execArgv []: the script is CommonJS whatever the parent runs with (`--input-type=module`
    // would otherwise make it ESM, without `require`), and needs none of the parent's loaders
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
    w.unref(); // an idle pool does not keep the process alive
    return w;
  }
  const g = globalThis as {
    Worker?: new (url: string) => AnyWorker;
    Blob?: new (parts: string[], options: { type: string }) => unknown;
    URL?: { createObjectURL(blob: unknown): string };
  };
  if (g.Worker === undefined || g.Blob === undefined || g.URL === undefined) throw new ThreadError('this runtime has no Worker: threads need Node or a browser');
  return new g.Worker(g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: 'text/javascript' })));
};

/** Spins until `ok()`; a worker that takes longer than `ms` has died or hung. */
const spinUntil = (ok: () => boolean, ms: number, what: string): void => {
  let spins = 0;
  const t0 = performance.now();
  while (!ok()) {
    if ((++spins & 0xffff) === 0 && performance.now() - t0 > ms) throw new ThreadError(`a worker thread did not ${what} within ${ms / 1000} s`);
  }
};

/** How long a job may take before its worker is declared hung (a large kernel call takes milliseconds). */
const JOB_TIMEOUT_MS = 60_000;

/** The pool, with what plans need of it. @internal */
export class Pool implements ThreadPool {
  /** @internal */
  open = true;
  /** Blocks handed to workers so far (for tests and diagnostics). @internal */
  jobs = 0;
  private nextId = 1;
  private readonly registry: { register(target: object, held: number): void } | undefined;

  constructor(private readonly slots: readonly Slot[], readonly minFlops: number) {
    const FR = (globalThis as { FinalizationRegistry?: new (cb: (id: number) => void) => { register(t: object, h: number): void } }).FinalizationRegistry;
    // a collected plan's arena: the workers drop their instance over it at their next yield
    this.registry = FR !== undefined ? new FR((id) => { if (this.open) for (const s of slots) s.worker.postMessage({ type: 'drop', id }); }) : undefined;
  }

  get threads(): number {
    return this.slots.length + 1;
  }

  get closed(): boolean {
    return !this.open;
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    for (const s of this.slots) {
      Atomics.store(s.ctl, STATE, EXIT);
      Atomics.notify(s.ctl, STATE);
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  /**
   * Threaded GEMM kernels over `arena` (which must be shared), or undefined when the pool has no
   * workers, is closed, or a worker could not instantiate the module over this memory.
   */
  attach(arena: WasmArena): ThreadedKernels | undefined {
    if (!this.open || this.slots.length === 0 || !arena.shared) return undefined;
    const id = this.nextId++;
    for (const s of this.slots) {
      s.worker.postMessage({ type: 'arena', id, module: arena.module, memory: arena.memory, dtype: arena.dtype });
      s.worker.postMessage({ type: 'serve' });
      s.acks++;
      Atomics.store(s.ctl, STATE, YIELD);
      Atomics.notify(s.ctl, STATE);
    }
    for (const s of this.slots) spinUntil(() => Atomics.load(s.ctl, ACK) >= s.acks, 30_000, 'load a plan\'s kernels');
    if (this.slots.some((s) => Atomics.exchange(s.ctl, ERROR, 0) !== 0)) return undefined;
    const kernels = threadedKernels(this, arena, id, this.slots);
    this.registry?.register(kernels, id);
    return kernels;
  }
}

/** Splits [0, total) into at most `parts` blocks, each a multiple of `align` but the last. */
const blockEnd = (total: number, parts: number, align: number, j: number): number => {
  const per = Math.ceil(total / parts / align) * align;
  return Math.min(total, per * (j + 1));
};

const threadedKernels = (pool: Pool, arena: WasmArena, id: number, slots: readonly Slot[]): ThreadedKernels => {
  const bpe = arena.dtype === 'float32' ? 4 : 8;
  const N = slots.length + 1;
  const wait = (used: number): void => {
    let failed = false;
    for (let j = 0; j < used; j++) {
      const c = slots[j]!.ctl;
      let spins = 0, t0 = 0;
      while (Atomics.load(c, STATE) !== DONE) {
        if ((++spins & 0xfffff) !== 0) continue;
        // a job takes milliseconds at most: look at the clock only now and then
        const now = performance.now();
        if (t0 === 0) t0 = now;
        else if (now - t0 > JOB_TIMEOUT_MS) throw new ThreadError(`worker thread ${j + 1} did not finish a kernel within ${JOB_TIMEOUT_MS / 1000} s`);
      }
      if (c[ERROR] !== 0) failed = true;
      c[ERROR] = 0;
      Atomics.store(c, STATE, IDLE);
    }
    if (failed) throw new ThreadError('a worker thread failed in a kernel (it trapped)');
  };
  const post = (j: number, op: number): void => {
    const c = slots[j]!.ctl;
    c[OP] = op;
    c[ARENA] = id;
    pool.jobs++;
    Atomics.store(c, STATE, POSTED);
    // wake the worker only if it went to sleep (it sets SLEEPING before it waits, and its wait
    // returns at once when the state is no longer the one it saw)
    if (Atomics.load(c, SLEEPING) !== 0) Atomics.notify(c, STATE);
  };
  /** O[p, k] += Σ_q S[p, q] B[q, k] with O's P rows split over the threads (element offsets). */
  const broadcast = (o: number, s: number, sp: number, sq: number, b: number, P: number, Q: number, n: number): void => {
    if (!pool.open || 2 * P * Q * n < pool.minFlops) return arena.accBroadcast(o, s, sp, sq, b, P, Q, n);
    const first = blockEnd(P, N, 4, 0);
    let used = 0;
    for (let j = 1, p0 = first; j < N && p0 < P; j++, used++) {
      const p1 = blockEnd(P, N, 4, j), a = slots[j - 1]!.args;
      a[0] = (o + p0 * n) * bpe; a[1] = (s + p0 * sp) * bpe; a[2] = sp * bpe; a[3] = sq * bpe;
      a[4] = b * bpe; a[5] = p1 - p0; a[6] = Q; a[7] = n;
      // thread j's packing scratch (none if the arena has no slot for it: it runs unpacked, same bits)
      a[8] = arena.scratch + j * arena.scratchBytes; a[9] = j < arena.scratchSlots ? arena.scratchBytes : 0;
      post(j - 1, OP_BROADCAST);
      p0 = p1;
    }
    try {
      arena.accBroadcast(o, s, sp, sq, b, first, Q, n);
    } finally {
      wait(used); // even when the caller's block threw: no job may stay outstanding
    }
  };
  const gemm: GemmKernels = {
    nt: (y, x, a, rows, m, n) => {
      if (!pool.open || 2 * rows * m * n < pool.minFlops) return arena.nt(y, x, a, rows, m, n);
      const first = blockEnd(rows, N, 2, 0);
      let used = 0;
      for (let j = 1, r0 = first; j < N && r0 < rows; j++, used++) {
        const r1 = blockEnd(rows, N, 2, j), g = slots[j - 1]!.args;
        g[0] = (y + r0 * m) * bpe; g[1] = (x + r0 * n) * bpe; g[2] = a * bpe;
        g[3] = r1 - r0; g[4] = m; g[5] = n;
        post(j - 1, OP_NT);
        r0 = r1;
      }
      try {
        arena.nt(y, x, a, first, m, n);
      } finally {
        wait(used);
      }
    },
    // dA[i, k] += Σ_r dY[r, i] X[r, k]: O = dA (P = m rows), S[i, r] = dY[r, i]
    tnAcc: (da, dy, x, rows, m, n) => broadcast(da, dy, 1, m, x, m, rows, n),
    // dX[r, k] += Σ_i dY[r, i] A[i, k]: O = dX (P = rows), S[r, i] = dY[r, i]
    nnAcc: (dx, dy, a, rows, m, n) => broadcast(dx, dy, m, 1, a, rows, m, n),
  };
  /**
   * y = f(x) over `count` elements, split in blocks of 4 (a whole f32 vector): each element's
   * result depends on its own x alone, whatever block it falls in.
   */
  const unary = (op: number, own: (y: number, x: number, count: number) => void, y: number, x: number, count: number): void => {
    if (!pool.open || count * UNARY_FLOPS < pool.minFlops) return own(y, x, count);
    const first = blockEnd(count, N, 4, 0);
    let used = 0;
    for (let j = 1, c0 = first; j < N && c0 < count; j++, used++) {
      const c1 = blockEnd(count, N, 4, j), g = slots[j - 1]!.args;
      g[0] = (y + c0) * bpe; g[1] = (x + c0) * bpe; g[2] = c1 - c0;
      post(j - 1, op);
      c0 = c1;
    }
    try {
      own(y, x, first);
    } finally {
      wait(used);
    }
  };
  // the arena's own element-wise kernels, but for the two split over the threads
  const elementwise: ElementwiseKernels = {
    ...arena,
    tanh: (y, x, count) => unary(OP_TANH, arena.tanh, y, x, count),
    sigmoid: (y, x, count) => unary(OP_SIGMOID, arena.sigmoid, y, x, count),
  };
  /** A fused group's rows in blocks (each row's arithmetic is its own: any split gives the same bits). */
  const fused = (scratch: number, stride: number) => (prog: number, rows: number, work: number): void => {
    if (!pool.open || work < pool.minFlops || rows < 2) return arena.fused(prog, scratch, 0, rows);
    const first = blockEnd(rows, N, 1, 0);
    let used = 0;
    for (let j = 1, r0 = first; j < N && r0 < rows; j++, used++) {
      const r1 = blockEnd(rows, N, 1, j), g = slots[j - 1]!.args;
      g[0] = prog; g[1] = scratch + j * stride; g[2] = r0; g[3] = r1;
      post(j - 1, OP_FUSED);
      r0 = r1;
    }
    try {
      arena.fused(prog, scratch, 0, first);
    } finally {
      wait(used);
    }
  };
  return { gemm, elementwise, fused };
};

/**
 * What a tanh or sigmoid element counts as, against the pool's flop threshold: the f32 kernels
 * take about 4.5 ns an element, what a product does in ~128 flops (measured, 2 cores).
 */
const UNARY_FLOPS = 128;

/**
 * Starts a pool of `threads − 1` worker threads (default: one per core of the machine) for the
 * WebAssembly kernels; the calling thread is the pool's first thread. Compile plans with
 * `{ threads: pool }` to split their matrix products over all of them:
 *
 * ```ts
 * const pool = await startThreads();           // one thread per core
 * const plan = compile(u, { batch: 32, dtype: 'float32', threads: pool });
 * plan.valueAndGrad(params, batch);             // same bits as without the pool
 * await pool.close();
 * ```
 *
 * Rejects with a {@link ThreadError} where threads cannot run: no shared WebAssembly memory (a
 * browser page that is not cross-origin isolated), no workers, or no WebAssembly SIMD.
 * @since 0.1.0
 * @category constructors
 */
export const startThreads = async (options: ThreadOptions = {}): Promise<ThreadPool> => {
  const { threads, minFlops = THREAD_MIN_FLOPS } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new ThreadError(`startThreads: threads is ${String(threads)}; expected an integer from 1 to 256`);
  }
  if (!(Number.isFinite(minFlops) && minFlops >= 0)) throw new ThreadError(`startThreads: minFlops is ${String(minFlops)}; expected a number ≥ 0`);
  const n = threads ?? Math.max(1, await machineThreads());
  if (typeof SharedArrayBuffer === 'undefined') throw new ThreadError('threads need SharedArrayBuffer (in browsers: a cross-origin-isolated page)');
  const probe = createWasmArena(1, 'float32', { shared: true });
  if (probe === undefined) throw new ThreadError('threads need the WebAssembly SIMD kernels over a shared memory, which this runtime cannot provide');
  const slots: Slot[] = [];
  try {
    for (let j = 1; j < n; j++) {
      const worker = await spawn();
      const control = new SharedArrayBuffer(CONTROL_BYTES);
      const slot: Slot = { worker, ctl: new Int32Array(control, 0, WORDS), args: new Float64Array(control, WORDS * 4, ARGS), acks: 1 };
      worker.postMessage({ type: 'init', control, spinMs: SPIN_MS });
      worker.postMessage({ type: 'arena', id: 0, module: probe.module, memory: probe.memory, dtype: 'float32' });
      worker.postMessage({ type: 'serve' });
      slots.push(slot);
    }
    // wait for every worker to have started and instantiated the module once, without blocking
    // the event loop (a browser creates workers through it)
    const t0 = performance.now();
    while (!slots.every((s) => Atomics.load(s.ctl, ACK) >= 1)) {
      if (performance.now() - t0 > 30_000) throw new ThreadError('worker threads did not start within 30 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    if (slots.some((s) => s.ctl[ERROR] !== 0)) throw new ThreadError('a worker thread could not instantiate the kernels module');
  } catch (e) {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw e;
  }
  for (const s of slots) s.worker.postMessage({ type: 'drop', id: 0 });
  return new Pool(slots, minFlops);
};

/**
 * Whether a plan whose largest matrix product is `maxFlops` should run on `pool`: only when the
 * pool has workers, is open, and would split at least that product. A plan with nothing to split
 * keeps a plain (unshared) memory, because V8's typed-array built-ins (`set`, `fill`,
 * `subarray` copies) are several times slower over a SharedArrayBuffer, which at the
 * workload's tiny and small sizes doubled the step time for no gain. @internal
 */
export const usesThreads = (pool: ThreadPool | undefined, maxFlops: number): boolean =>
  pool instanceof Pool && pool.threads > 1 && !pool.closed && maxFlops >= pool.minFlops;

/** The arena of a plan: shared when it runs threaded (see {@link usesThreads}). @internal */
export const arenaFor = (threaded: boolean, elements: number, dtype: 'float32' | 'float64', scratchBytes = 0, scratchSlots = 1): WasmArena | undefined =>
  createWasmArena(elements, dtype, { ...(threaded ? { shared: true } : {}), scratchBytes, scratchSlots });

/** Threaded kernels for a plan's arena, when the pool can give them. @internal */
export const attachThreads = (pool: ThreadPool | undefined, arena: WasmArena): ThreadedKernels | undefined =>
  pool instanceof Pool ? pool.attach(arena) : undefined;

