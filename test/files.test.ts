// Model and data files (src/files.ts): decoding the PyTorch fixtures, every malformed-file error
// by its exact path and message, data checked against a model's sizes, nest and torchName.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { describe, expect, it } from 'vitest';
import type { LoopgradIssue } from '../src/errors';
import { decodeData, decodeModel, gateCount, nest, torchName, torchParamNames } from '../src/files';
import { unroll } from '../src/unroll';

// ---------------------------------------------------------------------------------------------
// fixtures and helpers

const fixtureDir = fileURLToPath(new URL('./fixtures/torch/', import.meta.url));

interface RawModel {
  cell: string;
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  nonlinearity?: string;
  params: Record<string, unknown>;
  [extra: string]: unknown;
}
interface Fixture {
  readonly model: RawModel;
  readonly data: { inputs: number[][][]; targets: number[][][] };
}

const caseNames = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8')) as string[];
const load = (name: string): Fixture => JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8')) as Fixture;

/** A fresh deep copy of the GRU fixture's model (I = 3, H = 5, O = 2, G = 3: 15 gate rows). */
const gruModel = (): RawModel => structuredClone(load('gru').model);
/** A fresh deep copy of the GRU fixture's data (T = 6, B = 3, I = 3, O = 2). */
const gruData = (): Fixture['data'] => structuredClone(load('gru').data);
const gruSizes = { inputSize: 3, outputSize: 2 };

interface Found {
  readonly where: string;
  readonly message: string;
}

/** The issues of a Left as `{where, message}` (where = the field path after the file name); fails on a Right. */
const issuesOf = (r: E.Either<readonly LoopgradIssue[], unknown>, file: string): Found[] => {
  if (E.isRight(r)) throw new Error('expected a Left, got a Right');
  for (const i of r.left) {
    expect(i._tag).toBe('DecodeError');
    expect(i.path).toHaveLength(2);
    expect(i.path[0]).toBe(file);
  }
  return r.left.map((i) => ({ where: i.path[1]!, message: i.message }));
};
const modelIssues = (json: unknown): Found[] => issuesOf(decodeModel(json), 'model');
const dataIssues = (json: unknown, sizes = gruSizes): Found[] => issuesOf(decodeData(json, sizes), 'data');
const wheres = (found: readonly Found[]): string[] => found.map((f) => f.where);
const at = (found: readonly Found[], where: string): string => {
  const f = found.find((x) => x.where === where);
  if (f === undefined) throw new Error(`no issue at ${where}; issues at: ${wheres(found).join(', ')}`);
  return f.message;
};

const rows = (r: number, c: number, v = 0.1): number[][] => Array.from({ length: r }, () => Array.from({ length: c }, () => v));
const vec = (n: number, v = 0.1): number[] => Array.from({ length: n }, () => v);

// ---------------------------------------------------------------------------------------------
// models

