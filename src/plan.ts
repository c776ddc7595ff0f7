/**
 * Plans: an unrolled graph compiled once for a batch size and dtype, then run many times.
 *
 * ```ts
 * const plan = compile(unroll(builtin.lstm({ input: 4, hidden: 32 }), { steps: 100, readout: { output: 2 } }),
 *                      { batch: 8, dtype: 'float32' });
 * const r = plan.valueAndGrad(params, { inputs, targets });   // allocates no typed array after the first call
 * r.loss; r.grads.weight_hh; r.flow.h;                         // flow.h[t] = ‖∂E/∂h_t‖
 * ```
 * Results live in buffers owned by the plan and are overwritten by the next call: copy what
 * you keep (`Float64Array.from(r.grads.weight_hh)`).
 */
import * as E from 'fp-ts/Either';
import { getOrThrow, InternalError, issue, type LoopgradIssue } from './errors';
import { cellPrimitives } from './cell';
import { Pool, type ThreadPool } from './kernels/threads';
import { wasmKernelsAvailable, wasmKernelsUnavailableReason } from './kernels/wasm';
import { Program, type Dtype, type KernelTier, type MemoryPolicy } from './program';
import type { Buf } from './primitives/types';
import { isDim, numel, showShape } from './shape';
import type { Unrolled } from './unroll';

/** Parameter values by name, each flat row-major (PyTorch's layout). @since 0.1.0 @category model */
export type ParamValues<PN extends string> = { readonly [K in PN]: ArrayLike<number> };

/**
 * One batch of sequences, time-major and flat: `inputs` is [T, B, I], `targets` [T, B, O];
 * `initialState` (default zeros) gives [B, n] per state field.
 * @since 0.1.0
 * @category model
 */
export interface Batch<SN extends string = string> {
  readonly inputs: ArrayLike<number>;
  readonly targets: ArrayLike<number>;
  readonly initialState?: { readonly [K in SN]?: ArrayLike<number> };
  /**
   * [T, B] of 0 (padding) and 1 (valid), for a graph unrolled with `masked: true` (and only
   * then). With `lossAt: 'last'` each example's mask must be a prefix of ones.
   */
  readonly mask?: ArrayLike<number>;
  /**
   * An extra cotangent ∂L/∂s_T on the final state, [B, n] per field (default zeros): the
   * gradient that a later segment of the sequence sends back, so a long sequence can be
   * differentiated in pieces (truncated BPTT, continuation).
   */
  readonly finalStateGrad?: { readonly [K in SN]?: ArrayLike<number> };
}

/** Loss and gradients of one training step. Buffers are the plan's, reused by the next call. @since 0.1.0 @category model */
export interface GradResult<PN extends string, SN extends string> {
  /** E = Σ_t E_t. */
  loss: number;
  /** E_t per step. */
  readonly stepLosses: Float64Array;
  /** ∂E/∂θ for every parameter, in the parameter's layout. */
  readonly grads: { readonly [K in PN]: Buf };
  /** ∂E/∂x, [T, B, I]. */
  readonly inputGrads: Buf;
  /** ∂E/∂s_0 per state field, [B, n]. */
  readonly initialStateGrads: { readonly [K in SN]: Buf };
  /** ‖∂E/∂s_t‖ (Frobenius over [B, n], the total derivative) per state field and step t. */
  readonly flow: { readonly [K in SN]: Float64Array };
}

/** Values of a forward pass. Buffers are the plan's, reused by the next call. @since 0.1.0 @category model */
export interface ForwardResult<SN extends string> {
  loss: number;
  readonly stepLosses: Float64Array;
  /** y_t for every step, [T, B, O]. */
  readonly outputs: Buf;
  /** s_T per state field, [B, n]. */
  readonly finalState: { readonly [K in SN]: Buf };
}

