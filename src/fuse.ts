/**
 * Fused element-wise gate math: the plan-level rewrite that runs a run of element-wise eqns
 * (an LSTM's gate slices, sigmoids, tanh, products and sums; a GRU's; any user cell's) as ONE
 * pass over its rows, instead of one pass per eqn.
 *
 * A **group** is a contiguous run of fusable eqns (add, sub, mul, the affine family, tanh,
 * sigmoid, relu, slice) over batched values, each of whose row sizes is a multiple of the
 * group's **width** n (an LSTM's H: the gate block [4H] is four pieces of H). The WebAssembly
 * kernel `fused` (wasm/kernels.ts) runs the group's program row by row, chunk by chunk of a row,
 * every op on a chunk before the next chunk, so what one op writes the next reads from L1.
 * A member's value goes to the arena only if something needs it there (a VJP reads it, an eqn
 * outside the group or the caller does); the rest live in **registers**, chunk-sized slots of a
 * scratch area that never reach the arena: an LSTM's gate pre-activations [B, 4H] and f⊙c,
 * i⊙g are never written. A slice is a view: it costs nothing unless its value must be kept. The
 * backward program does the same for cotangents: a member's cotangent that only the group
 * accumulates lives in registers, zeroed where the unfused walk would zero its slot.
 *
 * **Bit-identical to the unfused plan.** Every op does, per element, the IEEE operations of the
 * kernel or rule it replaces, and every cotangent element receives the same contributions in
 * the same order: the group's members are contiguous in the eqn order, so nothing outside the
 * group interleaves, and per element the fused walk visits the members in the unfused order.
 * Making runs contiguous ({@link fusionOrder}) moves an eqn past another only when they share
 * no input that takes a gradient (so no slot's sum changes order). Inside the group no member
 * accumulates into an unbatched (shared) operand, so rows are independent, and a group's rows
 * can be split over threads with the same bits; a bias's gradient (a sum over the rows) is a
 * {@link Reduction} run after the group's backward pass with the unfused VJP's kernel, in the
 * same order (the group's members are its only contributors between its neighbours).
 */
import { InternalError } from './errors';
import type { Eqn, Graph, VarId } from './ir';
import type { Buf, Rule, Site } from './primitives/types';
import { numel } from './shape';

/** Elements of a row a fused op works on at a time (a register holds one chunk). @internal */
export const FUSED_CHUNK = 256;
/** More registers than this and the group is left unfused (no built-in cell comes near). @internal */
export const FUSED_MAX_REGISTERS = 64;
/** Narrower groups (a row of fewer elements) are left unfused: per-chunk overhead. @internal */
export const FUSED_MIN_WIDTH = 4;
/** Bytes of a program's header and of each op record (see wasm/kernels.ts). @internal */
export const FUSED_HEADER_BYTES = 16;
const OP_BYTES = 64;

const fusable: ReadonlySet<string> = new Set(['add', 'sub', 'mul', 'neg', 'scale', 'shift', 'copy', 'tanh', 'sigmoid', 'relu', 'slice']);

// op codes of wasm/kernels.ts
const F_ADD = 0, F_SUB = 1, F_MUL = 2, F_TANH = 3, F_SIGMOID = 4, F_AFFINE = 5, F_RELU = 6, F_COPY = 7;
const B_ZERO = 8, B_ADD = 9, B_SUB = 10, B_MUL = 11, B_TANH = 12, B_SIGMOID = 13, B_AFFINE = 14, B_RELU = 15;

/**
 * Whether an eqn can join a group: a fusable op whose output is batched and whose inputs are
 * batched, or shared (unbatched) and of the output's size. A shared operand's cotangent is a sum
 * over rows, which would tie the rows together inside the group; so it must take no gradient (a
 * constant), or be a bias: an operand of add or sub, whose cotangent (the output's, summed over
 * the rows) the group leaves to a {@link Reduction} after its rows are done.
 */
const eligible = (g: Graph, e: Eqn, needGrad: Uint8Array): boolean => {
  if (!fusable.has(e.op) || !g.vars[e.out]!.batched) return false;
  const size = numel(g.vars[e.out]!.shape);
  return e.inputs.every((i) => g.vars[i]!.batched || (e.op !== 'slice' && numel(g.vars[i]!.shape) === size && (needGrad[i] === 0 || e.op === 'add' || e.op === 'sub')));
};

