/**
 * What every peer of `npm run bench:compare` shares: the problem of one (cell, size) (weights,
 * inputs and targets, the same numbers for every peer), loopgrad's float64 reference loss and
 * gradients, the gradient check, the row type and the step-count policy.
 *
 * Data: drawn as in bench/worker.ts's float32 rows (mulberry32(1234): every parameter
 * uniform(−0.1, 0.1) in loopgrad's parameter order, then inputs and targets uniform(−1, 1)),
 * rounded to float32, so that the float32 peers and loopgrad's float64 reference see exactly
 * the same numbers. Problems travel between processes as JSON files with base64 payloads
 * (bench/compare/torch_check.py reads them too).
 */
import os from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { numel } from '../../src/shape';
import { unroll } from '../../src/unroll';
import { CELLS, POLICY, SIZES, flopsPerStep, mulberry32, uniform, type CellName, type DtypeName, type Size, type SizeName } from '../common';

/** One parameter: loopgrad's (= PyTorch's state_dict) name and layout. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Weights, inputs [T, B, I] and targets [T, B, O] of one (cell, size), all float32-exact. */
export interface Problem {
  readonly cell: CellName;
  readonly size: SizeName;
  readonly dims: Size;
  readonly params: readonly (ParamSpec & { readonly data: Float32Array })[];
  readonly inputs: Float32Array;
  readonly targets: Float32Array;
}

/** A loss and every parameter gradient, by loopgrad's parameter names. */
export interface LossAndGrads {
  readonly loss: number;
  readonly grads: Readonly<Record<string, ArrayLike<number>>>;
}

/**
 * The peers, in run order. `loopgrad` (one thread) and `loopgrad-threads` (a pool of one thread
 * per core, `startThreads()`) run in float32 and float64, the others in float32; `torch` on one
 * thread, `torch-threads` on one per core (intra-op threads and OpenBLAS's).
 */
export const PEERS = ['loopgrad', 'loopgrad-threads', 'tfjs-cpu', 'tfjs-wasm', 'jaxjs', 'torch', 'torch-threads'] as const;
export type PeerName = (typeof PEERS)[number];

/** The dtypes a peer runs in. */
export const dtypesOf = (peer: PeerName): DtypeName[] => (peer === 'loopgrad' || peer === 'loopgrad-threads' ? ['float32', 'float64'] : ['float32']);

/** A row's label: the peer, with loopgrad's thread count and a float64 mark. */
export const labelOf = (peer: PeerName, dtype: DtypeName): string => {
  const name = peer === 'loopgrad-threads' ? `loopgrad ${os.availableParallelism()}t` : peer === 'torch-threads' ? `torch ${os.availableParallelism()}t` : peer;
  return dtype === 'float64' ? `${name} f64` : name;
};

/** Gradient-check tolerance: loss and every parameter, |Δ|∞ / |ref|∞ ≤ this. */
export const CHECK_RTOL = 1e-3;

/**
 * A step longer than this (s) skips the row (bench/common.ts's and torch_step.py's rule, so
 * that every peer has the same one); so does a first step predicted to take 1.5× longer.
 */
export const STEP_LIMIT_S: number = POLICY.skipS;

/** The timing policy: bench/common.ts's (≥ 3 warm-ups, ≥ 10 timed; 3 and 3 when a step takes > 1.5 s). */
export const COMPARE_POLICY = POLICY;

/** The gradient check of one peer against loopgrad's float64 reference. */
export interface Check {
  readonly ok: boolean;
  /** |loss − ref| / |ref|. */
  readonly lossRelErr: number;
  /** max over parameters of ‖g − ref‖∞ / ‖ref‖∞. */
  readonly maxRelErr: number;
  /** The parameter where maxRelErr occurs. */
  readonly worst: string;
  readonly perParam: Readonly<Record<string, number>>;
  readonly rtol: number;
}

/** One output row (a worker prints one JSON line per (cell, size)). */
export interface CompareRow {
  readonly peer: PeerName;
  /** What the table shows in the peer column, e.g. 'tfjs-wasm' or 'torch 1.13 (1 thread)'. */
  readonly label: string;
  readonly cell: CellName;
  readonly size: SizeName;
  readonly dtype: DtypeName;
  readonly flops: number;
  /** ok: timed; failed: gradients disagree (not timed); skipped: budget or step limit; error: threw. */
  readonly status: 'ok' | 'failed' | 'skipped' | 'error';
  readonly reason?: string;
  readonly check?: Check;
  /** Wall time of the checked step: includes jit compilation and first-call costs. */
  readonly checkStepMs?: number;
  readonly setupMs?: number;
  readonly firstMs?: number;
  readonly warmupSteps?: number;
  readonly timedSteps?: number;
  readonly reduced?: boolean;
  readonly medianMs?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly gflops?: number;
  /** medianMs / loopgrad float32's medianMs of the same (cell, size); filled in by run.ts. */
  ratio?: number;
  readonly loss?: number;
}

