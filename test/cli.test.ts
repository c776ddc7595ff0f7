// The command line: `runCli` in-process against the PyTorch fixtures (grad, gradcheck, print),
// every usage/input error path (exit 2, a message naming the problem, never a stack trace), and
// the real executable (src/cli/main.ts under tsx) once for success and once for a bad file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, runCliAsync, type CliIO } from '../src/cli/run';

// ---------------------------------------------------------------------------------------------
// fixtures and helpers

const root = fileURLToPath(new URL('..', import.meta.url));
const fixtureDir = join(root, 'test', 'fixtures', 'torch');

type Nested = number | Nested[];
interface Fixture {
  readonly model: { readonly cell: string; readonly params: Record<string, Nested> } & Record<string, unknown>;
  readonly data: { readonly inputs: number[][][]; readonly targets: number[][][] };
  readonly expected: { readonly loss: number; readonly grads: Record<string, Nested>; readonly dLoss_dh_norm: number[] };
}

const caseNames = JSON.parse(readFileSync(join(fixtureDir, 'index.json'), 'utf8')) as string[];
const fixtures = new Map<string, Fixture>(caseNames.map((name) => [name, JSON.parse(readFileSync(join(fixtureDir, `${name}.json`), 'utf8')) as Fixture]));
const fixture = (name: string): Fixture => {
  const f = fixtures.get(name);
  if (f === undefined) throw new Error(`test: no fixture ${name}`);
  return f;
};

/** The in-memory files every in-process run sees: `<case>.model.json` and `<case>.data.json` per fixture. */
const baseFiles: Record<string, string> = Object.fromEntries(
  caseNames.flatMap((name) => [
    [`${name}.model.json`, JSON.stringify(fixture(name).model)],
    [`${name}.data.json`, JSON.stringify(fixture(name).data)],
  ]),
);

interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process; a path not in `files` throws like `fs.readFileSync` does for a missing file. */
const cli = (argv: readonly string[], extraFiles: Record<string, string> = {}, written?: Record<string, string>): CliResult => {
  const files: Record<string, string> = { ...baseFiles, ...extraFiles };
  let stdout = '';
  let stderr = '';
  const code = runCli(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) {
        const err = new Error(`ENOENT: no such file or directory, open '${path}'`) as NodeJS.ErrnoException;
        err.code = 'ENOENT';
        err.errno = -2;
        err.syscall = 'open';
        err.path = path;
        throw err;
      }
      return text;
    },
    ...(written ? { writeFile: (path: string, text: string) => { written[path] = text; } } : {}),
  });
  return { code, stdout, stderr };
};

const modelArgs = (name: string): string[] => ['--model', `${name}.model.json`, '--data', `${name}.data.json`];

/** A stack trace line: "\n    at fn (file:line:col)". */
const STACK = /\n\s+at /;

/**
 * Walks `actual` against `expected`: nested array shapes must match exactly, numbers must satisfy
 * |a − b| ≤ rtol·max(|a|, |b|) + atol. Returns one line per problem (empty when all agree).
 */
const compareNested = (actual: unknown, expected: Nested, rtol: number, atol: number, path: string, out: string[] = []): string[] => {
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') out.push(`${path}: expected a number, got ${JSON.stringify(actual)}`);
    else if (!(Math.abs(actual - expected) <= rtol * Math.max(Math.abs(actual), Math.abs(expected)) + atol)) {
      out.push(`${path}: ${actual} vs expected ${expected} (|diff| ${Math.abs(actual - expected).toExponential(2)})`);
    }
    return out;
  }
  if (!Array.isArray(actual)) {
    out.push(`${path}: expected an array of length ${expected.length}, got ${typeof actual}`);
    return out;
  }
  if (actual.length !== expected.length) {
    out.push(`${path}: length ${actual.length}, expected ${expected.length}`);
    return out;
  }
  expected.forEach((e, i) => compareNested(actual[i], e, rtol, atol, `${path}[${i}]`, out));
  return out;
};

