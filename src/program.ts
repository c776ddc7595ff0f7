/**
 * The machine under every plan: a graph laid out in two typed-array arenas (values and
 * cotangents) for one batch size and dtype, with a flat forward list and a flat reverse list.
 *
 * Compilation decides everything once: which eqns the backward pass must visit (those on a
 * path from a wanted input to the loss), which values the VJPs read (kept for the whole run),
 * which can share memory (freed after their last forward use), where each cotangent lives
 * (allocated at its first accumulation in the reverse walk, zeroed there, freed after its own
 * VJP). Running is then two `for` loops over precomputed sites: no recursion, no allocation.
 */
import { InternalError } from './errors';
import { encodeFusion, fusedRule, fusedScratchBytes, fusionOrder, planFusion, type FusedParams, type Fusion } from './fuse';
import type { Graph, VarId } from './ir';
import { ruleOf } from './primitives/table';
import { arenaFor, attachThreads, usesThreads, type ThreadPool } from './kernels/threads';
import { gemmScratchBytes, wasmKernelsAvailable, wasmKernelsUnavailableReason } from './kernels/wasm';
import type { Buf, Customs, GemmHolder, Rule, Site } from './primitives/types';
import { numel } from './shape';

/** Element type of a plan's arenas. @since 0.1.0 @category model */
export type Dtype = 'float32' | 'float64';

/** Memory policy: `reuse` frees dead values (the default); `keep` keeps every value (for checks). @since 0.1.0 @category model */
export type MemoryPolicy = 'reuse' | 'keep';

/** What to build a program for. @internal */
export interface ProgramSpec {
  readonly graph: Graph;
  readonly batch: number;
  readonly dtype: Dtype;
  /** An unbatched scalar var seeded with cotangent 1; without it and without seeds the program runs forward only. */
  readonly loss?: VarId;
  /** Graph inputs whose gradients are wanted, laid out contiguously in this order. */
  readonly wrt: readonly VarId[];
  /** Vars whose values must stay readable after the forward pass. */
  readonly keep: readonly VarId[];
  /**
   * Vars that receive an external cotangent besides the loss's (the final state, continued by
   * a later segment): the caller writes it at `gradAt[v]` before `backward`.
   */
  readonly seeds?: readonly VarId[];
  /** Vars whose total-derivative norm the backward pass records, in this order. */
  readonly probes?: readonly VarId[];
  readonly memory?: MemoryPolicy;
  /** Rules of the custom primitives the graph uses. */
  readonly customs?: Customs;
  /**
   * Hoist input projections out of the recurrence (see {@link hoistGroups}): `auto` (default)
   * where a group's outputs fit in {@link HOIST_AUTO_LIMIT} elements, `true` always, `false` never.
   */
  readonly hoist?: boolean | 'auto';
  /**
   * Kernel tier: `wasm` puts the arenas in a WebAssembly memory and runs the matrix products
   * with the SIMD kernels; `js` keeps the typed-array kernels; `auto` (default) uses wasm where
   * the runtime can compile it (Node, workers; not Chrome's main thread).
   */
  readonly kernels?: KernelTier;
  /** Worker threads to split the wasm tier's matrix products over (same results as without). */
  readonly threads?: ThreadPool;
  /**
   * Fuse runs of element-wise eqns into one pass each (see `src/fuse.ts`; the wasm tier only,
   * not with `memory: 'keep'`). Default true; the results are bit-identical either way.
   */
  readonly fuse?: boolean;
}

/** Which kernels a plan runs. @since 0.1.0 @category model */
export type KernelTier = 'auto' | 'wasm' | 'js';

/**
 * Input projections to hoist out of the recurrence: the eqns `matvec(A, x_t)` of every step,
 * with A one shared (unbatched) input and each x_t a batched graph input, laid out one after
 * another in the value arena (as the unroller's x_0 … x_{T−1} are). They do not depend on the
 * state, so all T of them are one product over T·B rows, X [T·B, n] · Aᵀ, run once before the
 * first step; and backward, dA = Σ_t dY_tᵀ X_t and dX = dY A are one product each after the
 * reverse walk. The memory layout makes the batched kernel do this unchanged: the group is a
 * "batch" of T·B examples. Each group: the eqn indices in time order.
 */
