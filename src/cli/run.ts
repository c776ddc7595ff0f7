/**
 * The command line, as a function of its arguments and I/O (so tests run it in-process).
 * Every failure is a message and an exit code, never a stack trace:
 * 0 success, 1 a gradient check that failed (or training that diverged), 2 bad usage or bad
 * input, 70 an internal error.
 */
import * as E from 'fp-ts/Either';
import { parseArgs } from 'node:util';
import { formatIssues, InternalError, LoopgradError, type LoopgradIssue } from '../errors';
import { decodeData, decodeModel, encodeModel, nest, torchName, type DataSet, type Model } from '../files';
import * as optim from '../optim';
import { trainEither } from '../train';
import { progressBar } from './progress';
import { formatGradcheck, gradcheck } from '../gradcheck';
import { startThreads, ThreadError, type ThreadPool } from '../kernels/threads';
import { compile } from '../plan';
import { printCell, printUnrolled } from '../print';
import type { Dtype } from '../program';
import { unroll } from '../unroll';

/** Where the CLI reads and writes. @since 0.1.0 @category model */
export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readFile: (path: string) => string;
  /** Writes a file, creating its folder (needed by `train --out`). */
  readonly writeFile?: (path: string, text: string) => void;
  /** Whether stderr is a terminal (the progress bar redraws in place there). */
  readonly stderrIsTTY?: boolean;
  /** A thread pool for `--threads N` (N > 1) of `grad` and `train`; {@link runCliAsync} starts one. */
  readonly threads?: ThreadPool;
}

const USAGE = `usage: loopgrad <command> [options]

commands:
  grad       --model m.json --data d.json [--dtype float64|float32] [--threads N]
             print {"loss", "grads": {<param>: …, "inputs": …}, "dLoss_dh_norm": [T]} as JSON
  gradcheck  --model m.json --data d.json [--dtype float64|float32] [--mode full|direction]
             compare the gradients with central finite differences; exit 1 if they disagree
  train      --model m.json --data d.json [--epochs N] [--optimizer adam|sgd|rmsprop] [--lr R]
             [--clip-norm C] [--dtype float64|float32] [--out dir] [--checkpoint-every K] [--threads N]
             train on the data (one batch, every epoch) with a progress bar; write
             dir/step-<k>.json checkpoints (model files), dir/model.json and dir/history.json
  print      --model m.json [--steps T]
             print the cell's graph (or, with --steps, the unrolled graph)
  help       print this message

A model file holds a one-layer PyTorch nn.RNN / nn.GRU / nn.LSTM plus an nn.Linear "readout"
state_dict: {"cell", "inputSize", "hiddenSize", "outputSize", "nonlinearity"?, "params"}.
A data file holds {"inputs": [T][B][I], "targets": [T][B][O]}. --threads N splits the large
matrix products over N threads (same results; docs/threads.md). See docs/cli.md.`;

class UsageError extends Error {}

/** A listing longer than this is no use to read (it is one line per eqn). */
const MAX_PRINT_STEPS = 1000;

const fileErrors: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a folder on its path is a file',
};

const readJson = (io: CliIO, path: string | undefined, what: string): unknown => {
  if (path === undefined) throw new UsageError(`--${what} <file.json> is required`);
  let text: string;
  try {
    text = io.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code !== undefined && code in fileErrors ? `${fileErrors[code]} (${code})` : (err as Error).message;
    throw new UsageError(`cannot read ${what} file ${path}: ${why}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(err as Error).message}`);
  }
};

const orFail = <A>(e: E.Either<readonly LoopgradIssue[], A>, what: string): A => {
  if (E.isLeft(e)) throw new UsageError(`${what}:\n${formatIssues(e.left).replace(/^/gm, '  ')}`);
  return e.right;
};

const loadModel = (io: CliIO, path: string | undefined): Model => orFail(decodeModel(readJson(io, path, 'model'), path), `model file ${path} is malformed`);
const loadData = (io: CliIO, path: string | undefined, m: Model): DataSet =>
  orFail(
    decodeData(readJson(io, path, 'data'), { inputSize: m.cell.inputSize, outputSize: m.outputSize }, path),
    `data file ${path} is malformed or does not fit the model (inputSize ${m.cell.inputSize}, outputSize ${m.outputSize})`,
  );

const dtypeOf = (s: string | undefined): Dtype => {
  if (s === undefined || s === 'float64' || s === 'float32') return s ?? 'float64';
  throw new UsageError(`--dtype must be float64 or float32, not ${s}`);
};

/** The options each command takes: any other is a usage error, not silently ignored. */
const accepts: Readonly<Record<string, readonly string[]>> = {
  grad: ['model', 'data', 'dtype', 'threads'],
  gradcheck: ['model', 'data', 'dtype', 'mode'],
  print: ['model', 'steps'],
  train: ['model', 'data', 'dtype', 'epochs', 'optimizer', 'lr', 'clip-norm', 'out', 'checkpoint-every', 'threads'],
};

