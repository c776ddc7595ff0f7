/**
 * Shared pieces of the benchmark (the workload of /work/shared/bench/WORKLOAD.md, mirroring
 * torch_step.py): sizes, cells, the flops formula, a seeded PRNG and the step-count policy.
 */
import { performance } from 'node:perf_hooks';
import { builtin } from '../src/builtin';

/** Dimensions of one workload size. */
export interface Size {
  readonly B: number;
  readonly T: number;
  readonly I: number;
  readonly H: number;
  readonly O: number;
}

/** The sizes table, in run order. */
export const SIZES = {
  tiny: { B: 1, T: 32, I: 8, H: 16, O: 8 },
  small: { B: 8, T: 64, I: 32, H: 64, O: 32 },
  medium: { B: 32, T: 64, I: 64, H: 128, O: 64 },
  large: { B: 64, T: 128, I: 128, H: 256, O: 128 },
} as const satisfies Record<string, Size>;
export type SizeName = keyof typeof SIZES;

/** The cells, in run order, with their gate counts. */
export const CELLS = {
  vanilla: { gates: 1, make: (s: Size) => builtin.vanilla({ input: s.I, hidden: s.H }) },
  gru: { gates: 3, make: (s: Size) => builtin.gru({ input: s.I, hidden: s.H }) },
  lstm: { gates: 4, make: (s: Size) => builtin.lstm({ input: s.I, hidden: s.H }) },
} as const;
export type CellName = keyof typeof CELLS;

export const DTYPES = ['float32', 'float64'] as const;
export type DtypeName = (typeof DTYPES)[number];

/** Flops of one training step: 3 × (2·G·H·(I+H)·B·T + 2·O·H·B·T). */
export const flopsPerStep = (cell: CellName, s: Size): number =>
  3 * (2 * CELLS[cell].gates * s.H * (s.I + s.H) * s.B * s.T + 2 * s.O * s.H * s.B * s.T);

export { mulberry32 } from '../src/random';

/** A typed array of the dtype, filled with uniform(lo, hi) draws. */
export const uniform = (rand: () => number, n: number, lo: number, hi: number, dtype: DtypeName): Float32Array | Float64Array => {
  const a = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
};

/** The step-count policy (torch_step.py's POLICY); times in seconds. */
export const POLICY = { warmup: 3, warmupMinS: 0.5, timed: 10, timedMinS: 1.0, cap: 200, slowS: 1.5, slowTimed: 3, skipS: 20.0 } as const;

/** What {@link timeSteps} measured. */
export type Timing =
  | { readonly skipped: true; readonly reason: string; readonly firstMs: number }
  | {
      readonly skipped: false; readonly warmupSteps: number; readonly timedSteps: number; readonly reduced: boolean;
      readonly medianMs: number; readonly minMs: number; readonly maxMs: number; readonly firstMs: number;
      readonly timesMs: number[] | null;
    };

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Runs `step` by the policy (the first step counts as a warm-up step), exactly as torch_step.py does. */
export const timeSteps = (step: () => void, p = POLICY): Timing => {
  const now = (): number => performance.now() / 1e3;
  const t0 = now();
  step();
  const first = now() - t0;
  if (first > p.skipS) return { skipped: true, reason: `first step took ${first.toFixed(1)} s (> ${p.skipS.toFixed(0)} s)`, firstMs: first * 1e3 };
  const reduced = first > p.slowS;
  let nw = 1;
  while (nw < p.warmup || (!reduced && now() - t0 < p.warmupMinS && nw < p.cap)) {
    step();
    nw++;
  }
  const times: number[] = [];
  const t1 = now();
  const nmin = reduced ? p.slowTimed : p.timed;
  while (times.length < nmin || (!reduced && now() - t1 < p.timedMinS && times.length < p.cap)) {
    const t = now();
    step();
    times.push(now() - t);
  }
  const ms = times.map((v) => v * 1e3);
  return {
    skipped: false, warmupSteps: nw, timedSteps: ms.length, reduced,
    medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms), firstMs: first * 1e3,
    timesMs: ms.length <= 20 ? ms.map((v) => Math.round(v * 1e3) / 1e3) : null,
  };
};

/** One output row (a worker prints one JSON line of this per cell and size). */
export interface Row {
  readonly peer: 'loopgrad';
  readonly cell: CellName;
  readonly size: SizeName;
  readonly dtype: DtypeName;
  readonly flops: number;
  /** Threads of the pool the plan was compiled with (1: no pool). */
  readonly pool: number;
  /** Threads the plan's matrix products ran on: 1 without a pool, or when none is large enough to split. */
  readonly threads: number;
  readonly skipped: boolean;
  readonly reason?: string;
  readonly error?: string;
  readonly firstMs?: number;
  readonly warmupSteps?: number;
  readonly timedSteps?: number;
  readonly reduced?: boolean;
  readonly medianMs?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly timesMs?: number[] | null;
  readonly gflops?: number;
  readonly loss?: number | null;
  readonly compileMs?: number;
  /** Bytes of the plan's value and cotangent arenas. */
  readonly arenaBytes?: number;
  /** Peak resident set of the worker process so far, MB. */
  readonly maxRssMB?: number;
}

/** Splits a comma list and checks every item against `known`; returns the items or an error message. */
export const parseList = <K extends string>(flag: string, what: string, value: string | undefined, known: readonly K[]): K[] | string => {
  if (value === undefined) return [...known];
  const items = value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  const bad = items.filter((x) => !(known as readonly string[]).includes(x));
  if (bad.length > 0) return `unknown ${what} ${bad.map((b) => `'${b}'`).join(', ')}; expected one or more of: ${known.join(', ')}`;
  if (items.length === 0) return `${flag} is empty; expected one or more of: ${known.join(', ')}`;
  return items as K[];
};

export const SIZE_NAMES = Object.keys(SIZES) as SizeName[];
export const CELL_NAMES = Object.keys(CELLS) as CellName[];