/**
 * The largest hoisted block (T·B·m outputs, and as many cotangents) `hoist: 'auto'` makes:
 * 2¹⁴ elements, 64 KiB in float32: the workload's tiny size (batch 1), where a step's products
 * are a row each and the calls cost more than the arithmetic. Measured side by side (float32,
 * wasm kernels, fused gate math, packed products): tiny paid (LSTM 0.085 → 0.074 ms, GRU
 * 0.071 → 0.064, vanilla 0.059 → 0.039); small cost 0–18% (LSTM 3.9 vs 4.4 ms; float64 GRU
 * 4.7 vs 5.5) and medium 1–22% on one thread (LSTM float64 72 vs 88 ms), with the pool within
 * ±4%. Before fused gate math and packed products the limit was 2¹⁸: hoisting then paid at
 * small (5.3–6.9 vs 7.3–8.3 ms) and cost from medium up.
 */
export const HOIST_AUTO_LIMIT = 1 << 14;

const hoistGroups = (g: Graph, valueAt: Int32Array, len: Int32Array, exclude: Uint8Array, limit: number): number[][] => {
  const isInput = new Uint8Array(g.vars.length);
  for (const i of g.inputs) isInput[i] = 1;
  const byMatrix = new Map<VarId, number[]>();
  g.eqns.forEach((e, k) => {
    if (e.op !== 'matvec') return;
    const [a, x] = e.inputs as [VarId, VarId];
    if (!isInput[a] || g.vars[a]!.batched || !isInput[x] || !g.vars[x]!.batched || exclude[e.out]) return;
    const list = byMatrix.get(a) ?? [];
    list.push(k);
    byMatrix.set(a, list);
  });
  const groups: number[][] = [];
  for (const ks of byMatrix.values()) {
    if (ks.length < 2) continue;
    const xs = ks.map((k) => g.eqns[k]!.inputs[1]!);
    const n = len[xs[0]!]!;
    const block = ks.length * len[g.eqns[ks[0]!]!.out]!;
    if (block <= limit && xs.every((x, j) => valueAt[x] === valueAt[xs[0]!]! + j * n)) groups.push(ks);
  }
  return groups;
};

/** One VJP of the reverse walk, with the cotangent slots to zero first and the probes to read. */
interface ReverseStep {
  readonly site: Site;
  readonly rule: Rule<never>;
  readonly zero: readonly number[]; // pairs: offset, length
  /** Triples (probe index, offset, length) read before the VJP (the var's cotangent is complete). */
  readonly probes: readonly number[];
  /** Triples read after it: a fused group's members, whose cotangents the group itself completes. */
  readonly probesAfter: readonly number[];
}

/** Free-list allocator over one arena, by exact slot length (a step's sizes repeat every step). */
class SlotAllocator {
  private top = 0;
  private readonly free = new Map<number, number[]>();
  alloc(len: number): number {
    const list = this.free.get(len);
    if (list !== undefined && list.length > 0) return list.pop()!;
    const at = this.top;
    this.top += len;
    return at;
  }
  release(at: number, len: number): void {
    const list = this.free.get(len);
    if (list) list.push(at);
    else this.free.set(len, [at]);
  }
  get size(): number {
    return this.top;
  }
}

const arena = (dtype: Dtype, n: number): Buf => (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));

/**
 * A compiled graph. Values and cotangents live in `values` and `grads`; offsets are fixed at
 * compile time. @internal
 */
export class Program {
  readonly values: Buf;
  readonly grads: Buf;
  /** Offset of each var's value, -1 for a var that never gets a slot. */
  readonly valueAt: Int32Array;
  /** Offset of each var's cotangent during the reverse walk; for `wrt` inputs, final. */
  readonly gradAt: Int32Array;
  /** Elements of each var in this batch (numel · batch for batched vars). */
  readonly len: Int32Array;
  /** ‖∂loss/∂v‖ (Frobenius over the batch) of each probe, after `backward`. */
  readonly probeNorms: Float64Array;
  readonly hasBackward: boolean;
  /** How many groups of input projections were hoisted out of the recurrence. */
  readonly hoisted: number;
  /** How many runs of element-wise eqns run fused (one pass each; see `src/fuse.ts`). */
  readonly fusedGroups: number;
  /** The kernel tier this program runs on. */
  readonly kernels: 'wasm' | 'js';
  /** Threads its matrix products run on (1 without a pool, or where the pool could not serve it). */
  readonly threads: number;
  /**
   * Elements of the values the run must keep until the backward pass (inputs, parameters and
   * whatever a VJP reads): the least memory any reverse-mode plan of this graph needs for its
   * values, to compare the arenas with.
   */
  readonly savedElements: number;