/** A positive number option (`--lr`, `--clip-norm`), or a usage error naming it. */
const positive = (o: Record<string, string | undefined>, name: string, fallback?: number): number | undefined => {
  const s = o[name];
  if (s === undefined) return fallback;
  const x = Number(s);
  if (!(s.trim() !== '' && Number.isFinite(x) && x > 0)) throw new UsageError(`--${name} must be a positive number, not ${s}`);
  return x;
};
const count = (o: Record<string, string | undefined>, name: string, fallback: number, max: number): number => {
  const s = o[name];
  if (s === undefined) return fallback;
  if (!/^[1-9]\d*$/.test(s) || Number(s) > max) throw new UsageError(`--${name} must be an integer from 1 to ${max}, not ${s}`);
  return Number(s);
};

const MAX_EPOCHS = 1_000_000;
const MAX_THREADS = 256;

/** The `--threads` count (1 when absent), or a usage error. */
const threadCount = (s: string | undefined): number => {
  if (s === undefined) return 1;
  if (!/^[1-9]\d*$/.test(s) || Number(s) > MAX_THREADS) throw new UsageError(`--threads must be an integer from 1 to ${MAX_THREADS}, not ${s}`);
  return Number(s);
};

/** compile()'s `threads` option for `--threads`: the pool the I/O carries, checked against the count. */
const poolFor = (o: Record<string, string | undefined>, io: CliIO): { threads?: ThreadPool } => {
  const n = threadCount(o['threads']);
  if (n === 1) return {};
  if (io.threads === undefined || io.threads.threads !== n) throw new UsageError(`--threads ${n} needs a pool of ${n} threads: call runCliAsync, which starts one (the loopgrad command does)`);
  return { threads: io.threads };
};

const commands: Record<string, (values: Record<string, string | undefined>, io: CliIO) => number> = {
  train: (o, io) => {
    const m = loadModel(io, o['model']);
    const d = loadData(io, o['data'], m);
    const epochs = count(o, 'epochs', 100, MAX_EPOCHS);
    const every = count(o, 'checkpoint-every', Math.max(1, Math.ceil(epochs / 10)), MAX_EPOCHS);
    const lr = positive(o, 'lr', 0.01)!;
    const clipNorm = positive(o, 'clip-norm');
    const name = o['optimizer'] ?? 'adam';
    const optimizer = name === 'adam' ? optim.adamEither({ lr }) : name === 'sgd' ? optim.sgdEither({ lr }) : name === 'rmsprop' ? optim.rmspropEither({ lr }) : undefined;
    if (optimizer === undefined) throw new UsageError(`--optimizer must be adam, sgd or rmsprop, not ${name}`);
    const out = o['out'];
    if (out !== undefined && io.writeFile === undefined) throw new InternalError('train --out needs a writeFile in the CLI I/O');
    const write = (file: string, json: unknown): void => io.writeFile!(`${out}/${file}`, JSON.stringify(json) + '\n');
    const u = unroll(m.cell, { steps: d.steps, readout: { output: m.outputSize } });
    const plan = compile(u, { batch: d.batch, dtype: dtypeOf(o['dtype']), ...poolFor(o, io) });
    const bar = progressBar(epochs, 'train', { write: io.stderr, isTTY: io.stderrIsTTY ?? false });
    const r = orFail(trainEither(plan, m.params, {
      steps: epochs, optimizer: orFail(optimizer, 'bad optimizer options'), data: () => d, ...(clipNorm !== undefined ? { clipNorm } : {}),
      onStep: (s) => {
        bar.update(s.step, `loss ${s.loss.toPrecision(4)}`);
        if (out !== undefined && s.step % every === 0) write(`step-${String(s.step).padStart(6, '0')}.json`, encodeModel(m, s.params));
      },
    }), 'training failed');
    const losses = Array.from(r.history.loss);
    bar.finish(r.stopped ? `stopped at step ${r.stopped.step}: ${r.stopped.reason}` : `loss ${losses[0]?.toPrecision(4)} → ${losses.at(-1)?.toPrecision(4)}`);
    if (out !== undefined) {
      write('model.json', encodeModel(m, r.params));
      write('history.json', { loss: losses, gradNorm: Array.from(r.history.gradNorm), steps: r.steps, ...(r.stopped ? { stopped: r.stopped } : {}) });
    }
    io.stdout(JSON.stringify({ steps: r.steps, firstLoss: losses[0] ?? null, finalLoss: losses.at(-1) ?? null, ...(r.stopped ? { stopped: r.stopped } : {}) }) + '\n');
    return r.stopped ? 1 : 0;
  },
  grad: (o, io) => {
    const m = loadModel(io, o['model']);
    const d = loadData(io, o['data'], m);
    const u = unroll(m.cell, { steps: d.steps, readout: { output: m.outputSize } });
    const r = compile(u, { batch: d.batch, dtype: dtypeOf(o['dtype']), ...poolFor(o, io) }).valueAndGrad(m.params, d);
    const grads: Record<string, unknown> = {};
    for (const p of u.params) grads[torchName(p.name)] = nest(r.grads[p.name], p.shape);
    grads['inputs'] = nest(r.inputGrads, [d.steps, d.batch, m.cell.inputSize]);
    io.stdout(JSON.stringify({ loss: r.loss, grads, dLoss_dh_norm: Array.from(r.flow.h ?? []) }) + '\n');
    return 0;
  },
  gradcheck: (o, io) => {
    const m = loadModel(io, o['model']);
    const d = loadData(io, o['data'], m);
    const mode = o['mode'] ?? 'full';
    if (mode !== 'full' && mode !== 'direction') throw new UsageError(`--mode must be full or direction, not ${mode}`);
    const u = unroll(m.cell, { steps: d.steps, readout: { output: m.outputSize } });
    const report = gradcheck(u, m.params, d, { mode, dtype: dtypeOf(o['dtype']) });
    io.stdout(formatGradcheck(report, torchName) + '\n');
    return report.ok ? 0 : 1;
  },
  print: (o, io) => {
    const m = loadModel(io, o['model']);
    if (o['steps'] === undefined) {
      const H = m.cell.outputSize, O = m.outputSize;
      const names = m.cell.params.map((p) => `${torchName(p.name)} → ${p.name}`).join(', ');
      io.stdout(`${printCell(m.cell)}\nreadout  y = readout.weight [${O}, ${H}] · output + readout.bias [${O}] → y [${O}]\nmodel file names: ${names}\n`);
      return 0;
    }
    const steps = /^[1-9]\d{0,5}$/.test(o['steps']) ? Number(o['steps']) : NaN;
    if (!(steps >= 1 && steps <= MAX_PRINT_STEPS)) throw new UsageError(`--steps must be an integer from 1 to ${MAX_PRINT_STEPS}, not ${o['steps']}`);
    io.stdout(printUnrolled(unroll(m.cell, { steps, readout: { output: m.outputSize } })) + '\n');
    return 0;
  },
};