/** Options of {@link compile}. @since 0.1.0 @category model */
export interface CompileOptions {
  readonly batch: number;
  readonly dtype?: Dtype;
  readonly memory?: MemoryPolicy;
  /**
   * Hoist the input projections W x_t of all steps out of the recurrence into one product
   * over T·B rows, forward and backward: `auto` (default) when that block is at most 2¹⁴
   * elements (batch-1 sequences like the workload's tiny size, where it was measured to pay;
   * see `HOIST_AUTO_LIMIT`), `true` always, `false` never. The values are
   * bit-identical either way, the gradients equal up to the order of a sum.
   */
  readonly hoist?: boolean | 'auto';
  /**
   * `auto` (default): the WebAssembly SIMD kernels where the runtime can compile them (Node,
   * workers; not Chrome's main thread, which refuses to compile modules over 4 KB
   * synchronously), else the typed-array kernels; `wasm` or `js` to choose.
   */
  readonly kernels?: KernelTier;
  /**
   * A pool from `startThreads`: the plan's matrix products are split over its threads (the
   * wasm kernels only; the gradients are bit-identical to a plan without it). Default: none.
   */
  readonly threads?: ThreadPool;
  /**
   * Fuse each run of element-wise eqns (a cell's gate math: slices, sigmoid, tanh, products,
   * sums) into one pass over its rows, with the values nothing else reads kept out of the arena
   * (see docs/design.md). Default true; it applies on the wasm kernels, not with
   * `memory: 'keep'`. Values and gradients are bit-identical either way.
   */
  readonly fuse?: boolean;
}

/** A compiled unrolled graph. @since 0.1.0 @category model */
export interface Plan<PN extends string, SN extends string> {
  readonly unrolled: Unrolled<PN, SN>;
  readonly batch: number;
  readonly dtype: Dtype;
  /** How many groups of input projections `W x_t` were hoisted out of the recurrence. */
  readonly hoisted: number;
  /** How many runs of element-wise eqns run fused, one pass over their rows each (see {@link CompileOptions.fuse}). */
  readonly fused: number;
  /** The kernel tier the plan runs on. */
  readonly kernels: 'wasm' | 'js';
  /** Threads the plan's matrix products run on: the pool's, or 1 (no pool, a closed one, the `js` tier, or no product of at least the pool's `minFlops`). */
  readonly threads: number;
  /** Elements held by the value and cotangent arenas (their sizes never change after compile). */
  readonly memory: {
    readonly valueElements: number;
    readonly gradElements: number;
    readonly bytes: number;
    /** Elements of the values the backward pass needs kept (the floor for `valueElements`). */
    readonly savedElements: number;
  };
  /** Loss and all gradients; throws a `LoopgradError` on bad input or a non-finite loss. */
  readonly valueAndGrad: (params: ParamValues<PN>, batch: Batch<SN>) => GradResult<PN, SN>;
  /** {@link Plan.valueAndGrad} with problems as values. */
  readonly valueAndGradEither: (params: ParamValues<PN>, batch: Batch<SN>) => E.Either<readonly LoopgradIssue[], GradResult<PN, SN>>;
  /** Forward only: loss, per-step outputs and final state; throws a `LoopgradError` on bad input. */
  readonly forward: (params: ParamValues<PN>, batch: Batch<SN>) => ForwardResult<SN>;
  /** {@link Plan.forward} with problems as values. */
  readonly forwardEither: (params: ParamValues<PN>, batch: Batch<SN>) => E.Either<readonly LoopgradIssue[], ForwardResult<SN>>;
}

/** Non-finite entries are reported, never computed with: at most this many per field. */
const checkValues = (path: readonly string[], what: string, a: ArrayLike<number> | undefined, n: number, shape: string): LoopgradIssue[] => {
  if (a === undefined || a === null || typeof a.length !== 'number') {
    return [issue('InputError', path, `${what} is missing; expected ${n} numbers ${shape}`)];
  }
  if (a.length !== n) return [issue('InputError', path, `${what} has ${a.length} numbers; expected ${n} ${shape}`)];
  for (let i = 0; i < n; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      const shown = typeof x === 'number' ? String(x) : `${typeof x} ${JSON.stringify(x) ?? String(x)}`;
      return [issue('InputError', [...path, String(i)], `${what}[${i}] is ${shown}; expected a finite number`)];
    }
  }
  return [];
};