/** Draws the problem of (cell, size); deterministic. */
export const makeProblem = (cell: CellName, size: SizeName): Problem => {
  const dims = SIZES[size];
  const u = unroll(CELLS[cell].make(dims), { steps: dims.T, readout: { output: dims.O } });
  const rand = mulberry32(1234);
  const params = u.params.map((p) => ({ name: p.name as string, shape: [...p.shape], data: uniform(rand, numel(p.shape), -0.1, 0.1, 'float32') as Float32Array }));
  const inputs = uniform(rand, dims.T * dims.B * dims.I, -1, 1, 'float32') as Float32Array;
  const targets = uniform(rand, dims.T * dims.B * dims.O, -1, 1, 'float32') as Float32Array;
  return { cell, size, dims, params, inputs, targets };
};

export const flopsOf = (cell: CellName, size: SizeName): number => flopsPerStep(cell, SIZES[size]);

const b64 = (a: Float32Array | Float64Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const unb64 = <A extends Float32Array | Float64Array>(s: string, C: { new (n: number): A; readonly BYTES_PER_ELEMENT: number }): A => {
  const b = Buffer.from(s, 'base64');
  const out = new C(b.length / C.BYTES_PER_ELEMENT);
  new Uint8Array(out.buffer).set(b);
  return out;
};

export const problemPath = (dir: string, cell: CellName, size: SizeName): string => join(dir, `problem-${cell}-${size}.json`);
export const referencePath = (dir: string, cell: CellName, size: SizeName): string => join(dir, `reference-${cell}-${size}.json`);

/** Writes a problem as JSON: {cell, size, dims, params: [{name, shape, f32}], inputs, targets} (base64 little-endian float32). */
export const writeProblem = (dir: string, p: Problem): void =>
  writeFileSync(problemPath(dir, p.cell, p.size), JSON.stringify({
    cell: p.cell, size: p.size, dims: p.dims,
    params: p.params.map((q) => ({ name: q.name, shape: q.shape, f32: b64(q.data) })),
    inputs: b64(p.inputs), targets: b64(p.targets),
  }));

export const readProblem = (dir: string, cell: CellName, size: SizeName): Problem => {
  const j = JSON.parse(readFileSync(problemPath(dir, cell, size), 'utf8')) as {
    cell: CellName; size: SizeName; dims: Size; params: { name: string; shape: number[]; f32: string }[]; inputs: string; targets: string;
  };
  return {
    cell: j.cell, size: j.size, dims: j.dims,
    params: j.params.map((q) => ({ name: q.name, shape: q.shape, data: unb64(q.f32, Float32Array) })),
    inputs: unb64(j.inputs, Float32Array), targets: unb64(j.targets, Float32Array),
  };
};

/** Writes loopgrad's float64 reference: {loss, grads: {name: base64 float64}}. */
export const writeReference = (dir: string, cell: CellName, size: SizeName, r: LossAndGrads): void =>
  writeFileSync(referencePath(dir, cell, size), JSON.stringify({
    loss: r.loss,
    grads: Object.fromEntries(Object.entries(r.grads).map(([k, v]) => [k, b64(Float64Array.from(v))])),
  }));

export const readReference = (dir: string, cell: CellName, size: SizeName): LossAndGrads => {
  const j = JSON.parse(readFileSync(referencePath(dir, cell, size), 'utf8')) as { loss: number; grads: Record<string, string> };
  return { loss: j.loss, grads: Object.fromEntries(Object.entries(j.grads).map(([k, v]) => [k, unb64(v, Float64Array)])) };
};

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

/**
 * Compares a peer's loss and gradients with the reference: per parameter ‖g − ref‖∞ / ‖ref‖∞
 * (a NaN, a missing parameter or a wrong length counts as an infinite error).
 */
export const checkAgainst = (ref: LossAndGrads, got: LossAndGrads, rtol = CHECK_RTOL): Check => {
  const perParam: Record<string, number> = {};
  let maxRelErr = 0, worst = '';
  for (const [name, r] of Object.entries(ref.grads)) {
    const g = got.grads[name];
    let err = Infinity;
    if (g !== undefined && g.length === r.length) {
      let d = 0;
      for (let i = 0; i < r.length; i++) {
        const x = Math.abs(g[i]! - r[i]!);
        d = Number.isNaN(x) ? Infinity : Math.max(d, x);
      }
      err = d / Math.max(maxAbs(r), Number.MIN_VALUE);
    }
    perParam[name] = err;
    if (!(err <= maxRelErr)) {
      maxRelErr = err;
      worst = name;
    }
  }
  const lossRelErr = Number.isFinite(got.loss) ? Math.abs(got.loss - ref.loss) / Math.abs(ref.loss) : Infinity;
  return { ok: lossRelErr <= rtol && maxRelErr <= rtol, lossRelErr, maxRelErr, worst, perParam, rtol };
};

/** A peer's training step on one problem, ready to run: the worker checks it, then times it. */
export interface Stepper {
  /** One training step (forward, loss, backward to every parameter), finished when it returns. */
  step(): void;
  /** Loss and gradients of the last step, by loopgrad's names, in PyTorch's layouts. */
  result(): LossAndGrads;
  dispose(): void;
}