interface GradOutput {
  readonly loss: number;
  readonly grads: Record<string, unknown>;
  readonly dLoss_dh_norm: unknown;
}

const gradNames = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0', 'readout.weight', 'readout.bias', 'inputs'];

const checkGradAgainstTorch = (name: string, dtype: 'float64' | 'float32', rtol: number, atol: number): void => {
  const f = fixture(name);
  const r = cli(['grad', ...modelArgs(name), ...(dtype === 'float64' ? [] : ['--dtype', dtype])]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout.endsWith('\n')).toBe(true);
  const out = JSON.parse(r.stdout) as GradOutput;
  expect(Object.keys(out).sort()).toEqual(['dLoss_dh_norm', 'grads', 'loss']);
  expect(Object.keys(out.grads).sort()).toEqual([...gradNames].sort());
  expect(Object.keys(f.expected.grads).sort()).toEqual([...gradNames].sort());

  const problems = compareNested(out.loss, f.expected.loss, rtol, atol, 'loss');
  for (const g of gradNames) compareNested(out.grads[g], f.expected.grads[g]!, rtol, atol, `grads.${g}`, problems);
  compareNested(out.dLoss_dh_norm, f.expected.dLoss_dh_norm, rtol, atol, 'dLoss_dh_norm', problems);
  expect(problems).toEqual([]);
};

// ---------------------------------------------------------------------------------------------
// grad

describe('loopgrad grad against the PyTorch fixtures', () => {
  it('the comparison itself rejects wrong shapes and values', () => {
    expect(compareNested([[1, 2]], [[1, 2]], 1e-9, 1e-15, 'x')).toEqual([]);
    expect(compareNested([[1, 2]], [[1, 2, 3]], 1e-9, 1e-15, 'x')).toEqual(['x[0]: length 2, expected 3']);
    expect(compareNested([1, 2], [[1, 2]], 1e-9, 1e-15, 'x')).toEqual(['x: length 2, expected 1']);
    expect(compareNested([1], [[1]], 1e-9, 1e-15, 'x')).toEqual(['x[0]: expected an array of length 1, got number']);
    expect(compareNested(1 + 1e-8, 1, 1e-9, 1e-15, 'x')).toHaveLength(1);
    expect(compareNested(1e-16, 0, 1e-9, 1e-15, 'x')).toEqual([]);
    expect(compareNested(Number.NaN, 0, 1e-9, 1e-15, 'x')).toHaveLength(1);
  });

  it('has the fixtures the README lists', () => {
    expect(caseNames).toEqual(['vanilla_tanh', 'vanilla_relu', 'gru', 'lstm', 'lstm_b1', 'gru_long', 'vanilla_tanh_long']);
  });

  it.each(caseNames)('%s (float64): loss, every gradient and dLoss_dh_norm within 1e-9 relative', (name) => {
    checkGradAgainstTorch(name, 'float64', 1e-9, 1e-15);
  });

  it.each(caseNames)('%s (float32): within 1e-4 relative', (name) => {
    checkGradAgainstTorch(name, 'float32', 1e-4, 1e-6);
  });

  it('lstm_b1: the weight_hh gradient is exactly zero (T = 1, h_0 = 0)', () => {
    const out = JSON.parse(cli(['grad', ...modelArgs('lstm_b1')]).stdout) as GradOutput;
    expect((out.grads['weight_hh_l0'] as number[][]).flat().every((x) => x === 0)).toBe(true);
  });

  it('--dtype float64 is the default', () => {
    const implicit = cli(['grad', ...modelArgs('gru')]);
    const explicit = cli(['grad', ...modelArgs('gru'), '--dtype', 'float64']);
    expect(explicit.code).toBe(0);
    expect(explicit.stdout).toBe(implicit.stdout);
  });

  it('float32 actually computes in float32 (differs from float64 in the low digits)', () => {
    const a = JSON.parse(cli(['grad', ...modelArgs('gru')]).stdout) as GradOutput;
    const b = JSON.parse(cli(['grad', ...modelArgs('gru'), '--dtype', 'float32']).stdout) as GradOutput;
    expect(b.loss).not.toBe(a.loss);
  });
});