/**
 * Runs one command line (without `node` and the script: `['grad', '--model', 'm.json', …]`)
 * and returns the exit code.
 * @since 0.1.0
 * @category destructors
 */
export const runCli = (argv: readonly string[], io: CliIO): number => {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? io.stderr : io.stdout)(USAGE + '\n');
    return command === undefined ? 2 : 0;
  }
  const run = commands[command];
  if (run === undefined) {
    io.stderr(`loopgrad: unknown command '${command}'\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return run(optionsOf(command, rest), io);
  } catch (err) {
    if (err instanceof UsageError) io.stderr(`loopgrad ${command}: ${err.message}\n`);
    else if (err instanceof LoopgradError) io.stderr(`loopgrad ${command}:\n${err.message.replace(/^/gm, '  ')}\n`);
    else if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`loopgrad ${command}: ${err.message}\n\n${USAGE}\n`);
    } else {
      const msg = err instanceof InternalError ? err.message : `internal: ${(err as Error)?.message ?? String(err)}`;
      io.stderr(`loopgrad ${command}: ${msg}\n(this is a bug in loopgrad; please report it with the command line)\n`);
      return 70;
    }
    return 2;
  }
};

/** A known command's options: parsed, and each one the command takes (throws on anything else). */
const optionsOf = (command: string, rest: readonly string[]): Record<string, string | undefined> => {
  const { values } = parseArgs({
    args: [...rest],
    options: {
      model: { type: 'string' }, data: { type: 'string' }, dtype: { type: 'string' }, mode: { type: 'string' }, steps: { type: 'string' },
      epochs: { type: 'string' }, optimizer: { type: 'string' }, lr: { type: 'string' }, 'clip-norm': { type: 'string' }, out: { type: 'string' },
      'checkpoint-every': { type: 'string' }, threads: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const extra = Object.keys(values).filter((k) => !accepts[command]!.includes(k));
  if (extra.length > 0) throw new UsageError(`--${extra[0]} does not apply to ${command} (it takes ${accepts[command]!.map((k) => `--${k}`).join(', ')})`);
  return values as Record<string, string | undefined>;
};

/**
 * {@link runCli} for `--threads N`: starts a pool of N threads first (a promise, hence this
 * entry point), runs the command with it and closes it; without `--threads` it is `runCli`.
 * @since 0.1.0
 * @category destructors
 */
export const runCliAsync = async (argv: readonly string[], io: CliIO): Promise<number> => {
  const [command, ...rest] = argv;
  // the options as runCli reads them; any problem with them is runCli's to report
  let n = 1;
  try {
    if (command !== undefined && commands[command] !== undefined) n = threadCount(optionsOf(command, rest)['threads']);
  } catch {
    return runCli(argv, io);
  }
  if (n === 1 || io.threads !== undefined) return runCli(argv, io);
  let pool: ThreadPool;
  try {
    pool = await startThreads({ threads: n });
  } catch (e) {
    if (!(e instanceof ThreadError)) throw e;
    io.stderr(`loopgrad ${command}: --threads ${n}: ${e.message}\n`);
    return 2;
  }
  try {
    return runCli(argv, { ...io, threads: pool });
  } finally {
    await pool.close();
  }
};