describe('decodeModel on the PyTorch fixtures', () => {
  it.each(caseNames)('%s decodes, with its cell, sizes and parameters', (name) => {
    const { model } = load(name);
    const r = decodeModel(model, `${name}.json`);
    if (E.isLeft(r)) throw new Error(r.left.map((i) => i.message).join('\n'));
    const m = r.right;
    const I = model.inputSize, H = model.hiddenSize, O = model.outputSize;
    const kind = model.cell as keyof typeof gateCount;
    const G = gateCount[kind];
    const expectedCellName = kind === 'vanilla' ? (model.nonlinearity === 'relu' ? 'vanilla_relu' : 'vanilla') : kind;
    expect(m.cell.name).toBe(expectedCellName);
    expect(m.cell.inputSize).toBe(I);
    expect(m.cell.outputSize).toBe(H);
    expect(m.cell.sizes['input']).toBe(I);
    expect(m.cell.sizes['hidden']).toBe(H);
    expect(m.outputSize).toBe(O);
    expect(m.file).toEqual(model);
    expect(m.cell.params.map((p) => [p.name, p.shape])).toEqual([
      ['weight_ih', [G * H, I]],
      ['weight_hh', [G * H, H]],
      ['bias_ih', [G * H]],
      ['bias_hh', [G * H]],
    ]);
    // flat row-major copies of the nested arrays
    const p = model.params as Record<string, number[] | number[][]>;
    expect(Array.from(m.params.weight_ih)).toEqual((p['weight_ih_l0'] as number[][]).flat());
    expect(Array.from(m.params.weight_hh)).toEqual((p['weight_hh_l0'] as number[][]).flat());
    expect(Array.from(m.params.bias_ih)).toEqual(p['bias_ih_l0']);
    expect(Array.from(m.params.bias_hh)).toEqual(p['bias_hh_l0']);
    expect(Array.from(m.params['readout.weight'])).toEqual((p['readout.weight'] as number[][]).flat());
    expect(Array.from(m.params['readout.bias'])).toEqual(p['readout.bias']);
    expect(m.params['readout.weight']).toHaveLength(O * H);
  });

  it('a vanilla model without nonlinearity is tanh', () => {
    const model = structuredClone(load('vanilla_tanh').model);
    delete model.nonlinearity;
    const r = decodeModel(model);
    expect(E.isRight(r) && r.right.cell.name).toBe('vanilla');
  });

  it('the file name given is the first element of every issue path (default "model")', () => {
    const r = decodeModel({ ...gruModel(), cell: 'rnn' }, 'nets/m.json');
    expect(E.isLeft(r) && r.left.map((i) => i.path)).toEqual([['nets/m.json', 'cell']]);
    expect(E.isLeft(decodeModel(null)) && (decodeModel(null) as E.Left<readonly LoopgradIssue[]>).left[0]!.path[0]).toBe('model');
  });
});