/** A mask where the graph wants one, of 0s and 1s, [T, B]; for many-to-one, prefixes of ones. */
const checkMask = (masked: boolean, lastOnly: boolean, mask: ArrayLike<number> | undefined, T: number, B: number): LoopgradIssue[] => {
  const path = ['batch', 'mask'];
  if (!masked) {
    return mask === undefined ? [] : [issue('InputError', path, 'a mask is given but the graph was not unrolled with masked: true')];
  }
  const bad = checkValues(path, 'mask', mask, T * B, `[T ${T}, B ${B}]`);
  if (bad.length > 0) return bad;
  for (let i = 0; i < T * B; i++) {
    const m = mask![i]!;
    const t = Math.floor(i / B), b = i % B;
    if (m !== 0 && m !== 1) return [issue('InputError', [...path, String(i)], `mask[t=${t}, b=${b}] is ${m}; expected 0 (padding) or 1 (valid)`)];
    if (lastOnly && t > 0 && m === 1 && mask![i - B] === 0) {
      return [issue('InputError', [...path, String(i)], `mask[t=${t}, b=${b}] is 1 after a 0: with lossAt 'last' each sequence must be valid steps then padding`)];
    }
  }
  return [];
};

/**
 * Compiles an unrolled graph for a batch size and dtype (default float64): buffers are
 * allocated here, once.
 * @since 0.1.0
 * @category constructors
 */