  private readonly orphanProbes: readonly number[];
  private readonly isWrt: Uint8Array;
  private readonly forwardSites: readonly Site[];
  private readonly forwardRules: readonly Rule<never>[];
  private readonly reverse: readonly ReverseStep[];
  private readonly lossGrad: number;
  /** (offset, length) pairs of the `wrt` cotangents zeroed before each reverse walk: all but the seeded ones. */
  private readonly wrtZero: readonly number[];
  /** g[at … at + n) = 0 for a cotangent slot: a memset in the wasm memory, else `fill`. */
  private readonly zeroGrads: (at: number, n: number) => void;

  constructor(readonly spec: ProgramSpec) {
    const { batch: B } = spec;
    const nv = spec.graph.vars.length;
    const len = new Int32Array(nv);
    spec.graph.vars.forEach((v, i) => (len[i] = numel(v.shape) * (v.batched ? B : 1)));
    this.len = len;

    // Which values need a cotangent: downstream of a wanted input and upstream of the loss.
    const wants = new Uint8Array(nv);
    for (const w of spec.wrt) wants[w] = 1;
    for (const e of spec.graph.eqns) if (e.inputs.some((i) => wants[i])) wants[e.out] = 1;
    const reaches = new Uint8Array(nv);
    if (spec.loss !== undefined) reaches[spec.loss] = 1;
    for (const v of spec.seeds ?? []) reaches[v] = 1;
    for (let k = spec.graph.eqns.length - 1; k >= 0; k--) {
      const e = spec.graph.eqns[k]!;
      if (reaches[e.out]) for (const i of e.inputs) reaches[i] = 1;
    }
    const needGrad = new Uint8Array(nv);
    for (let i = 0; i < nv; i++) needGrad[i] = wants[i]! & reaches[i]!;
    // Fusion (the wasm tier's): first the eqn order that makes element-wise runs contiguous.
    const fuse = spec.fuse !== false && spec.memory !== 'keep' && spec.kernels !== 'js' && wasmKernelsAvailable();
    const g: Graph = fuse ? { ...spec.graph, eqns: fusionOrder(spec.graph, needGrad) } : spec.graph;
    const active = g.eqns.map((e) => reaches[e.out] === 1 && wants[e.out] === 1);
    this.hasBackward = spec.loss !== undefined || (spec.seeds ?? []).length > 0;

    // Values: inputs and kept vars are persistent; so is whatever an active VJP reads.
    const persistent = new Uint8Array(nv);
    for (const i of g.inputs) persistent[i] = 1;
    for (const k of spec.keep) persistent[k] = 1;
    if (spec.loss !== undefined) persistent[spec.loss] = 1;
    for (const p of spec.probes ?? []) persistent[p] = 1;
    g.eqns.forEach((e, k) => {
      if (!active[k]) return;
      const r = ruleOf(e, spec.customs);
      if (r.saves.inputs) for (const i of e.inputs) persistent[i] = 1;
      if (r.saves.output) persistent[e.out] = 1;
    });
    let saved = 0;
    for (let i = 0; i < nv; i++) if (persistent[i]) saved += len[i]!;
    this.savedElements = saved;
    if (spec.memory === 'keep') persistent.fill(1);
    for (const v of spec.seeds ?? []) persistent[v] = 1;

    const arenaGrad = new Uint8Array(nv);
    for (const v of [...(spec.probes ?? []), ...(spec.seeds ?? [])]) arenaGrad[v] = 1;
    if (spec.loss !== undefined) arenaGrad[spec.loss] = 1;
    const fusionCtx = { graph: g, batch: B, active, needGrad, persistent, arenaGrad };
    const fusion: Fusion | undefined = fuse ? planFusion(fusionCtx) : undefined;
    const fusedOf = fusion?.groupOf ?? new Int32Array(g.eqns.length).fill(-1);
    const inRegister = fusion?.valueInRegister ?? new Uint8Array(nv);
    const gradInRegister = fusion?.gradInRegister ?? new Uint8Array(nv);
    this.fusedGroups = fusion?.groups.length ?? 0;

    // A value's slot is freed after its last reader; everything a fused group reads or writes
    // lives until the group's end (its rows run in any order, on several threads).
    const lastUse = new Int32Array(nv).fill(-1);
    g.eqns.forEach((e, k) => e.inputs.forEach((i) => (lastUse[i] = k)));
    for (const grp of fusion?.groups ?? []) {
      for (let k = grp.first; k <= grp.last; k++) {
        const e = g.eqns[k]!;
        for (const x of [e.out, ...e.inputs]) lastUse[x] = Math.max(lastUse[x]!, grp.last);
      }
    }
    const dyingAt: number[][] = g.eqns.map(() => []);
    g.eqns.forEach((e, k) => {
      if (lastUse[e.out]! < 0) dyingAt[k]!.push(e.out);
    });
    for (let v = 0; v < nv; v++) if (lastUse[v]! >= 0) dyingAt[lastUse[v]!]!.push(v);

    const valueAt = new Int32Array(nv).fill(-1);
    const values = new SlotAllocator();
    for (const i of g.inputs) valueAt[i] = values.alloc(len[i]!);
    // vars with a life of their own (probes, seeds) are not hoisted
    const exclude = new Uint8Array(nv);
    for (const v of [...(spec.probes ?? []), ...(spec.seeds ?? [])]) exclude[v] = 1;
    const hoist = spec.hoist ?? 'auto';
    const groups = hoist === false ? [] : hoistGroups(g, valueAt, len, exclude, hoist === true ? Infinity : HOIST_AUTO_LIMIT);
    const groupOf = new Int32Array(g.eqns.length).fill(-1);
    groups.forEach((ks, j) => ks.forEach((k) => (groupOf[k] = j)));
    g.eqns.forEach((e, k) => {
      const j = groupOf[k]!;
      if (j >= 0 && groups[j]![0] === k) {
        // the whole group's outputs, contiguous, written by the first member
        const ks = groups[j]!, n = len[e.out]!, block = values.alloc(ks.length * n);
        ks.forEach((m, t) => (valueAt[g.eqns[m]!.out] = block + t * n));
      } else if (j < 0 && !inRegister[e.out]) valueAt[e.out] = values.alloc(len[e.out]!);
      for (const x of dyingAt[k]!) if (!persistent[x] && valueAt[x]! >= 0) values.release(valueAt[x]!, len[x]!);
    });
    this.valueAt = valueAt;

    // Cotangents: wanted inputs first and for good, then slots live from first use to own VJP.
    const gradAt = new Int32Array(nv).fill(-1);
    const grads = new SlotAllocator();
    for (const w of spec.wrt) gradAt[w] = grads.alloc(len[w]!);
    const isSeed = new Uint8Array(nv);
    for (const v of spec.seeds ?? []) {
      if (gradAt[v]! < 0) gradAt[v] = grads.alloc(len[v]!);
      isSeed[v] = 1;
    }
    // A seeded input (a graph output that is also an input) starts from the caller's seed.
    const startZero = [...new Set(spec.wrt)].filter((w) => !isSeed[w]).flatMap((w) => [gradAt[w]!, len[w]!]);
    // A hoisted group whose every member is differentiated keeps its outputs' cotangents in one
    // block until its single VJP, after the reverse walk has reached every use.
    const fusedBackward = groups.map((ks) => {
      const xs = ks.map((k) => g.eqns[k]!.inputs[1]!), n = len[xs[0]!]!;
      const xGrads = xs.every((x) => gradAt[x]! < 0) || xs.every((x, t) => gradAt[x] === gradAt[xs[0]!]! + t * n);
      return xGrads && ks.every((k) => active[k]);
    });
    groups.forEach((ks, j) => {
      if (!fusedBackward[j]) return;
      const n = len[g.eqns[ks[0]!]!.out]!, block = grads.alloc(ks.length * n);
      ks.forEach((k, t) => (gradAt[g.eqns[k]!.out] = block + t * n));
      startZero.push(block, ks.length * n);
    });
    this.wrtZero = startZero;
    this.lossGrad = spec.loss !== undefined ? grads.alloc(1) : -1;
    if (spec.loss !== undefined) gradAt[spec.loss] = this.lossGrad;
    const probeIndex = new Map<VarId, number>();
    (spec.probes ?? []).forEach((p, i) => probeIndex.set(p, i));
    const isWrt = new Uint8Array(nv);
    for (const w of spec.wrt) isWrt[w] = 1;

    const reverse: ReverseStep[] = [];
    const gemm: GemmHolder = { gradBase: 0 }; // kernels filled in once the arenas exist
    const siteOf = (k: number, gIn: readonly number[], gOut: number): Site => {
      const e = g.eqns[k]!;
      const out = g.vars[e.out]!;
      // a hoisted group runs as one site over all its members' rows, at its first member
      const j = groupOf[k]!, rows = j >= 0 ? groups[j]!.length : 1;
      return {
        nb: (out.batched ? B : 1) * rows,
        batch: B,
        inOff: e.inputs.map((i) => valueAt[i]!),
        inStride: e.inputs.map((i) => (g.vars[i]!.batched ? numel(g.vars[i]!.shape) : 0)),
        inShape: e.inputs.map((i) => g.vars[i]!.shape),
        inSize: e.inputs.map((i) => numel(g.vars[i]!.shape)),
        outOff: valueAt[e.out]!,
        outStride: out.batched ? numel(out.shape) : 0,
        outShape: out.shape,
        outSize: numel(out.shape),
        params: e.params,
        gIn,
        gOut,
        gemm, // matvec and the element-wise rules use its kernels; the others ignore it
      };
    };
    const orphanProbes: number[] = [];
    const defOf = new Int32Array(nv).fill(-1);
    g.eqns.forEach((e, k) => (defOf[e.out] = k));
    // a fused group runs as one site, its programs' byte offsets filled in once the memory exists
    const fusedParams: FusedParams[] = (fusion?.groups ?? []).map((grp) => ({ forward: -1, backward: -1, rows: B, work: grp.work, reductions: [] }));
    const groupSite = (gi: number): Site => ({
      nb: B, batch: B, inOff: [], inStride: [], inShape: [], inSize: [], outOff: -1, outStride: 0, outShape: [], outSize: 0,
      params: fusedParams[gi], gIn: [], gOut: -1, gemm,
    });
    const releaseGrad = (v: VarId): void => {
      if (!isWrt[v] && !isSeed[v] && v !== spec.loss) grads.release(gradAt[v]!, len[v]!);
    };
    /** v's cotangent slot, allocated at its first accumulation and listed in `zero` to be cleared there. */
    const slotOf = (v: VarId, zero: number[]): number => {
      if (gradAt[v]! < 0) {
        gradAt[v] = grads.alloc(len[v]!);
        zero.push(gradAt[v]!, len[v]!);
      }
      return gradAt[v]!;
    };
    for (let k = g.eqns.length - 1; k >= 0; k--) {
      const e = g.eqns[k]!;
      const pi = probeIndex.get(e.out);
      const fg = fusedOf[k]!;
      if (fg >= 0) {
        // a fused group: one VJP for all its members, at its last
        const grp = fusion!.groups[fg]!;
        if (k !== grp.last) continue;
        const zero: number[] = [], after: number[] = [], outs: VarId[] = [];
        let anyActive = false;
        for (let m = grp.last; m >= grp.first; m--) {
          const em = g.eqns[m]!, pm = probeIndex.get(em.out);
          if (!active[m]) {
            if (pm !== undefined) orphanProbes.push(pm);
            continue;
          }
          anyActive = true;
          if (!gradInRegister[em.out]) {
            slotOf(em.out, zero);
            outs.push(em.out);
            if (pm !== undefined) after.push(pm, gradAt[em.out]!, len[em.out]!);
          }
          for (const i of em.inputs) if (needGrad[i] && (fusedOf[defOf[i]!] !== fg || !gradInRegister[i])) slotOf(i, zero);
        }
        if (!anyActive) continue;
        fusedParams[fg]!.reductions = grp.reductions.flatMap((r) => [gradAt[r.target]!, gradAt[r.source]!, numel(g.vars[r.source]!.shape), r.sign]);
        reverse.push({ site: groupSite(fg), rule: fusedRule.backward, zero, probes: [], probesAfter: after });
        for (const v of outs) releaseGrad(v);
        continue;
      }
      if (!active[k]) {
        if (pi !== undefined) orphanProbes.push(pi);
        continue;
      }
      const j = groupOf[k]!;
      if (j >= 0 && fusedBackward[j] && groups[j]![0] !== k) continue; // run by the group's first member
      const gOut = gradAt[e.out]!;
      if (gOut < 0) throw new InternalError(`eqn ${k} (${e.op}) is active but its output has no cotangent`);
      const zero: number[] = [];
      const gIn = e.inputs.map((i) => (needGrad[i] ? slotOf(i, zero) : -1));
      const unfused = j >= 0 && !fusedBackward[j];
      reverse.push({
        site: unfused ? { ...siteOf(k, gIn, gOut), nb: B } : siteOf(k, gIn, gOut),
        rule: ruleOf(e, spec.customs),
        zero,
        probes: pi !== undefined ? [pi, gOut, len[e.out]!] : [],
        probesAfter: [],
      });
      if (!(j >= 0 && fusedBackward[j])) releaseGrad(e.out);
    }
    // Probes at wanted inputs (e.g. an initial state) read the final cotangent.
    (spec.probes ?? []).forEach((p, i) => {
      if (isWrt[p]) orphanProbes.push(i);
    });
    this.gradAt = gradAt;
    this.hoisted = groups.length;
    this.reverse = reverse;
    // a hoisted group's later members were computed with its first
    // and a fused group runs as one site at its first member
    const runs = g.eqns.map((_, k) => k).filter((k) => (groupOf[k]! < 0 || groups[groupOf[k]!]![0] === k) && (fusedOf[k]! < 0 || fusion!.groups[fusedOf[k]!]!.first === k));
    this.forwardSites = runs.map((k) => (fusedOf[k]! >= 0 ? groupSite(fusedOf[k]!) : siteOf(k, [], -1)));
    this.forwardRules = runs.map((k) => (fusedOf[k]! >= 0 ? fusedRule.forward : ruleOf(g.eqns[k]!, spec.customs)));
    this.probeNorms = new Float64Array(spec.probes?.length ?? 0);
    this.orphanProbes = orphanProbes;
    this.isWrt = isWrt;
    // one memory for both arenas, so a kernel can read values and write cotangents
    const V = values.size, G = Math.max(grads.size, 1);
    // the largest matrix product (2·rows·m·n flops) decides whether threads can pay; each needs
    // packing scratch for its accumulating products (see gemmScratchBytes), one slot per thread
    const bpe = spec.dtype === 'float64' ? 8 : 4;
    let maxFlops = 0, packBytes = 0;
    runs.forEach((k, j) => {
      if (g.eqns[k]!.op !== 'matvec') return;
      const site = this.forwardSites[j]!; // matvec(A [m, n], x [n]) over nb rows
      maxFlops = Math.max(maxFlops, 2 * site.nb * site.outSize * site.inSize[1]!);
      packBytes = Math.max(packBytes, gemmScratchBytes(site.nb, site.outSize, site.inSize[1]!, bpe));
    });
    const threaded = spec.kernels !== 'js' && usesThreads(spec.threads, maxFlops);
    // after the arenas: the fused groups' programs, then one register area per thread (bytes)
    const align = (b: number): number => Math.ceil(b / 16) * 16;
    const codeBase = align((V + G) * bpe);
    const code = fusion !== undefined ? encodeFusion(fusionCtx, fusion, { valueAt, gradAt, gradBase: V }, bpe) : [];
    let codeEnd = codeBase;
    code.forEach((c, gi) => {
      fusedParams[gi]!.forward = codeEnd;
      codeEnd = align(codeEnd + c.forward.length);
      fusedParams[gi]!.backward = codeEnd;
      codeEnd = align(codeEnd + c.backward.length);
    });
    const scratchBytes = fusion !== undefined ? align(fusedScratchBytes(fusion, bpe)) : 0;
    const slots = threaded ? spec.threads!.threads : 1;
    const totalBytes = code.length > 0 ? codeEnd + slots * scratchBytes : (V + G) * bpe;
    const wasm = spec.kernels === 'js' ? undefined : arenaFor(threaded, Math.ceil(totalBytes / bpe), spec.dtype, packBytes, slots);
    if (wasm === undefined && (spec.kernels === 'wasm' || code.length > 0)) {
      throw new InternalError(`wasm kernels are unavailable here: ${wasmKernelsUnavailableReason() ?? `a WebAssembly memory of ${totalBytes} bytes could not be allocated`}`);
    }
    if (wasm !== undefined) {
      this.values = wasm.data.subarray(0, V);
      this.grads = wasm.data.subarray(V, V + G);
      const split = threaded ? attachThreads(spec.threads, wasm) : undefined;
      gemm.kernels = split?.gemm ?? wasm;
      gemm.elementwise = split?.elementwise ?? wasm;
      if (code.length > 0) {
        const bytes = new Uint8Array(wasm.memory.buffer);
        code.forEach((c, gi) => {
          bytes.set(c.forward, fusedParams[gi]!.forward);
          bytes.set(c.backward, fusedParams[gi]!.backward);
        });
        gemm.fused = split?.fused(codeEnd, scratchBytes) ?? ((prog, rows) => wasm.fused(prog, codeEnd, 0, rows));
      }
      this.threads = split !== undefined ? spec.threads!.threads : 1;
      this.zeroGrads = (at, n) => wasm.zero(V + at, n);
      gemm.values = this.values;
      gemm.grads = this.grads;
      gemm.gradBase = V;
    } else {
      this.values = arena(spec.dtype, V);
      this.grads = arena(spec.dtype, G);
      this.threads = 1;
      const grads = this.grads;
      this.zeroGrads = (at, n) => grads.fill(0, at, at + n);
    }
    this.kernels = wasm !== undefined ? 'wasm' : 'js';
  }

