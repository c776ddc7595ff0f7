// Random models and data in the model-file format, for comparing engines over many cases.
import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { decodeData, decodeModel, type DataSet, type Model } from '../../src/index';
import { mulberry32 } from '../../src/random';
import type { RefData, RefModel } from '../reference/rnn';

export type Kind = 'vanilla_tanh' | 'vanilla_relu' | 'gru' | 'lstm';
export const kinds: readonly Kind[] = ['vanilla_tanh', 'vanilla_relu', 'gru', 'lstm'];

export interface Case {
  readonly kind: Kind;
  readonly I: number;
  readonly H: number;
  readonly O: number;
  readonly T: number;
  readonly B: number;
  readonly seed: number;
}

/** Small shapes and lengths: enough to exercise every index path, cheap enough for many runs. */
export const caseArb = (k?: Kind, maxT = 6): fc.Arbitrary<Case> =>
  fc.record({
    kind: k === undefined ? fc.constantFrom(...kinds) : fc.constant(k),
    I: fc.integer({ min: 1, max: 4 }),
    H: fc.integer({ min: 1, max: 5 }),
    O: fc.integer({ min: 1, max: 3 }),
    T: fc.integer({ min: 1, max: maxT }),
    B: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  });

const gates = { vanilla_tanh: 1, vanilla_relu: 1, gru: 3, lstm: 4 } as const;

/** The model file and data file of a case, as nested arrays (what PyTorch's tolist() gives). */
export const makeFiles = (c: Case): { model: RefModel; data: RefData } => {
  const rand = mulberry32(c.seed);
  const u = (lo: number, hi: number): number => lo + (hi - lo) * rand();
  const mat = (r: number, k: number, lo = -0.6, hi = 0.6): number[][] => Array.from({ length: r }, () => Array.from({ length: k }, () => u(lo, hi)));
  const vec = (n: number, lo = -0.6, hi = 0.6): number[] => Array.from({ length: n }, () => u(lo, hi));
  const GH = gates[c.kind] * c.H;
  // relu cells get positive biases so most units are active and away from the kink
  const [blo, bhi] = c.kind === 'vanilla_relu' ? [0.05, 0.4] : [-0.6, 0.6];
  const model: RefModel = {
    cell: c.kind.startsWith('vanilla') ? 'vanilla' : (c.kind as 'gru' | 'lstm'),
    ...(c.kind.startsWith('vanilla') ? { nonlinearity: c.kind === 'vanilla_relu' ? 'relu' : 'tanh' } : {}),
    inputSize: c.I,
    hiddenSize: c.H,
    outputSize: c.O,
    params: {
      weight_ih_l0: mat(GH, c.I),
      weight_hh_l0: mat(GH, c.H),
      bias_ih_l0: vec(GH, blo, bhi),
      bias_hh_l0: vec(GH, blo, bhi),
      'readout.weight': mat(c.O, c.H),
      'readout.bias': vec(c.O),
    },
  };
  const data: RefData = {
    inputs: Array.from({ length: c.T }, () => mat(c.B, c.I, -1, 1)),
    targets: Array.from({ length: c.T }, () => mat(c.B, c.O, -1, 1)),
  };
  return { model, data };
};

/** The same case decoded for loopgrad. */
export const decodeCase = (files: { model: unknown; data: unknown }, sizes: { inputSize: number; outputSize: number }): { model: Model; data: DataSet } => {
  const m = decodeModel(files.model);
  const d = decodeData(files.data, sizes);
  if (E.isLeft(m) || E.isLeft(d)) throw new Error('test case failed to decode');
  return { model: m.right, data: d.right };
};

/** |a − b| ≤ atol + rtol·max(|a|, |b|), element-wise over nested arrays of equal shape. */
export const maxViolation = (a: unknown, b: unknown, rtol: number, atol: number): number => {
  const fa = [a].flat(3) as number[], fb = [b].flat(3) as number[];
  if (fa.length !== fb.length) return Infinity;
  let worst = 0;
  fa.forEach((x, i) => {
    const y = fb[i]!;
    const v = Math.abs(x - y) / (atol + rtol * Math.max(Math.abs(x), Math.abs(y)));
    if (!(v <= worst)) worst = Number.isNaN(v) ? Infinity : v;
  });
  return worst;
};

/** Inputs and targets uniform(−1, 1), flat [T, B, I] and [T, B, O], from a seed. */
export const randomBatch = (seed: number, T: number, B: number, I: number, O: number) => {
  const r = mulberry32(seed);
  return {
    inputs: Float64Array.from({ length: T * B * I }, () => 2 * r() - 1),
    targets: Float64Array.from({ length: T * B * O }, () => 2 * r() - 1),
  };
};