/** A bias member's gradient, summed over the rows after the group's backward pass: target ±= Σ_rows source. @internal */
export interface Reduction {
  /** The shared operand (its cotangent is the target). */
  readonly target: VarId;
  /** The member's output (its cotangent, in the arena, is summed). */
  readonly source: VarId;
  readonly sign: 1 | -1;
}

/**
 * The eqns in an order where fusable runs are as long as the dependencies allow: a fusable eqn
 * is carried past later non-fusable ones (a GRU's input-gate slices past the hidden matvec) when
 * they do not read its output and share no input that takes a gradient with it, so every
 * cotangent slot still receives its contributions in the same order. Still topological.
 * @internal
 */
export const fusionOrder = (g: Graph, needGrad: Uint8Array): readonly Eqn[] => {
  const order: Eqn[] = [];
  let pending: Eqn[] = [];
  const passes = (p: Eqn, e: Eqn): boolean => !e.inputs.includes(p.out) && !p.inputs.some((i) => needGrad[i] === 1 && e.inputs.includes(i));
  for (const e of g.eqns) {
    if (eligible(g, e, needGrad)) pending.push(e);
    else if (pending.length > 0 && pending.every((p) => passes(p, e))) order.push(e);
    else {
      order.push(...pending, e);
      pending = [];
    }
  }
  order.push(...pending);
  return order;
};

/** What the planner needs to know of the program around the groups. @internal */
export interface FusionContext {
  readonly graph: Graph;
  readonly batch: number;
  /** Per eqn: on the backward path. */
  readonly active: readonly boolean[];
  /** Per var: takes a cotangent (downstream of a wanted input, upstream of the loss). */
  readonly needGrad: Uint8Array;
  /** Per var: its value is read after its eqn by a VJP, the caller or a later segment. */
  readonly persistent: Uint8Array;
  /** Per var: its cotangent must be in the arena (probes, seeds, the loss). */
  readonly arenaGrad: Uint8Array;
}

/** One fused group. @internal */
export interface FusedGroup {
  readonly first: number;
  readonly last: number;
  readonly width: number;
  /** Registers of the forward and backward programs (chunk-sized slots each). */
  readonly registers: number;
  /** The bias members' row sums, in the order the unfused reverse walk would add them. */
  readonly reductions: readonly Reduction[];
  /** Work of the forward and the backward pass, in the thread pool's flop units (decides whether to split the rows). */
  readonly work: { readonly forward: number; readonly backward: number };
}