  /** Runs every eqn in order; graph inputs must already be written at `valueAt`. */
  forward(): void {
    const v = this.values, sites = this.forwardSites, rules = this.forwardRules;
    for (let k = 0; k < sites.length; k++) rules[k]!.forward(v, sites[k] as Site<never>);
  }

  /**
   * Reverse walk from d loss / d loss = 1 (plus the seeds' cotangents, written by the caller);
   * needs the values of the last `forward`.
   */
  backward(): void {
    if (!this.hasBackward) throw new InternalError('backward on a program without a loss or seeds');
    const v = this.values, g = this.grads, norms = this.probeNorms, zero = this.zeroGrads;
    const wz = this.wrtZero;
    for (let j = 0; j < wz.length; j += 2) zero(wz[j]!, wz[j + 1]!);
    if (this.lossGrad >= 0) g[this.lossGrad] = 1;
    norms.fill(0);
    const steps = this.reverse;
    for (let k = 0; k < steps.length; k++) {
      const s = steps[k]!;
      const z = s.zero;
      for (let j = 0; j < z.length; j += 2) zero(z[j]!, z[j + 1]!);
      const pb = s.probes, pa = s.probesAfter;
      for (let j = 0; j < pb.length; j += 3) norms[pb[j]!] = norm(g, pb[j + 1]!, pb[j + 2]!);
      s.rule.vjp(v, g, s.site as Site<never>);
      for (let j = 0; j < pa.length; j += 3) norms[pa[j]!] = norm(g, pa[j + 1]!, pa[j + 2]!);
    }
    const probes = this.spec.probes ?? [];
    for (const i of this.orphanProbes) {
      const p = probes[i]!;
      norms[i] = this.isWrt[p] ? norm(g, this.gradAt[p]!, this.len[p]!) : 0;
    }
  }

  /**
   * Forward-mode pass: the tangent of every var given the tangents of the inputs, written into
   * `tangents` (laid out like `values`). Needs `memory: 'keep'` and a preceding `forward`.
   */
  jvp(tangents: Buf): void {
    if (this.spec.memory !== 'keep') throw new InternalError('jvp needs a program compiled with memory: keep');
    const v = this.values, sites = this.forwardSites, rules = this.forwardRules;
    for (let k = 0; k < sites.length; k++) rules[k]!.jvp(v, tangents, sites[k] as Site<never>);
  }
}

const norm = (g: Buf, at: number, n: number): number => {
  let s = 0;
  for (let i = 0; i < n; i++) s += g[at + i]! * g[at + i]!;
  return Math.sqrt(s);
};