describe('decodeModel: malformed model files list every bad field by its path', () => {
  it('not an object', () => {
    for (const x of [null, [], 'model', 3]) {
      const found = modelIssues(x);
      expect(wheres(found)).toEqual(['(top level)']);
      expect(found[0]!.message).toMatch(/^expected a model object, got /);
    }
    expect(at(modelIssues(null), '(top level)')).toBe('expected a model object, got null');
  });

  it('missing fields: each named, "missing" and what was expected', () => {
    const found = modelIssues({});
    expect(wheres(found)).toEqual(['cell', 'inputSize', 'hiddenSize', 'outputSize', 'params']);
    expect(at(found, 'cell')).toBe('missing; expected "vanilla", "gru" or "lstm"');
    expect(at(found, 'inputSize')).toBe('missing; expected a positive integer');
    expect(at(found, 'params')).toBe('missing; expected an object of parameters');
  });

  it('missing parameters: each named under params', () => {
    const m = gruModel();
    delete m.params['bias_hh_l0'];
    delete m.params['readout.bias'];
    const found = modelIssues(m);
    expect(wheres(found)).toEqual(['params.bias_hh_l0', 'params.readout.bias']);
    expect(at(found, 'params.bias_hh_l0')).toBe('missing; expected an array of numbers');
    expect(at(found, 'params.readout.bias')).toBe('missing; expected an array of numbers');
  });

  it('wrong types: a string where a number belongs, a string where an array belongs, an array where an object belongs', () => {
    const m = gruModel();
    m.inputSize = '3' as unknown as number;
    (m.params['weight_ih_l0'] as unknown[][])[1]![2] = '0.5';
    m.params['bias_hh_l0'] = 'zeros';
    m.params['readout.weight'] = [0.1, 0.2];
    const found = modelIssues(m);
    expect(wheres(found).sort()).toEqual(['inputSize', 'params.bias_hh_l0', 'params.readout.weight[0]', 'params.readout.weight[1]', 'params.weight_ih_l0[1][2]']);
    expect(at(found, 'inputSize')).toBe('expected a positive integer, got "3"');
    expect(at(found, 'params.weight_ih_l0[1][2]')).toBe('expected a finite number, got "0.5"');
    expect(at(found, 'params.bias_hh_l0')).toBe('expected an array of numbers, got "zeros"');
    expect(at(found, 'params.readout.weight[0]')).toBe('expected an array of numbers, got 0.1');

    const p = modelIssues({ ...gruModel(), params: [] });
    expect(p).toEqual([{ where: 'params', message: 'expected an object of parameters, got []' }]);
  });

  it('non-finite-like values: "NaN", null, and a literal that parses to Infinity', () => {
    const m = gruModel();
    const hh = m.params['weight_hh_l0'] as unknown[][];
    hh[2]![1] = 'NaN';
    hh[3]![0] = null;
    (m.params['bias_ih_l0'] as unknown[])[4] = 'Infinity';
    const found = modelIssues(m);
    expect(wheres(found)).toEqual(['params.weight_hh_l0[2][1]', 'params.weight_hh_l0[3][0]', 'params.bias_ih_l0[4]']);
    expect(at(found, 'params.weight_hh_l0[2][1]')).toBe('expected a finite number, got "NaN"');
    expect(at(found, 'params.weight_hh_l0[3][0]')).toBe('expected a finite number, got null');
    expect(at(found, 'params.bias_ih_l0[4]')).toBe('expected a finite number, got "Infinity"');

    // JSON.parse('1e999') is Infinity: rejected at its path, and shown as what it is
    const inf = JSON.parse(JSON.stringify(gruModel()).replace(/"readout\.bias":\[[^,\]]+/, '"readout.bias":[1e999')) as unknown;
    const f2 = modelIssues(inf);
    expect(wheres(f2)).toEqual(['params.readout.bias[0]']);
    expect(at(f2, 'params.readout.bias[0]')).toBe('expected a finite number, got Infinity');

    // NaN and ±Infinity as JS values (decodeModel is also an API, not only a file reader)
    const js = gruModel();
    (js.params['bias_hh_l0'] as number[])[0] = Number.NaN;
    (js.params['bias_hh_l0'] as number[])[1] = -Infinity;
    expect(wheres(modelIssues(js))).toEqual(['params.bias_hh_l0[0]', 'params.bias_hh_l0[1]']);
  });

  it('zero, negative, fractional, huge and non-number sizes are all reported together', () => {
    const found = modelIssues({ ...gruModel(), inputSize: 0, hiddenSize: -5, outputSize: 1.5 });
    expect(wheres(found)).toEqual(['inputSize', 'hiddenSize', 'outputSize']);
    expect(at(found, 'inputSize')).toBe('expected a positive integer, got 0');
    expect(at(found, 'hiddenSize')).toBe('expected a positive integer, got -5');
    expect(at(found, 'outputSize')).toBe('expected a positive integer, got 1.5');
    expect(at(modelIssues({ ...gruModel(), hiddenSize: 1e300 }), 'hiddenSize')).toBe('expected a positive integer, got 1e+300');
    expect(at(modelIssues({ ...gruModel(), outputSize: null }), 'outputSize')).toBe('expected a positive integer, got null');
  });

  it('unknown cell kind', () => {
    const found = modelIssues({ ...gruModel(), cell: 'rnn' });
    expect(found).toEqual([{ where: 'cell', message: 'expected "vanilla", "gru" or "lstm", got "rnn"' }]);
    expect(modelIssues({ ...gruModel(), cell: 'GRU' })).toEqual([{ where: 'cell', message: 'expected "vanilla", "gru" or "lstm", got "GRU"' }]);
  });

  it('nonlinearity on a GRU or LSTM', () => {
    const found = modelIssues({ ...gruModel(), nonlinearity: 'tanh' });
    expect(found).toEqual([{ where: 'nonlinearity', message: 'nonlinearity applies to "vanilla" cells only, not "gru"' }]);
    const lstm = { ...structuredClone(load('lstm').model), nonlinearity: 'relu' };
    expect(at(modelIssues(lstm), 'nonlinearity')).toContain('not "lstm"');
  });

  it('an unknown nonlinearity', () => {
    const found = modelIssues({ ...structuredClone(load('vanilla_relu').model), nonlinearity: 'sigmoid' });
    expect(found).toEqual([{ where: 'nonlinearity', message: 'expected "tanh" or "relu", got "sigmoid"' }]);
  });

  it('an unknown extra parameter (a second layer)', () => {
    const m = gruModel();
    m.params['weight_ih_l1'] = m.params['weight_ih_l0'];
    const found = modelIssues(m);
    expect(wheres(found)).toEqual(['params.weight_ih_l1']);
    const msg = at(found, 'params.weight_ih_l1');
    expect(msg).toMatch(/^unknown field; a model file's params are exactly/);
    for (const n of torchParamNames) expect(msg).toContain(n);
    expect(msg).toContain('one layer');
  });

  it('wrong row count: says how many, how many expected, and why (gates × hidden)', () => {
    const m = gruModel();
    m.params['weight_hh_l0'] = (m.params['weight_hh_l0'] as number[][]).slice(1);
    const found = modelIssues(m);
    expect(found).toEqual([
      { where: 'params.weight_hh_l0', message: 'has 14 rows; expected 15 (rows: 3·hidden for gru = 15, columns: hiddenSize = 5)' },
    ]);
  });

  it('a ragged row: names the row index and the expected column count', () => {
    const m = gruModel();
    (m.params['weight_hh_l0'] as number[][])[2]!.pop();
    expect(modelIssues(m)).toEqual([
      { where: 'params.weight_hh_l0[2]', message: 'has 4 numbers; expected 5 (rows: 3·hidden for gru = 15, columns: hiddenSize = 5)' },
    ]);
    const m2 = gruModel();
    (m2.params['weight_ih_l0'] as number[][])[7]!.push(0);
    const found = modelIssues(m2);
    expect(wheres(found)).toEqual(['params.weight_ih_l0[7]']);
    expect(at(found, 'params.weight_ih_l0[7]')).toContain('has 4 numbers; expected 3');
    expect(at(found, 'params.weight_ih_l0[7]')).toContain('inputSize = 3');
  });

  it('wrong bias length', () => {
    const m = gruModel();
    m.params['bias_ih_l0'] = [1, 2];
    expect(modelIssues(m)).toEqual([{ where: 'params.bias_ih_l0', message: 'has 2 numbers; expected 15 (3·hidden for gru = 15)' }]);
  });

  it('the gate count in the messages follows the cell (vanilla 1, lstm 4)', () => {
    const v = structuredClone(load('vanilla_tanh').model);
    v.params['bias_hh_l0'] = [0];
    expect(at(modelIssues(v), 'params.bias_hh_l0')).toBe('has 1 number; expected 5 (hidden = 5)');
    const l = structuredClone(load('lstm').model);
    l.params['weight_ih_l0'] = rows(5, 3);
    expect(at(modelIssues(l), 'params.weight_ih_l0')).toBe('has 5 rows; expected 20 (rows: 4·hidden for lstm = 20, columns: inputSize = 3)');
  });

  it('wrong readout shapes: rows (outputSize), columns (hiddenSize), bias (outputSize)', () => {
    const m = gruModel();
    m.params['readout.weight'] = [[1, 2, 3, 4, 5]];
    m.params['readout.bias'] = [1, 2, 3];
    expect(modelIssues(m)).toEqual([
      { where: 'params.readout.weight', message: 'has 1 row; expected 2 (rows: outputSize = 2, columns: hiddenSize = 5)' },
      { where: 'params.readout.bias', message: 'has 3 numbers; expected 2 (outputSize = 2)' },
    ]);
    const m2 = gruModel();
    m2.params['readout.weight'] = rows(2, 3);
    expect(modelIssues(m2)).toEqual([
      { where: 'params.readout.weight[0]', message: 'has 3 numbers; expected 5 (rows: outputSize = 2, columns: hiddenSize = 5)' },
    ]);
  });

  it('shapes are checked against the declared sizes, not the other way round', () => {
    // the fixture's params are right for H = 5; declaring H = 4 flags every H-dependent shape
    const found = modelIssues({ ...gruModel(), hiddenSize: 4 });
    expect(wheres(found)).toEqual(['params.weight_ih_l0', 'params.weight_hh_l0', 'params.bias_ih_l0', 'params.bias_hh_l0', 'params.readout.weight[0]']);
    expect(at(found, 'params.weight_ih_l0')).toContain('has 15 rows; expected 12');
  });

  it('several shape errors at once are all reported, in a fixed order', () => {
    const m = gruModel();
    m.nonlinearity = 'relu';
    m.params['extra'] = [1];
    m.params['weight_ih_l0'] = rows(14, 3);
    (m.params['weight_hh_l0'] as number[][])[9] = vec(6);
    m.params['bias_hh_l0'] = vec(16);
    m.params['readout.bias'] = vec(1);
    expect(wheres(modelIssues(m))).toEqual([
      'params.extra',
      'nonlinearity',
      'params.weight_ih_l0',
      'params.weight_hh_l0[9]',
      'params.bias_hh_l0',
      'params.readout.bias',
    ]);
  });

  it('several structural errors at once are all reported', () => {
    const m = gruModel();
    m.cell = 'rnn';
    m.outputSize = 0;
    (m.params['weight_hh_l0'] as unknown[][])[0]![0] = null;
    (m.params['weight_hh_l0'] as unknown[][])[14]![4] = 'x';
    delete m.params['readout.bias'];
    const found = modelIssues(m);
    expect(wheres(found)).toEqual(['cell', 'outputSize', 'params.weight_hh_l0[0][0]', 'params.weight_hh_l0[14][4]', 'params.readout.bias']);
    expect(at(found, 'params.readout.bias')).toContain('missing');
  });

  it('a bad field is reported once, even when io-ts has several reasons', () => {
    const found = modelIssues({ ...gruModel(), params: { ...gruModel().params, weight_ih_l0: [[true, 'a', null]] } });
    // the three bad entries, then the row count, which is wrong too (1 row instead of 15)
    expect(wheres(found)).toEqual(['params.weight_ih_l0[0][0]', 'params.weight_ih_l0[0][1]', 'params.weight_ih_l0[0][2]', 'params.weight_ih_l0']);
    expect(new Set(wheres(found)).size).toBe(found.length);
  });
});

// ---------------------------------------------------------------------------------------------
// data

describe('decodeModel: nothing passes silently', () => {
  it('a misspelt or unsupported top-level field is an error, not ignored', () => {
    const { nonlinearity: _, ...rest } = structuredClone(load('vanilla_relu').model);
    const found = modelIssues({ ...rest, nonlinearty: 'relu', num_layers: 2 });
    expect(wheres(found)).toEqual(['nonlinearty', 'num_layers']);
    expect(at(found, 'nonlinearty')).toMatch(/^unknown field; a model file has: cell, inputSize, hiddenSize, outputSize, nonlinearity, params$/);
  });

  it('structural and shape problems are reported together, in one pass', () => {
    const m = gruModel();
    const found = modelIssues({ ...m, cell: 'rnn', params: { ...m.params, 'readout.bias': [1, 2, 3], weight_ih_l1: [] } });
    expect(wheres(found)).toEqual(['cell', 'params.weight_ih_l1', 'params.readout.bias']);
  });

  it('a data file for the wrong model lists 20 problems and counts the rest', () => {
    // 6 steps × 3 examples, every input row and every target row the wrong size: 36 problems
    const found = dataIssues(gruData(), { inputSize: 7, outputSize: 9 });
    expect(found).toHaveLength(21);
    expect(found[0]!.where).toBe('inputs[0][0]');
    expect(found[20]).toEqual({ where: '…', message: 'and 16 more like these' });
  });

  it('a data file with an extra field is an error', () => {
    expect(wheres(dataIssues({ ...gruData(), mask: [] }))).toEqual(['mask']);
  });
});

describe('decodeData', () => {
  it.each(caseNames)('%s: the fixture data fits its model, flat and time-major', (name) => {
    const { model, data } = load(name);
    const m = decodeModel(model);
    if (E.isLeft(m)) throw new Error('model');
    const r = decodeData(data, { inputSize: m.right.cell.inputSize, outputSize: m.right.outputSize });
    if (E.isLeft(r)) throw new Error(r.left.map((i) => i.message).join('\n'));
    const T = data.inputs.length, B = data.inputs[0]!.length;
    expect(r.right.steps).toBe(T);
    expect(r.right.batch).toBe(B);
    expect(r.right.inputs).toBeInstanceOf(Float64Array);
    expect(r.right.inputs).toHaveLength(T * B * model.inputSize);
    expect(r.right.targets).toHaveLength(T * B * model.outputSize);
    expect(Array.from(r.right.inputs)).toEqual(data.inputs.flat(2));
    expect(Array.from(r.right.targets)).toEqual(data.targets.flat(2));
  });

  it('the file name given is the first element of every issue path', () => {
    const r = decodeData({}, gruSizes, 'runs/d.json');
    expect(E.isLeft(r) && r.left.map((i) => i.path[0])).toEqual(['runs/d.json', 'runs/d.json']);
  });

  it('T mismatch between inputs and targets', () => {
    const d = gruData();
    d.targets = d.targets.slice(1);
    expect(dataIssues(d)).toEqual([{ where: 'targets', message: 'has 5 time steps; inputs has 6' }]);
    const d2 = gruData();
    d2.targets.push(d2.targets[0]!);
    expect(dataIssues(d2)).toEqual([{ where: 'targets', message: 'has 7 time steps; inputs has 6' }]);
  });

  it('a ragged batch names inputs[t] (or targets[t])', () => {
    const d = gruData();
    d.inputs[1] = d.inputs[1]!.slice(1);
    expect(dataIssues(d)).toEqual([{ where: 'inputs[1]', message: 'has 2 examples; inputs[0] has 3' }]);
    const d2 = gruData();
    d2.targets[4]!.push([0, 0]);
    expect(dataIssues(d2)).toEqual([{ where: 'targets[4]', message: 'has 4 examples; inputs[0] has 3' }]);
  });

  it('a row of the wrong size names inputs[t][b] and says inputSize (targets: outputSize)', () => {
    const d = gruData();
    d.inputs[2]![1] = [1, 2];
    d.targets[5]![0] = [1, 2, 3];
    expect(dataIssues(d)).toEqual([
      { where: 'inputs[2][1]', message: 'has 2 numbers; expected inputSize = 3' },
      { where: 'targets[5][0]', message: 'has 3 numbers; expected outputSize = 2' },
    ]);
  });

  it('is checked against the model sizes given: every misfitting row is listed', () => {
    // the GRU data (I = 3, O = 2) against a model with inputSize 2 and outputSize 2
    const found = dataIssues(gruData(), { inputSize: 2, outputSize: 2 });
    expect(found).toHaveLength(6 * 3);
    expect(wheres(found)).toEqual(Array.from({ length: 18 }, (_, k) => `inputs[${Math.floor(k / 3)}][${k % 3}]`));
    expect(found.every((f) => f.message === 'has 3 numbers; expected inputSize = 2')).toBe(true);
    // and against a real decoded model, as the CLI does
    const m = decodeModel(load('vanilla_tanh_long').model);
    if (E.isLeft(m)) throw new Error('model');
    const r = decodeData(gruData(), { inputSize: m.right.cell.inputSize, outputSize: m.right.outputSize });
    expect(E.isLeft(r) && r.left[0]!.message).toBe('has 3 numbers; expected inputSize = 2');
  });

  it('empty inputs: no time steps, or no examples', () => {
    expect(dataIssues({ inputs: [], targets: [] })).toEqual([{ where: 'inputs', message: 'has no time steps; expected at least one' }]);
    expect(dataIssues({ inputs: [[]], targets: [[]] })).toEqual([{ where: 'inputs[0]', message: 'has no examples; expected at least one' }]);
  });

  it('wrong types', () => {
    expect(dataIssues(null)).toEqual([{ where: '(top level)', message: 'expected a data object, got null' }]);
    expect(dataIssues({})).toEqual([
      { where: 'inputs', message: 'missing; expected an array [T] of arrays [B] of rows of numbers' },
      { where: 'targets', message: 'missing; expected an array [T] of arrays [B] of rows of numbers' },
    ]);
    const found = dataIssues({ inputs: 'x', targets: [[['a', 1]], [[1, 2]], 3] });
    expect(wheres(found)).toEqual(['inputs', 'targets[0][0][0]', 'targets[2]']);
    expect(at(found, 'inputs')).toBe('expected an array [T] of arrays [B] of rows of numbers, got "x"');
    expect(at(found, 'targets[0][0][0]')).toBe('expected a finite number, got "a"');
    expect(at(found, 'targets[2]')).toBe('expected an array of rows of numbers, got 3');
    const d = gruData();
    (d.inputs[0]![0] as unknown[])[0] = null;
    expect(dataIssues(d)).toEqual([{ where: 'inputs[0][0][0]', message: 'expected a finite number, got null' }]);
  });
});

// ---------------------------------------------------------------------------------------------
// nest and torchName

describe('nest', () => {
  const iota = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => i);

  it('[n]: a plain array of the values', () => {
    const v = nest(iota(4), [4]);
    expect(Array.isArray(v)).toBe(true);
    expect(v).toEqual([0, 1, 2, 3]);
  });

  it('[r][c]: row-major rows, round trip with .flat()', () => {
    const v = nest(iota(6), [2, 3]) as number[][];
    expect(v).toEqual([[0, 1, 2], [3, 4, 5]]);
    expect(v.flat()).toEqual(Array.from(iota(6)));
  });

  it('[T][B][I]: round trip with .flat(2)', () => {
    const v = nest(iota(24), [2, 3, 4]) as number[][][];
    expect(v).toHaveLength(2);
    expect(v.every((s) => s.length === 3 && s.every((r) => r.length === 4))).toBe(true);
    expect(v[1]![2]).toEqual([20, 21, 22, 23]);
    expect(v.flat(2)).toEqual(Array.from(iota(24)));
  });

  it('round trips the fixture data and the decoded parameters', () => {
    const { model, data } = load('lstm');
    const T = data.inputs.length, B = data.inputs[0]!.length;
    expect(nest(Float64Array.from(data.inputs.flat(2)), [T, B, model.inputSize])).toEqual(data.inputs);
    const m = decodeModel(model);
    if (E.isLeft(m)) throw new Error('model');
    expect(nest(m.right.params.weight_hh, [4 * model.hiddenSize, model.hiddenSize])).toEqual(model.params['weight_hh_l0']);
    expect(nest(m.right.params['readout.bias'], [model.outputSize])).toEqual(model.params['readout.bias']);
  });

  it('property: nest then flat is the identity for any shape of rank 1 to 3', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }), (shape) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const flat = Array.from({ length: n }, (_, i) => i * 0.5 - 1);
        const nested = nest(Float64Array.from(flat), shape);
        // every level has the declared length
        let level: unknown[] = [nested];
        for (const d of shape) {
          expect(level.every((x) => Array.isArray(x) && x.length === d)).toBe(true);
          level = level.flatMap((x) => x as unknown[]);
        }
        expect((nested as unknown[]).flat(shape.length - 1)).toEqual(flat);
      }),
      { numRuns: 100 },
    );
  });
});

describe('torchName', () => {
  it('adds the layer suffix to cell parameters and leaves the readout alone', () => {
    expect(torchName('weight_ih')).toBe('weight_ih_l0');
    expect(torchName('bias_hh')).toBe('bias_hh_l0');
    expect(torchName('readout.weight')).toBe('readout.weight');
    expect(torchName('readout.bias')).toBe('readout.bias');
  });

  it.each(['vanilla_tanh', 'gru', 'lstm'])('%s: the unrolled parameters map exactly onto the model-file names', (name) => {
    const m = decodeModel(load(name).model);
    if (E.isLeft(m)) throw new Error('model');
    const u = unroll(m.right.cell, { steps: 2, readout: { output: m.right.outputSize } });
    expect(u.params.map((p) => torchName(p.name))).toEqual([...torchParamNames]);
  });
});