/** The fusion plan of a graph. @internal */
export interface Fusion {
  readonly groups: readonly FusedGroup[];
  /** Per eqn: its group, or -1. */
  readonly groupOf: Int32Array;
  /** Per var: a member's value that lives in registers only (no arena slot). */
  readonly valueInRegister: Uint8Array;
  /** Per var: a member's cotangent that lives in registers only (no arena slot). */
  readonly gradInRegister: Uint8Array;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Where an operand's chunk is: an arena location (element offset, row stride) or a register. */
type Loc = { readonly reg: number } | { readonly reg: -1; readonly at: number; readonly stride: number };
interface Op {
  readonly code: number;
  readonly y: Loc;
  readonly a?: Loc;
  readonly b?: Loc;
  readonly alpha?: number;
  readonly beta?: number;
}

/** Offsets the emitter needs: element offsets into the kernels' memory. */
interface Layout {
  readonly valueAt: ArrayLike<number>;
  readonly gradAt: ArrayLike<number>;
  readonly gradBase: number;
}

/** Forward op codes of the non-affine members (slices are views or copies). */
const forwardCode: ReadonlyMap<string, number> = new Map([['add', F_ADD], ['sub', F_SUB], ['mul', F_MUL], ['tanh', F_TANH], ['sigmoid', F_SIGMOID], ['relu', F_RELU]]);

const affineOf = (e: Eqn): { alpha: number; beta: number } | undefined => {
  switch (e.op) {
    case 'neg': return { alpha: -1, beta: 0 };
    case 'scale': return { alpha: e.params.factor, beta: 0 };
    case 'shift': return { alpha: 1, beta: e.params.offset };
    case 'copy': return { alpha: 1, beta: 0 };
    default: return undefined;
  }
};

/** A register file: the lowest free slot first; `size` is the high-water mark. */
class Registers {
  private readonly free: number[] = [];
  size = 0;
  take(): number {
    if (this.free.length > 0) {
      this.free.sort((a, b) => b - a);
      return this.free.pop()!;
    }
    return this.size++;
  }
  give(r: number): void {
    this.free.push(r);
  }
  get live(): number {
    return this.size - this.free.length;
  }
}

/**
 * The forward and backward programs of a group as op lists, given the arena layout (the planner
 * runs this with a dummy layout to count registers). Registers: forward values, then backward
 * cotangents, counted separately (the two programs never run at once).
 */
const emit = (
  ctx: FusionContext, fusion: Omit<Fusion, 'groups'>, gi: number, first: number, last: number, n: number, lay: Layout,
): { forward: Op[]; backward: Op[]; registers: number } => {
  const g = ctx.graph;
  const size = (v: VarId): number => numel(g.vars[v]!.shape);
  const stride = (v: VarId): number => (g.vars[v]!.batched ? size(v) : 0);
  const defined = new Set<VarId>();
  for (let k = first; k <= last; k++) defined.add(g.eqns[k]!.out);
  const isMember = (v: VarId): boolean => defined.has(v);
  const piece = (col: number): number => {
    if (col % n !== 0) throw new InternalError(`fused group ${gi}: column ${col} is not on a piece of ${n}`);
    return col / n;
  };

  // --- forward -------------------------------------------------------------------------------
  const forward: Op[] = [];
  const regs = new Registers();
  const pieces = new Map<VarId, Loc[]>();
  // registers a value owns (slices alias their input's), freed after the last member reading them
  const root = new Map<VarId, VarId>();
  const owner = (v: VarId): VarId => root.get(v) ?? v;
  const lastRead = new Map<VarId, number>(); // by owner: the last member reading it (or its definition)
  for (let k = first; k <= last; k++) {
    const e = g.eqns[k]!;
    if (e.op === 'slice' && fusion.valueInRegister[e.out] && isMember(e.inputs[0]!) && fusion.valueInRegister[e.inputs[0]!]) {
      root.set(e.out, owner(e.inputs[0]!));
    }
    lastRead.set(owner(e.out), k);
    for (const u of e.inputs) if (isMember(u)) lastRead.set(owner(u), k);
  }
  const owned = new Map<VarId, number[]>();
  const valueLoc = (u: VarId, col: number): Loc =>
    pieces.get(u)?.[piece(col)] ?? { reg: -1, at: lay.valueAt[u]! + col, stride: stride(u) };
  const arenaValue = (u: VarId, col: number): Loc => {
    if (fusion.valueInRegister[u]) throw new InternalError(`fused group ${gi}: a VJP reads var ${u}, which has no arena slot`);
    return { reg: -1, at: lay.valueAt[u]! + col, stride: stride(u) };
  };
  let peak = 0;
  for (let k = first; k <= last; k++) {
    const e = g.eqns[k]!, v = e.out, np = size(v) / n, inReg = fusion.valueInRegister[v] === 1;
    const locs: Loc[] = [];
    for (let p = 0; p < np; p++) {
      if (e.op === 'slice') {
        const src = valueLoc(e.inputs[0]!, e.params.start + p * n);
        if (inReg) locs.push(src);
        else {
          const dst = arenaValue(v, p * n);
          forward.push({ code: F_COPY, y: dst, a: src });
          locs.push(dst);
        }
        continue;
      }
      const dst: Loc = inReg ? { reg: regs.take() } : arenaValue(v, p * n);
      if (inReg) owned.set(v, [...(owned.get(v) ?? []), (dst as { reg: number }).reg]);
      const a = valueLoc(e.inputs[0]!, p * n), b = e.inputs.length > 1 ? valueLoc(e.inputs[1]!, p * n) : undefined;
      const aff = affineOf(e);
      if (aff !== undefined) forward.push({ code: F_AFFINE, y: dst, a, alpha: aff.alpha, beta: aff.beta });
      else {
        const code = forwardCode.get(e.op);
        if (code === undefined) throw new InternalError(`fused group ${gi}: no fused op for ${e.op}`);
        forward.push(b !== undefined ? { code, y: dst, a, b } : { code, y: dst, a });
      }
      locs.push(dst);
    }
    pieces.set(v, locs);
    peak = Math.max(peak, regs.live);
    for (const [r, end] of lastRead) {
      if (end !== k) continue;
      for (const reg of owned.get(r) ?? []) regs.give(reg);
      owned.delete(r);
    }
  }
  if (regs.live !== 0) throw new InternalError(`fused group ${gi}: ${regs.live} forward registers still live at the end`);

  // --- backward ------------------------------------------------------------------------------
  const backward: Op[] = [];
  const cregs = new Registers();
  const cot = new Map<VarId, Loc[]>();
  let cpeak = 0;
  /** Where u's cotangent chunk at column col accumulates (a register is zeroed at first use). */
  const gradLoc = (u: VarId, col: number): Loc => {
    if (isMember(u) && fusion.gradInRegister[u]) {
      const p = piece(col), locs = cot.get(u) ?? [];
      cot.set(u, locs);
      if (locs[p] === undefined) {
        locs[p] = { reg: cregs.take() };
        backward.push({ code: B_ZERO, y: locs[p]! });
        cpeak = Math.max(cpeak, cregs.live);
      }
      return locs[p]!;
    }
    const at = lay.gradAt[u]!;
    if (at < 0) throw new InternalError(`fused group ${gi}: var ${u} takes a cotangent but has no slot`);
    return { reg: -1, at: lay.gradBase + at + col, stride: stride(u) };
  };
  for (let k = last; k >= first; k--) {
    if (!ctx.active[k]) continue;
    const e = g.eqns[k]!, v = e.out, np = size(v) / n;
    const wants = e.inputs.map((i) => ctx.needGrad[i] === 1);
    for (let p = 0; p < np; p++) {
      let dy: Loc;
      if (fusion.gradInRegister[v]) {
        const l = cot.get(v)?.[p];
        if (l === undefined) throw new InternalError(`fused group ${gi}: var ${v} is on the backward path but nothing in the group accumulates into it`);
        dy = l;
      } else dy = gradLoc(v, p * n);
      const col = p * n;
      switch (e.op) {
        case 'slice':
          if (wants[0]) backward.push({ code: B_ADD, y: gradLoc(e.inputs[0]!, e.params.start + col), a: dy });
          break;
        case 'add':
        case 'sub':
          // a shared operand's cotangent is left to the group's reductions
          if (wants[0] && g.vars[e.inputs[0]!]!.batched) backward.push({ code: B_ADD, y: gradLoc(e.inputs[0]!, col), a: dy });
          if (wants[1] && g.vars[e.inputs[1]!]!.batched) backward.push({ code: e.op === 'add' ? B_ADD : B_SUB, y: gradLoc(e.inputs[1]!, col), a: dy });
          break;
        case 'mul':
          if (wants[0]) backward.push({ code: B_MUL, y: gradLoc(e.inputs[0]!, col), a: dy, b: arenaValue(e.inputs[1]!, col) });
          if (wants[1]) backward.push({ code: B_MUL, y: gradLoc(e.inputs[1]!, col), a: dy, b: arenaValue(e.inputs[0]!, col) });
          break;
        case 'tanh':
        case 'sigmoid':
        case 'relu': {
          const code = e.op === 'tanh' ? B_TANH : e.op === 'sigmoid' ? B_SIGMOID : B_RELU;
          if (wants[0]) backward.push({ code, y: gradLoc(e.inputs[0]!, col), a: dy, b: arenaValue(v, col) });
          break;
        }
        default: {
          const aff = affineOf(e);
          if (aff === undefined) throw new InternalError(`fused group ${gi}: no fused VJP for ${e.op}`);
          if (wants[0]) backward.push({ code: B_AFFINE, y: gradLoc(e.inputs[0]!, col), a: dy, alpha: aff.alpha });
        }
      }
    }
    for (const l of cot.get(v) ?? []) if (l !== undefined && l.reg >= 0) cregs.give(l.reg);
    cot.delete(v);
  }
  if (cregs.live !== 0) throw new InternalError(`fused group ${gi}: ${cregs.live} cotangent registers still live at the end`);
  return { forward, backward, registers: Math.max(peak, cpeak, regs.size, cregs.size) };
};

/**
 * Finds the groups of a graph whose eqns are already in {@link fusionOrder}: maximal contiguous
 * runs of eligible eqns with at least two members (one not a slice), a width of at least
 * {@link FUSED_MIN_WIDTH}, and no more than {@link FUSED_MAX_REGISTERS} registers.
 * @internal
 */
export const planFusion = (ctx: FusionContext): Fusion => {
  const g = ctx.graph, nv = g.vars.length, ne = g.eqns.length;
  const groupOf = new Int32Array(ne).fill(-1);
  const valueInRegister = new Uint8Array(nv), gradInRegister = new Uint8Array(nv);
  const fusion = { groupOf, valueInRegister, gradInRegister };
  const groups: FusedGroup[] = [];
  const isOutput = new Uint8Array(nv);
  for (const o of g.outputs) isOutput[o] = 1;
  // a member is read outside its group iff its last reader comes after the group (members are
  // contiguous, and nothing before a member reads it)
  const lastRead = new Int32Array(nv).fill(-1);
  g.eqns.forEach((e, j) => {
    for (const i of e.inputs) lastRead[i] = j;
  });
  // offsets do not matter for counting registers: one zero layout for every group
  const dummy: Layout = { valueAt: new Int32Array(nv), gradAt: new Int32Array(nv), gradBase: 0 };
  let k = 0;
  while (k < ne) {
    if (!eligible(g, g.eqns[k]!, ctx.needGrad)) {
      k++;
      continue;
    }
    let end = k;
    while (end + 1 < ne && eligible(g, g.eqns[end + 1]!, ctx.needGrad)) end++;
    const first = k, last = end;
    k = end + 1;
    const eqns = g.eqns.slice(first, last + 1);
    if (eqns.length < 2 || eqns.every((e) => e.op === 'slice')) continue;
    const def = new Set(eqns.map((e) => e.out));
    let n = 0;
    for (const e of eqns) {
      n = gcd(n, numel(g.vars[e.out]!.shape));
      if (e.op === 'slice' && def.has(e.inputs[0]!)) n = gcd(n, e.params.start);
    }
    if (n < FUSED_MIN_WIDTH) continue;
    const gi = groups.length;
    for (let j = first; j <= last; j++) {
      const v = g.eqns[j]!.out;
      groupOf[j] = gi;
      const external = lastRead[v]! > last || isOutput[v] === 1;
      valueInRegister[v] = external || ctx.persistent[v] ? 0 : 1;
      gradInRegister[v] = external || ctx.arenaGrad[v] ? 0 : 1;
    }
    // a bias member's output cotangent stays in the arena, for its reduction after the group
    const reductions: Reduction[] = [];
    for (let j = last; j >= first; j--) {
      const e = g.eqns[j]!;
      if (!ctx.active[j] || (e.op !== 'add' && e.op !== 'sub')) continue;
      e.inputs.forEach((i, k) => {
        if (g.vars[i]!.batched || ctx.needGrad[i] !== 1) return;
        gradInRegister[e.out] = 0;
        reductions.push({ target: i, source: e.out, sign: k === 1 && e.op === 'sub' ? -1 : 1 });
      });
    }
    const { forward, backward, registers } = emit(ctx, fusion, gi, first, last, n, dummy);
    if (registers > FUSED_MAX_REGISTERS) {
      for (let j = first; j <= last; j++) {
        groupOf[j] = -1;
        valueInRegister[g.eqns[j]!.out] = 0;
        gradInRegister[g.eqns[j]!.out] = 0;
      }
      continue;
    }
    const work = { forward: ctx.batch * n * opWork(forward), backward: ctx.batch * n * opWork(backward) };
    groups.push({ first, last, width: n, registers, work, reductions });
  }
  return { groups, ...fusion };
};

/**
 * What an op costs per element against the pool's flop threshold: tanh and sigmoid count 128 (as
 * outside groups: ~4.5 ns an element in float32, what a product does in ~128 flops), everything
 * else 2 (a few loads and stores). Measured on the workload's LSTM medium (float32, 2 threads):
 * the forward pass (5 transcendental pieces a row) split 6.5 → 4.7 ms; the backward pass, all
 * loads, adds and stores, ran slower split (1.7 → 2.0 ms, and the bias VJPs after it read rows
 * the other core had just written), so a group's backward splits only when far larger.
 */
const opWork = (ops: readonly Op[]): number => ops.reduce((s, o) => s + (o.code === F_TANH || o.code === F_SIGMOID ? 128 : 2), 0);

/** One group's programs, as bytes for the kernels' memory. @internal */
export interface FusedCode {
  readonly forward: Uint8Array;
  readonly backward: Uint8Array;
}

/**
 * The byte image of one program: header (op count, width, chunk), then 64-byte op records with
 * arena operands as BYTE offsets into the kernels' memory and registers as byte offsets into a
 * thread's scratch area (see wasm/kernels.ts).
 */
const encode = (ops: readonly Op[], n: number, bpe: number): Uint8Array => {
  const bytes = new ArrayBuffer(FUSED_HEADER_BYTES + ops.length * OP_BYTES);
  const i32 = new Int32Array(bytes), u32 = new Uint32Array(bytes), f64 = new Float64Array(bytes);
  const chunk = Math.min(n, FUSED_CHUNK);
  i32[0] = ops.length;
  i32[1] = n;
  i32[2] = chunk;
  const put = (w: number, l: Loc | undefined): void => {
    if (l === undefined) return;
    if (l.reg >= 0) {
      i32[w] = 1;
      u32[w + 1] = l.reg * chunk * bpe;
    } else {
      const a = l as { at: number; stride: number };
      i32[w] = 0;
      u32[w + 1] = a.at * bpe;
      u32[w + 2] = a.stride * bpe;
    }
  };
  ops.forEach((o, j) => {
    const w = (FUSED_HEADER_BYTES + j * OP_BYTES) / 4;
    i32[w] = o.code;
    put(w + 1, o.y);
    put(w + 4, o.a);
    put(w + 7, o.b);
    f64[w / 2 + 6] = o.alpha ?? 0;
    f64[w / 2 + 7] = o.beta ?? 0;
  });
  return new Uint8Array(bytes);
};

/** The programs of every group, once the arenas are laid out. @internal */
export const encodeFusion = (ctx: FusionContext, fusion: Fusion, lay: Layout, bpe: number): FusedCode[] =>
  fusion.groups.map((grp, gi) => {
    const { forward, backward } = emit(ctx, fusion, gi, grp.first, grp.last, grp.width, lay);
    return { forward: encode(forward, grp.width, bpe), backward: encode(backward, grp.width, bpe) };
  });

/** Scratch bytes one thread needs for the largest group's registers. @internal */
export const fusedScratchBytes = (fusion: Fusion, bpe: number): number =>
  fusion.groups.reduce((m, grp) => Math.max(m, grp.registers * Math.min(grp.width, FUSED_CHUNK) * bpe), 0);

/** Where a fused group's programs are (BYTE offsets into the kernels' memory) and its rows. @internal */
export interface FusedParams {
  forward: number;
  backward: number;
  readonly rows: number;
  readonly work: { readonly forward: number; readonly backward: number };
  /** The group's {@link Reduction}s as (target, source, length, sign) quadruples of cotangent offsets. */
  reductions: readonly number[];
}

const noShape = (): never => {
  throw new InternalError('a fused group has no shape rule (it is made by the planner, not traced)');
};

/**
 * The rules a fused group's site runs: its forward or backward program over all its rows, through
 * the plan's `fused` runner (the wasm kernel, split over the threads where that pays). A fused
 * plan has no JVP (fusion is off under `memory: 'keep'`, which forward mode needs). @internal
 */
export const fusedRule: { readonly forward: Rule<never>; readonly backward: Rule<never> } = (() => {
  const run = (s: Site<FusedParams>, prog: number, work: number): void => {
    const f = s.gemm?.fused;
    if (f === undefined) throw new InternalError('a fused group runs only on the wasm kernels');
    f(prog, s.params.rows, work);
  };
  const base = {
    arity: 0, batching: 'map', shape: noShape, saves: { inputs: false, output: false }, domain: { min: 0, max: 0 },
    jvp: () => {
      throw new InternalError('a fused plan has no forward mode');
    },
  } as const;
  const forward = { ...base, forward: (_v: Buf, s: Site<FusedParams>) => run(s, s.params.forward, s.params.work.forward), vjp: () => undefined };
  const backward = {
    ...base,
    forward: () => undefined,
    vjp: (_v: Buf, _g: Buf, s: Site<FusedParams>) => {
      run(s, s.params.backward, s.params.work.backward);
      // the biases: Σ over the rows in row order, as the unfused add's VJP (accAddRows, stride 0)
      const red = s.params.reductions, k = s.gemm!.elementwise!, base = s.gemm!.gradBase;
      for (let j = 0; j < red.length; j += 4) {
        if (red[j + 3] === 1) k.accAddRows(base + red[j]!, 0, base + red[j + 1]!, s.params.rows, red[j + 2]!);
        else k.accSubRows(base + red[j]!, 0, base + red[j + 1]!, s.params.rows, red[j + 2]!);
      }
    },
  };
  return { forward: forward as unknown as Rule<never>, backward: backward as unknown as Rule<never> };
})();