export const compileEither = <PN extends string, SN extends string>(
  u: Unrolled<PN, SN>,
  options: CompileOptions,
): E.Either<readonly LoopgradIssue[], Plan<PN, SN>> => {
  const B = options.batch;
  const dtype = options.dtype ?? 'float64';
  if (!isDim(B)) return E.left([issue('OptionError', ['compile', 'batch'], `batch is ${String(B)}; expected a positive integer`)]);
  if (dtype !== 'float32' && dtype !== 'float64') {
    return E.left([issue('OptionError', ['compile', 'dtype'], `dtype is ${String(dtype)}; expected 'float32' or 'float64'`)]);
  }
  const tier = options.kernels ?? 'auto';
  if (tier !== 'auto' && tier !== 'wasm' && tier !== 'js') {
    return E.left([issue('OptionError', ['compile', 'kernels'], `kernels is ${String(tier)}; expected 'auto', 'wasm' or 'js'`)]);
  }
  if (tier === 'wasm' && !wasmKernelsAvailable()) {
    return E.left([issue('OptionError', ['compile', 'kernels'], `the WebAssembly SIMD kernels are unavailable here (${wasmKernelsUnavailableReason() ?? 'unknown reason'}); use kernels: 'auto' or 'js'`)]);
  }
  if (options.threads !== undefined && !(options.threads instanceof Pool)) {
    return E.left([issue('OptionError', ['compile', 'threads'], 'threads is not a pool from startThreads()')]);
  }
  if (options.threads !== undefined && tier === 'js') {
    return E.left([issue('OptionError', ['compile', 'threads'], "threads split the WebAssembly kernels' products; kernels: 'js' has none (use 'auto' or 'wasm')")]);
  }
  const T = u.steps, I = u.inputSize, O = u.outputSize;
  const fields = u.initialState;
  const prog = new Program({
    graph: u.graph,
    batch: B,
    dtype,
    loss: u.total,
    wrt: [...u.params.map((p) => p.var), ...u.inputs, ...fields.map((s) => s.var)],
    keep: [...u.stepLosses, ...u.outputs, ...u.states[T - 1]!],
    seeds: u.states[T - 1]!,
    probes: u.states.flat(),
    memory: options.memory ?? 'reuse',
    customs: cellPrimitives(u.cell),
    ...(options.hoist !== undefined ? { hoist: options.hoist } : {}),
    ...(options.kernels !== undefined ? { kernels: options.kernels } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.fuse !== undefined ? { fuse: options.fuse } : {}),
  });
  const { values: v, grads: g, valueAt, gradAt } = prog;
  const contiguous = (vars: readonly number[], at: Int32Array, size: number): number => {
    vars.forEach((x, k) => {
      if (at[x] !== at[vars[0]!]! + k * size) throw new InternalError('per-step inputs are not laid out contiguously');
    });
    return at[vars[0]!]!;
  };
  const xAt = contiguous(u.inputs, valueAt, B * I);
  const maskAt = u.masks.length > 0 ? contiguous(u.masks, valueAt, B) : -1;
  const targetAt = contiguous(u.targets, valueAt, B * O);
  const xGradAt = contiguous(u.inputs, gradAt, B * I);
  const view = (a: Buf, at: number, n: number): Buf => a.subarray(at, at + n);

  const grads = Object.fromEntries(u.params.map((p) => [p.name, view(g, gradAt[p.var]!, numel(p.shape))]));
  const initialStateGrads = Object.fromEntries(fields.map((s) => [s.name, view(g, gradAt[s.var]!, B * numel(s.shape))]));
  const flow = Object.fromEntries(fields.map((s) => [s.name, new Float64Array(T)]));
  const stepLosses = new Float64Array(T);
  const result = {
    loss: 0, stepLosses, grads, inputGrads: view(g, xGradAt, T * B * I), initialStateGrads, flow,
  } as GradResult<PN, SN>;
  const outputs = dtype === 'float64' ? new Float64Array(T * B * O) : new Float32Array(T * B * O);
  const finalState = Object.fromEntries(fields.map((s, k) => [s.name, view(v, valueAt[u.states[T - 1]![k]!]!, B * numel(s.shape))]));
  const fwd = { loss: 0, stepLosses, outputs, finalState } as ForwardResult<SN>;

  /** A per-state-field record of [B, n] arrays: unknown fields and wrong sizes go to `bad`. */
  const stateRecord = (what: string, given: unknown, bad: LoopgradIssue[]): Record<string, ArrayLike<number> | undefined> => {
    const rec = (given ?? {}) as Record<string, ArrayLike<number> | undefined>;
    for (const k of Object.keys(rec)) {
      if (!fields.some((s) => s.name === k)) {
        bad.push(issue('InputError', ['batch', what, k], `unknown state field '${k}'; the cell's are: ${fields.map((s) => s.name).join(', ')}`));
      }
    }
    for (const s of fields) {
      const a = rec[s.name];
      if (a !== undefined) bad.push(...checkValues(['batch', what, s.name], `${what}.${s.name}`, a, B * numel(s.shape), `[B ${B}, ${s.shape[0]}]`));
    }
    return rec;
  };
  const load = (params: ParamValues<PN>, batch: Batch<SN>): LoopgradIssue[] => {
    const bad: LoopgradIssue[] = [];
    for (const p of u.params) {
      const a = (params as Record<string, ArrayLike<number>>)?.[p.name];
      bad.push(...checkValues(['params', p.name], `param ${p.name}`, a, numel(p.shape), showShape(p.shape)));
    }
    bad.push(...checkValues(['batch', 'inputs'], 'inputs', batch?.inputs, T * B * I, `[T ${T}, B ${B}, I ${I}]`));
    bad.push(...checkValues(['batch', 'targets'], 'targets', batch?.targets, T * B * O, `[T ${T}, B ${B}, O ${O}]`));
    bad.push(...checkMask(u.masks.length > 0, u.options.lossAt === 'last', batch?.mask, T, B));
    const init = stateRecord('initialState', batch?.initialState, bad);
    const seeds = stateRecord('finalStateGrad', batch?.finalStateGrad, bad);
    if (bad.length > 0) return bad;
    fields.forEach((s, k) => {
      const at = gradAt[u.states[T - 1]![k]!]!;
      const a = seeds[s.name];
      if (a !== undefined) g.set(a, at);
      else g.fill(0, at, at + B * numel(s.shape));
    });
    for (const p of u.params) v.set((params as Record<string, ArrayLike<number>>)[p.name]!, valueAt[p.var]!);
    v.set(batch.inputs, xAt);
    v.set(batch.targets, targetAt);
    if (maskAt >= 0) v.set(batch.mask!, maskAt);
    for (const s of fields) {
      const a = init[s.name];
      if (a !== undefined) v.set(a, valueAt[s.var]!);
      else v.fill(0, valueAt[s.var]!, valueAt[s.var]! + B * numel(s.shape));
    }
    return bad;
  };
  const runForward = (): LoopgradIssue[] => {
    prog.forward();
    for (let t = 0; t < T; t++) stepLosses[t] = v[valueAt[u.stepLosses[t]!]!]!;
    const loss = v[valueAt[u.total]!]!;
    if (Number.isFinite(loss)) return [];
    const t = stepLosses.findIndex((x) => !Number.isFinite(x));
    return [issue('NumericError', ['loss', `step ${t}`], `the loss is ${loss}: E_${t} is the first non-finite step loss (exploding activations? try smaller weights, a lower learning rate or gradient clipping)`)];
  };

  const valueAndGradEither = (params: ParamValues<PN>, batch: Batch<SN>): E.Either<readonly LoopgradIssue[], GradResult<PN, SN>> => {
    const bad = load(params, batch);
    if (bad.length > 0) return E.left(bad);
    const numeric = runForward();
    if (numeric.length > 0) return E.left(numeric);
    result.loss = v[valueAt[u.total]!]!;
    prog.backward();
    const nf = fields.length, norms = prog.probeNorms;
    fields.forEach((s, f) => {
      const out = (flow as Record<string, Float64Array>)[s.name]!;
      for (let t = 0; t < T; t++) out[t] = norms[t * nf + f]!;
    });
    return E.right(result);
  };
  const forwardEither = (params: ParamValues<PN>, batch: Batch<SN>): E.Either<readonly LoopgradIssue[], ForwardResult<SN>> => {
    const bad = load(params, batch);
    if (bad.length === 0) bad.push(...runForward());
    if (bad.length > 0) return E.left(bad);
    fwd.loss = v[valueAt[u.total]!]!;
    for (let t = 0; t < T; t++) {
      const from = valueAt[u.outputs[t]!]!;
      for (let i = 0; i < B * O; i++) outputs[t * B * O + i] = v[from + i]!;
    }
    return E.right(fwd);
  };
  return E.right({
    unrolled: u,
    batch: B,
    hoisted: prog.hoisted,
    fused: prog.fusedGroups,
    kernels: prog.kernels,
    threads: prog.threads,
    dtype,
    memory: { valueElements: v.length, gradElements: g.length, bytes: (v.length + g.length) * v.BYTES_PER_ELEMENT, savedElements: prog.savedElements },
    valueAndGradEither,
    valueAndGrad: (params, batch) => getOrThrow(valueAndGradEither(params, batch)),
    forwardEither,
    forward: (params, batch) => getOrThrow(forwardEither(params, batch)),
  });
};

/**
 * {@link compileEither}, throwing a `LoopgradError` on bad options.
 * @since 0.1.0
 * @category constructors
 */
export const compile = <PN extends string, SN extends string>(u: Unrolled<PN, SN>, options: CompileOptions): Plan<PN, SN> =>
  getOrThrow(compileEither(u, options));