// ---------------------------------------------------------------------------------------------
// gradcheck and print

describe('loopgrad gradcheck', () => {
  it.each(caseNames)('%s: full mode exits 0 and prints ok', (name) => {
    const r = cli(['gradcheck', ...modelArgs(name)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gradcheck \(full, float64\b.*: ok, \d+ entries/);
  });

  it.each(caseNames)('%s: --mode direction exits 0', (name) => {
    const r = cli(['gradcheck', ...modelArgs(name), '--mode', 'direction']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gradcheck \(direction\b.*: ok\b/);
  });

  it('--dtype float32 is reported and passes on the GRU fixture', () => {
    const r = cli(['gradcheck', ...modelArgs('gru'), '--dtype', 'float32']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gradcheck \(full, float32\b.*: ok\b/);
  });
});

describe('--threads', () => {
  /** runCliAsync with the fixture files, collecting the output. */
  const cliAsync = async (argv: readonly string[]): Promise<CliResult> => {
    let stdout = '', stderr = '';
    const io: CliIO = {
      stdout: (t) => { stdout += t; },
      stderr: (t) => { stderr += t; },
      readFile: (path) => { const t = baseFiles[path]; if (t === undefined) throw new Error(`no ${path}`); return t; },
    };
    const code = await runCliAsync(argv, io);
    return { code, stdout, stderr };
  };

  it('grad and train print the same with --threads 2 (runCliAsync starts and closes the pool)', async () => {
    for (const argv of [['grad', ...modelArgs('lstm')], ['train', ...modelArgs('gru'), '--epochs', '5']]) {
      const plain = cli(argv);
      const threaded = await cliAsync([...argv, '--threads', '2']);
      expect(threaded.code, threaded.stderr).toBe(0);
      expect(threaded.stdout).toBe(plain.stdout);
      expect((await cliAsync([...argv, '--threads=2'])).stdout).toBe(plain.stdout);
    }
  });

  it('bad counts, the synchronous entry and commands without threads are usage errors', async () => {
    expect(await cliAsync(['grad', ...modelArgs('gru'), '--threads', '0'])).toEqual({ code: 2, stdout: '', stderr: 'loopgrad grad: --threads must be an integer from 1 to 256, not 0\n' });
    expect(cli(['grad', ...modelArgs('gru'), '--threads', 'x']).stderr).toBe('loopgrad grad: --threads must be an integer from 1 to 256, not x\n');
    const sync = cli(['grad', ...modelArgs('gru'), '--threads', '2']);
    expect(sync.code).toBe(2);
    expect(sync.stderr).toBe('loopgrad grad: --threads 2 needs a pool of 2 threads: call runCliAsync, which starts one (the loopgrad command does)\n');
    expect(cli(['grad', ...modelArgs('gru'), '--threads', '1']).code).toBe(0);
    expect((await cliAsync(['print', ...modelArgs('gru').slice(0, 2), '--threads', '2'])).stderr).toMatch(/^loopgrad print: --threads does not apply to print/);
  });
});

describe('loopgrad train', () => {
  it('trains with a progress bar, writes checkpoints that load back, and the loss falls', () => {
    const written: Record<string, string> = {};
    const r = cli(['train', ...modelArgs('gru'), '--epochs', '40', '--lr', '0.05', '--clip-norm', '5', '--out', 'ckpt', '--checkpoint-every', '20'], {}, written);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { steps: number; firstLoss: number; finalLoss: number };
    expect(out.steps).toBe(40);
    expect(out.finalLoss).toBeLessThan(0.5 * out.firstLoss);
    expect(r.stderr).toMatch(/^train {2}\[█*░*\] +\d+% {2}\d+\/40 {2}loss /m); // the bar, a line per tenth off a terminal
    expect(r.stderr).toMatch(/train {2}done: loss [\d.]+ → [\d.]+ \(\d+s\)\n$/);
    expect(Object.keys(written).sort()).toEqual(['ckpt/history.json', 'ckpt/model.json', 'ckpt/step-000020.json', 'ckpt/step-000040.json']);
    const history = JSON.parse(written['ckpt/history.json']!) as { loss: number[] };
    expect(history.loss).toHaveLength(40);
    expect(history.loss[0]).toBe(out.firstLoss);
    // the final model file is a valid model whose loss on the data is below the first loss
    const again = cli(['grad', '--model', 'ckpt/model.json', '--data', 'gru.data.json'], { 'ckpt/model.json': written['ckpt/model.json']! });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as GradOutput).loss).toBeLessThan(out.finalLoss * 1.5);
    expect(written['ckpt/step-000040.json']).toBe(written['ckpt/model.json']);
  });

  it('bad training options are usage errors naming the option', () => {
    expect(cli(['train', ...modelArgs('gru'), '--lr=-1']).stderr).toBe('loopgrad train: --lr must be a positive number, not -1\n');
    expect(cli(['train', ...modelArgs('gru'), '--clip-norm', 'big']).stderr).toBe('loopgrad train: --clip-norm must be a positive number, not big\n');
    expect(cli(['train', ...modelArgs('gru'), '--optimizer', 'adagrad']).stderr).toBe('loopgrad train: --optimizer must be adam, sgd or rmsprop, not adagrad\n');
    expect(cli(['train', ...modelArgs('gru'), '--epochs', '0']).stderr).toBe('loopgrad train: --epochs must be an integer from 1 to 1000000, not 0\n');
    expect(cli(['train', ...modelArgs('gru'), '--epochs', '0']).code).toBe(2);
  });

  it('a diverging run stops and exits 1, saying where', () => {
    const r = cli(['train', ...modelArgs('vanilla_tanh'), '--epochs', '50', '--optimizer', 'sgd', '--lr', '1e9']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/train {2}done: stopped at step \d+: /);
  });
});

describe('loopgrad print', () => {
  it.each(caseNames)('%s: the cell listing names every cell parameter', (name) => {
    const r = cli(['print', '--model', `${name}.model.json`]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^cell ${fixture(name).model.cell}`));
    for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) expect(r.stdout).toContain(p);
  });

  it.each(caseNames)('%s: --steps 2 lists the unrolled graph with every parameter, readout included', (name) => {
    const r = cli(['print', '--model', `${name}.model.json`, '--steps', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^unrolled \S+ × 2 steps/);
    for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh', 'readout.weight', 'readout.bias']) expect(r.stdout).toContain(p);
  });

  it('help prints the usage on stdout and exits 0', () => {
    for (const h of ['help', '--help', '-h']) {
      const r = cli([h]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^usage: loopgrad <command>/);
      for (const c of ['grad', 'gradcheck', 'print']) expect(r.stdout).toContain(c);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// errors

describe('usage and input errors: exit 2, a message naming the problem, no stack trace', () => {
  /** Runs and checks the shared contract; returns stderr for the specific assertions. */
  const fails = (argv: readonly string[], extraFiles?: Record<string, string>): string => {
    const r = cli(argv, extraFiles);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toBe('');
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/internal|this is a bug/);
    return r.stderr;
  };

  it('an option a command does not take is an error, not ignored', () => {
    expect(fails(['print', '--model', 'gru.model.json', '--dtype', 'float16'])).toBe('loopgrad print: --dtype does not apply to print (it takes --model, --steps)\n');
    expect(fails(['grad', ...modelArgs('gru'), '--steps', '3'])).toMatch(/--steps does not apply to grad/);
  });

  it('an absurd --steps is a usage error, not a crash', () => {
    expect(fails(['print', '--model', 'gru.model.json', '--steps', '5000000000'])).toMatch(/--steps must be an integer from 1 to 1000, not 5000000000/);
    expect(fails(['print', '--model', 'gru.model.json', '--steps', '0x10'])).toMatch(/not 0x10/);
  });

  it('a missing file says so in words', () => {
    expect(fails(['grad', '--model', 'nope.json', '--data', 'gru.data.json'])).toMatch(/cannot read model file nope.json: no such file \(ENOENT\)/);
  });

  it('no command: usage on stderr', () => {
    const err = fails([]);
    expect(err).toMatch(/^usage: loopgrad <command>/);
  });

  it('unknown command: names it, then the usage', () => {
    const err = fails(['frobnicate', ...modelArgs('gru')]);
    expect(err).toContain("unknown command 'frobnicate'");
    expect(err).toContain('usage: loopgrad');
  });

  it('unknown option: names it', () => {
    const err = fails(['grad', ...modelArgs('gru'), '--learning-rate', '0.1']);
    expect(err).toMatch(/^loopgrad grad: /);
    expect(err).toMatch(/unknown option '--learning-rate'/i);
  });

  it('an option without its value', () => {
    const err = fails(['grad', '--model']);
    expect(err).toContain('--model');
    expect(err).toMatch(/missing/);
  });

  it('a positional argument', () => {
    const err = fails(['grad', ...modelArgs('gru'), 'extra.json']);
    expect(err).toContain("'extra.json'");
  });

  it('missing --model (grad, gradcheck, print)', () => {
    for (const cmd of ['grad', 'gradcheck', 'print']) {
      const err = fails([cmd, ...(cmd === 'print' ? ['--steps', '2'] : ['--data', 'gru.data.json'])]);
      expect(err).toBe(`loopgrad ${cmd}: --model <file.json> is required\n`);
    }
  });

  it('missing --data', () => {
    const err = fails(['grad', '--model', 'gru.model.json']);
    expect(err).toContain('--data <file.json> is required');
  });

  it('unreadable model file: names the file and the reason', () => {
    const err = fails(['grad', '--model', 'no/such/model.json', '--data', 'gru.data.json']);
    expect(err).toContain('cannot read model file no/such/model.json');
    expect(err).toContain('ENOENT');
  });

  it('unreadable data file', () => {
    const err = fails(['gradcheck', '--model', 'gru.model.json', '--data', 'missing.json']);
    expect(err).toContain('cannot read data file missing.json');
  });

  it('a readFile error without a code falls back to its message', () => {
    const r = runCli(['print', '--model', 'dir'], {
      stdout: () => undefined,
      stderr: (s) => {
        expect(s).toContain('cannot read model file dir: is a directory');
        expect(s).not.toMatch(STACK);
      },
      readFile: () => {
        throw new Error('is a directory');
      },
    });
    expect(r).toBe(2);
  });

  it('invalid JSON in the model file', () => {
    const err = fails(['grad', '--model', 'broken.json', '--data', 'gru.data.json'], { 'broken.json': '{"cell": "gru", ' });
    expect(err).toContain('model file broken.json is not valid JSON');
  });

  it('invalid JSON in the data file', () => {
    const err = fails(['grad', '--model', 'gru.model.json', '--data', 'broken.json'], { 'broken.json': 'inputs: [1, 2]' });
    expect(err).toContain('data file broken.json is not valid JSON');
  });

  it('a malformed model file lists every bad field by path', () => {
    const m = structuredClone(fixture('gru').model) as Record<string, unknown>;
    m['hiddenSize'] = 0;
    m['cell'] = 'rnn';
    const err = fails(['grad', '--model', 'bad.json', '--data', 'gru.data.json'], { 'bad.json': JSON.stringify(m) });
    expect(err).toContain('model file bad.json is malformed');
    expect(err).toContain('bad.json › cell: expected "vanilla", "gru" or "lstm", got "rnn"');
    expect(err).toContain('bad.json › hiddenSize: expected a positive integer, got 0');
  });

  it('a model file holding a data file', () => {
    const err = fails(['print', '--model', 'gru.data.json']);
    expect(err).toContain('gru.data.json › cell: missing');
    expect(err).toContain('gru.data.json › params: missing');
  });

  it('a data file that does not fit the model names the row and the size', () => {
    // vanilla_tanh_long has inputSize 2; the gru data has rows of 3
    const err = fails(['grad', '--model', 'vanilla_tanh_long.model.json', '--data', 'gru.data.json']);
    expect(err).toContain('data file gru.data.json is malformed or does not fit the model (inputSize 2, outputSize 2)');
    expect(err).toContain('gru.data.json › inputs[0][0]: has 3 numbers; expected inputSize = 2');
  });

  it('bad --dtype', () => {
    for (const cmd of ['grad', 'gradcheck']) {
      const err = fails([cmd, ...modelArgs('gru'), '--dtype', 'float16']);
      expect(err).toBe(`loopgrad ${cmd}: --dtype must be float64 or float32, not float16\n`);
    }
  });

  it('bad --mode', () => {
    const err = fails(['gradcheck', ...modelArgs('gru'), '--mode', 'sideways']);
    expect(err).toBe('loopgrad gradcheck: --mode must be full or direction, not sideways\n');
  });

  it.each(['0', '1.5', 'abc', '1e400', ' '])('bad --steps %j', (steps) => {
    const err = fails(['print', '--model', 'gru.model.json', '--steps', steps]);
    expect(err).toBe(`loopgrad print: --steps must be an integer from 1 to 1000, not ${steps}\n`);
  });

  it('bad --steps=-1 (a dash needs the = form; parseArgs rejects the separate one)', () => {
    expect(fails(['print', '--model', 'gru.model.json', '--steps=-1'])).toBe('loopgrad print: --steps must be an integer from 1 to 1000, not -1\n');
    expect(fails(['print', '--model', 'gru.model.json', '--steps', '-1'])).toContain("'--steps' argument is ambiguous");
  });
});

// ---------------------------------------------------------------------------------------------
// the real executable

describe('the loopgrad executable (src/cli/main.ts under tsx)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loopgrad-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const spawnCli = (args: readonly string[]): { status: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('grad: exit 0 and the JSON of the fixture', () => {
    const f = fixture('lstm_b1');
    const model = join(dir, 'model.json');
    const data = join(dir, 'data.json');
    writeFileSync(model, JSON.stringify(f.model));
    writeFileSync(data, JSON.stringify(f.data));
    const r = spawnCli(['grad', '--model', model, '--data', data]);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as GradOutput;
    expect(compareNested(out.loss, f.expected.loss, 1e-9, 1e-15, 'loss')).toEqual([]);
    expect(Object.keys(out.grads).sort()).toEqual([...gradNames].sort());
  });

  it('grad --threads 2: exit 0, the same JSON as one thread', () => {
    const f = fixture('gru');
    const model = join(dir, 'threads-model.json'), data = join(dir, 'threads-data.json');
    writeFileSync(model, JSON.stringify(f.model));
    writeFileSync(data, JSON.stringify(f.data));
    const one = spawnCli(['grad', '--model', model, '--data', data]);
    const two = spawnCli(['grad', '--model', model, '--data', data, '--threads', '2']);
    expect(two.stderr).toBe('');
    expect(two.status).toBe(0);
    expect(two.stdout).toBe(one.stdout);
  });

  it('a malformed model file: exit 2, the problem on stderr, no stack trace', () => {
    const model = join(dir, 'bad-model.json');
    const data = join(dir, 'data2.json');
    const m = structuredClone(fixture('gru').model);
    (m.params['weight_hh_l0'] as number[][])[2]!.pop();
    writeFileSync(model, JSON.stringify(m));
    writeFileSync(data, JSON.stringify(fixture('gru').data));
    const r = spawnCli(['grad', '--model', model, '--data', data]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`model file ${model} is malformed`);
    expect(r.stderr).toContain('params.weight_hh_l0[2]: has 4 numbers; expected 5');
    expect(r.stderr).not.toMatch(STACK);
  });
});
