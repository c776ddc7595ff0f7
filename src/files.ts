/**
 * Model and data files: JSON decoded with io-ts, checked against each other, errors listing
 * every bad field by its path.
 *
 * A model file holds a one-layer PyTorch `nn.RNN` / `nn.GRU` / `nn.LSTM` plus an `nn.Linear`
 * called `readout`, by their `state_dict` names, as row-major nested arrays, so
 * `{k: v.tolist() for k, v in sd.items()}` loads as it is:
 * ```json
 * {"cell": "lstm", "inputSize": 3, "hiddenSize": 5, "outputSize": 2,
 *  "params": {"weight_ih_l0": [[...]], "weight_hh_l0": [[...]], "bias_ih_l0": [...],
 *             "bias_hh_l0": [...], "readout.weight": [[...]], "readout.bias": [...]}}
 * ```
 * A data file holds `{"inputs": [T][B][I], "targets": [T][B][O]}`.
 */
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import * as t from 'io-ts';
import { builtin, type RnnParam } from './builtin';
import type { Cell } from './cell';
import { issue, type LoopgradIssue } from './errors';

// ---------------------------------------------------------------------------------------------
// codecs

const finite = new t.Type<number, number, unknown>(
  'a finite number',
  (u): u is number => typeof u === 'number' && Number.isFinite(u),
  (u, c) => (typeof u === 'number' && Number.isFinite(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);
const positiveInt = new t.Type<number, number, unknown>(
  'a positive integer',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u > 0,
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);
const vector = t.array(finite, 'an array of numbers');
const matrix = t.array(vector, 'an array of rows of numbers');
const tensor3 = t.array(matrix, 'an array [T] of arrays [B] of rows of numbers');

/** The torch `state_dict` names a model file carries. @since 0.1.0 @category model */
export const torchParamNames = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'readout.weight', 'readout.bias'] as const;
/** One of {@link torchParamNames}. @since 0.1.0 @category model */
export type TorchParamName = (typeof torchParamNames)[number];

/** The io-ts codec of a model file (structure only; shapes are checked by {@link decodeModel}). @since 0.1.0 @category codecs */
export const ModelFileCodec = t.intersection([
  t.type({
    cell: t.keyof({ vanilla: null, gru: null, lstm: null }, '"vanilla", "gru" or "lstm"'),
    inputSize: positiveInt,
    hiddenSize: positiveInt,
    outputSize: positiveInt,
    params: t.type({
      weight_ih_l0: matrix,
      weight_hh_l0: matrix,
      bias_ih_l0: vector,
      bias_hh_l0: vector,
      'readout.weight': matrix,
      'readout.bias': vector,
    }, 'an object of parameters'),
  }, 'a model object'),
  t.partial({ nonlinearity: t.keyof({ tanh: null, relu: null }, '"tanh" or "relu"') }),
]);
/** A model file as decoded. @since 0.1.0 @category model */
export type ModelFile = t.TypeOf<typeof ModelFileCodec>;

/** The io-ts codec of a data file (structure only; sizes are checked by {@link decodeData}). @since 0.1.0 @category codecs */
export const DataFileCodec = t.type({ inputs: tensor3, targets: tensor3 }, 'a data object');
/** A data file as decoded. @since 0.1.0 @category model */
export type DataFile = t.TypeOf<typeof DataFileCodec>;

const showValue = (u: unknown): string => {
  if (u === undefined) return 'nothing';
  if (typeof u === 'number' && !Number.isFinite(u)) return String(u);
  const s = JSON.stringify(u);
  return s === undefined ? typeof u : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/** io-ts errors as loopgrad issues: the path of the innermost failing field and what it expected. */
const fromValidation = (file: string, errors: t.Errors): LoopgradIssue[] => {
  const seen = new Set<string>();
  const out: LoopgradIssue[] = [];
  for (const err of errors) {
    // an intersection adds a numeric key for its member at the top level: not part of the path
    const path: string[] = [];
    err.context.forEach((c, i) => {
      if (c.key === '' || (i === 1 && err.context[0]!.type instanceof t.IntersectionType)) return;
      path.push(/^\d+$/.test(c.key) ? `[${c.key}]` : path.length > 0 ? `.${c.key}` : c.key);
    });
    const where = path.join('');
    if (seen.has(where)) continue;
    seen.add(where);
    const expected = err.context[err.context.length - 1]!.type.name;
    const message = err.value === undefined ? `missing; expected ${expected}` : `expected ${expected}, got ${showValue(err.value)}`;
    out.push(issue('DecodeError', [file, where || '(top level)'], message));
  }
  return out;
};

/** At most 20 issues, then one that counts the rest: a file for the wrong model has an error per row. */
const capped = (bad: readonly LoopgradIssue[], max = 20): readonly LoopgradIssue[] =>
  bad.length <= max ? bad : [...bad.slice(0, max), issue('DecodeError', [bad[0]!.path[0]!, '…'], `and ${bad.length - max} more like these`)];

/** `1 number`, `3 numbers`. */
const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** Keys of an object that a schema does not name: a misspelt field must not pass silently. */
const unknownKeys = (file: string, u: unknown, known: readonly string[], prefix: string, why: string): LoopgradIssue[] =>
  typeof u === 'object' && u !== null && !Array.isArray(u)
    ? Object.keys(u).filter((k) => !known.includes(k)).map((k) => issue('DecodeError', [file, `${prefix}${k}`], `unknown field; ${why}`))
    : [];

// ---------------------------------------------------------------------------------------------
// models

/** Gates per cell kind (PyTorch stacks them row-wise). @since 0.1.0 @category model */
export const gateCount = { vanilla: 1, gru: 3, lstm: 4 } as const;

/** A decoded, checked model: its cell, sizes and parameters in flat PyTorch layouts. @since 0.1.0 @category model */
export interface Model {
  readonly file: ModelFile;
  readonly cell: Cell<RnnParam, string>;
  readonly outputSize: number;
  /** By the cell's param names (`weight_ih`, …, `readout.weight`, `readout.bias`), row-major. */
  readonly params: Readonly<Record<RnnParam | 'readout.weight' | 'readout.bias', Float64Array>>;
}

/** The model-file name of a plan parameter and back (`weight_ih` ↔ `weight_ih_l0`). @since 0.1.0 @category model */
export const torchName = (param: string): string => (param.startsWith('readout.') ? param : `${param}_l0`);

const checkMatrix = (file: string, name: string, m: readonly (readonly number[])[], rows: number, cols: number, why: string): LoopgradIssue[] => {
  const path = [file, `params.${name}`];
  if (!Array.isArray(m)) return [];
  if (m.length !== rows) return [issue('DecodeError', path, `has ${count(m.length, 'row')}; expected ${rows} (${why})`)];
  const bad = m.findIndex((r) => Array.isArray(r) && r.length !== cols);
  return bad < 0 ? [] : [issue('DecodeError', [file, `params.${name}[${bad}]`], `has ${count(m[bad]!.length, 'number')}; expected ${cols} (${why})`)];
};
const checkVector = (file: string, name: string, v: readonly number[], n: number, why: string): LoopgradIssue[] =>
  !Array.isArray(v) || v.length === n ? [] : [issue('DecodeError', [file, `params.${name}`], `has ${count(v.length, 'number')}; expected ${n} (${why})`)];

const modelFields = ['cell', 'inputSize', 'hiddenSize', 'outputSize', 'nonlinearity', 'params'];

/**
 * The checks beyond structure, run on whatever parts of the file are well-formed, so one pass
 * reports the structural and the shape problems together.
 */
const shapeIssues = (file: string, raw: Record<string, unknown>): LoopgradIssue[] => {
  const kind = ModelFileCodec.types[0].props.cell.is(raw['cell']) ? (raw['cell'] as ModelFile['cell']) : undefined;
  const [I, H, O] = (['inputSize', 'hiddenSize', 'outputSize'] as const).map((k) => (positiveInt.is(raw[k]) ? (raw[k] as number) : undefined));
  const p = (typeof raw['params'] === 'object' && raw['params'] !== null ? raw['params'] : {}) as Record<string, never>;
  const out = [
    ...unknownKeys(file, raw, modelFields, '', `a model file has: ${modelFields.join(', ')}`),
    ...unknownKeys(file, raw['params'], torchParamNames, 'params.', `a model file's params are exactly: ${torchParamNames.join(', ')} (one layer)`),
  ];
  if (raw['nonlinearity'] !== undefined && kind !== undefined && kind !== 'vanilla') {
    out.push(issue('DecodeError', [file, 'nonlinearity'], `nonlinearity applies to "vanilla" cells only, not "${kind}"`));
  }
  if (kind !== undefined && H !== undefined) {
    const G = gateCount[kind];
    const gates = kind === 'vanilla' ? 'hidden' : `${G}·hidden for ${kind}`;
    if (I !== undefined) out.push(...checkMatrix(file, 'weight_ih_l0', p.weight_ih_l0, G * H, I, `rows: ${gates} = ${G * H}, columns: inputSize = ${I}`));
    out.push(
      ...checkMatrix(file, 'weight_hh_l0', p.weight_hh_l0, G * H, H, `rows: ${gates} = ${G * H}, columns: hiddenSize = ${H}`),
      ...checkVector(file, 'bias_ih_l0', p.bias_ih_l0, G * H, `${gates} = ${G * H}`),
      ...checkVector(file, 'bias_hh_l0', p.bias_hh_l0, G * H, `${gates} = ${G * H}`),
    );
  }
  if (H !== undefined && O !== undefined) {
    out.push(
      ...checkMatrix(file, 'readout.weight', p['readout.weight'], O, H, `rows: outputSize = ${O}, columns: hiddenSize = ${H}`),
      ...checkVector(file, 'readout.bias', p['readout.bias'], O, `outputSize = ${O}`),
    );
  }
  return out;
};

/**
 * Decodes a model file: structure (io-ts), then every parameter's shape against the sizes.
 * @since 0.1.0
 * @category constructors
 */
export const decodeModel = (json: unknown, file = 'model'): E.Either<readonly LoopgradIssue[], Model> => {
  const decoded = ModelFileCodec.decode(json);
  const structural = E.isLeft(decoded) ? fromValidation(file, decoded.left) : [];
  const shapes = typeof json === 'object' && json !== null && !Array.isArray(json) ? shapeIssues(file, json as Record<string, unknown>) : [];
  // a field reported by both passes is listed once, with the structural message
  const seen = new Set(structural.map((i) => i.path.join(' › ')));
  const bad = [...structural, ...shapes.filter((i) => !seen.has(i.path.join(' › ')))];
  if (E.isLeft(decoded) || bad.length > 0) return E.left(bad);
  const m = decoded.right;
  const p = m.params;
  const sizes = { input: m.inputSize, hidden: m.hiddenSize };
  const cell = m.cell === 'vanilla' ? builtin.vanilla({ ...sizes, nonlinearity: m.nonlinearity ?? 'tanh' }) : builtin[m.cell](sizes);
  const flat = (rows: readonly (readonly number[])[]): Float64Array => Float64Array.from(rows.flat());
  return E.right({
    file: m,
    cell,
    outputSize: m.outputSize,
    params: {
      weight_ih: flat(p.weight_ih_l0),
      weight_hh: flat(p.weight_hh_l0),
      bias_ih: Float64Array.from(p.bias_ih_l0),
      bias_hh: Float64Array.from(p.bias_hh_l0),
      'readout.weight': flat(p['readout.weight']),
      'readout.bias': Float64Array.from(p['readout.bias']),
    },
  });
};

/**
 * A model file with new parameter values (a checkpoint): the same cell and sizes, the params
 * nested as PyTorch's `tolist()` gives them, so it loads back with {@link decodeModel} (or into
 * PyTorch with `load_state_dict`).
 * @since 0.1.0
 * @category destructors
 */
export const encodeModel = (m: Model, params: Readonly<Record<string, ArrayLike<number>>>): ModelFile => {
  const shapeOf = (name: string): number[] => {
    const p = m.cell.params.find((q) => q.name === name);
    if (p !== undefined) return [...p.shape];
    return name === 'readout.weight' ? [m.outputSize, m.cell.outputSize] : [m.outputSize];
  };
  const nested = (name: string) => nest(params[name]!, shapeOf(name));
  return {
    ...m.file,
    params: {
      weight_ih_l0: nested('weight_ih') as number[][],
      weight_hh_l0: nested('weight_hh') as number[][],
      bias_ih_l0: nested('bias_ih') as number[],
      bias_hh_l0: nested('bias_hh') as number[],
      'readout.weight': nested('readout.weight') as number[][],
      'readout.bias': nested('readout.bias') as number[],
    },
  };
};

// ---------------------------------------------------------------------------------------------
// data

/** A decoded data file, flat and time-major. @since 0.1.0 @category model */
export interface DataSet {
  readonly steps: number;
  readonly batch: number;
  /** [T, B, I] */
  readonly inputs: Float64Array;
  /** [T, B, O] */
  readonly targets: Float64Array;
}

const checkTensor = (file: string, field: string, x: readonly (readonly (readonly number[])[])[], T: number, B: number, n: number, nName: string): LoopgradIssue[] => {
  const out: LoopgradIssue[] = [];
  if (x.length !== T) out.push(issue('DecodeError', [file, field], `has ${count(x.length, 'time step')}; inputs has ${T}`));
  x.forEach((step, t) => {
    if (step.length !== B) out.push(issue('DecodeError', [file, `${field}[${t}]`], `has ${count(step.length, 'example')}; inputs[0] has ${B}`));
    step.forEach((row, b) => {
      if (row.length !== n) out.push(issue('DecodeError', [file, `${field}[${t}][${b}]`], `has ${count(row.length, 'number')}; expected ${nName} = ${n}`));
    });
  });
  return out;
};

/**
 * Decodes a data file and checks it against a model: equal T and B everywhere, input rows of
 * the model's input size, target rows of its output size.
 * @since 0.1.0
 * @category constructors
 */
export const decodeData = (json: unknown, model: { readonly inputSize: number; readonly outputSize: number }, file = 'data'): E.Either<readonly LoopgradIssue[], DataSet> =>
  pipe(
    DataFileCodec.decode(json),
    E.mapLeft((errs) => [...fromValidation(file, errs), ...unknownKeys(file, json, ['inputs', 'targets'], '', 'a data file has: inputs, targets')]),
    E.chain((d): E.Either<readonly LoopgradIssue[], DataSet> => {
      const extra = unknownKeys(file, json, ['inputs', 'targets'], '', 'a data file has: inputs, targets');
      if (extra.length > 0) return E.left(extra);
      const T = d.inputs.length;
      if (T === 0) return E.left([issue('DecodeError', [file, 'inputs'], 'has no time steps; expected at least one')]);
      const B = d.inputs[0]!.length;
      if (B === 0) return E.left([issue('DecodeError', [file, 'inputs[0]'], 'has no examples; expected at least one')]);
      const bad = [
        ...checkTensor(file, 'inputs', d.inputs, T, B, model.inputSize, 'inputSize'),
        ...checkTensor(file, 'targets', d.targets, T, B, model.outputSize, 'outputSize'),
      ];
      if (bad.length > 0) return E.left(capped(bad));
      return E.right({ steps: T, batch: B, inputs: Float64Array.from(d.inputs.flat(2)), targets: Float64Array.from(d.targets.flat(2)) });
    }),
  );

/** Nested row-major arrays of a flat buffer: `[rows][cols]`, `[n]` or `[a][b][c]`. @since 0.1.0 @category destructors */
export const nest = (flat: ArrayLike<number>, shape: readonly number[]): unknown => {
  if (shape.length <= 1) return Array.from(flat);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0]! }, (_, i) => nest(Array.prototype.slice.call(flat, i * inner, (i + 1) * inner) as number[], shape.slice(1)));
};
