/**
 * Autoregressive sampling from a character-level model: feed a prompt, then repeatedly draw the
 * next symbol from softmax(y_t / temperature) and feed it back as the next one-hot input, the
 * state carried from step to step. Seeded: the same seed gives the same text.
 *
 * ```ts
 * const vocab = charVocabulary(text);
 * const cell = builtin.lstm({ input: vocab.size, hidden: 64 });
 * // … train unroll(cell, { steps: 32, readout: { output: vocab.size }, loss: loss.softmaxCrossEntropy() }) …
 * vocab.decode(sample(cell, params, { prompt: vocab.encode('The '), length: 200, temperature: 0.8, seed: 1 }));
 * ```
 */
import * as E from 'fp-ts/Either';
import type { Cell } from './cell';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import { compile, type ParamValues } from './plan';
import { mulberry32 } from './random';
import { numel } from './shape';
import { unroll } from './unroll';

/** Options of {@link sample}. @since 0.1.0 @category model */
export interface SampleOptions {
  /** Symbol ids fed first (at least one). */
  readonly prompt: readonly number[];
  /** How many symbols to draw after the prompt. */
  readonly length: number;
  /** Divides the logits: < 1 sharper, > 1 more random (default 1). 0 takes the most likely symbol. */
  readonly temperature?: number;
  readonly seed?: number;
}

/**
 * Draws `length` symbol ids after `prompt` from a model trained with a readout of one logit per
 * symbol (`params` includes `readout.weight`, `readout.bias`); the cell's input size is the
 * vocabulary size (one-hot inputs).
 * @since 0.1.0
 * @category sampling
 */
export const sampleEither = (cell: Cell, params: ParamValues<string>, options: SampleOptions): E.Either<readonly LoopgradIssue[], number[]> => {
  const V = cell.inputSize;
  const temperature = options.temperature ?? 1;
  const bad: LoopgradIssue[] = [];
  if (!Array.isArray(options.prompt) || options.prompt.length === 0) bad.push(issue('OptionError', ['sample', 'prompt'], 'the prompt is empty; give at least one symbol id'));
  else {
    const k = options.prompt.findIndex((c) => !Number.isSafeInteger(c) || c < 0 || c >= V);
    if (k >= 0) bad.push(issue('OptionError', ['sample', 'prompt', String(k)], `prompt[${k}] is ${options.prompt[k]}; expected a symbol id in 0…${V - 1}`));
  }
  if (!Number.isSafeInteger(options.length) || options.length < 0) bad.push(issue('OptionError', ['sample', 'length'], `length is ${String(options.length)}; expected a non-negative integer`));
  if (!(typeof temperature === 'number' && temperature >= 0 && Number.isFinite(temperature))) bad.push(issue('OptionError', ['sample', 'temperature'], `temperature is ${String(temperature)}; expected a number ≥ 0`));
  const readout = (params as Record<string, ArrayLike<number>>)['readout.weight'];
  if (readout === undefined || readout.length !== V * (cell.outputSize)) {
    bad.push(issue('InputError', ['sample', 'params', 'readout.weight'], `readout.weight must be [${V}, ${cell.outputSize}]: one logit per symbol of the ${V}-symbol input`));
  }
  if (bad.length > 0) return E.left(bad);

  const step = compile(unroll(cell, { steps: 1, readout: { output: V } }), { batch: 1 });
  const x = new Float64Array(V), target = new Float64Array(V);
  let state: Record<string, Float64Array> = Object.fromEntries(cell.state.map((s) => [s.name, new Float64Array(numel(s.shape))]));
  const rand = mulberry32(options.seed ?? 0);
  const out: number[] = [];
  const feed = (id: number): Float64Array | LoopgradIssue[] => {
    x.fill(0);
    x[id] = 1;
    const r = step.forwardEither(params, { inputs: x, targets: target, initialState: state });
    if (E.isLeft(r)) return [...r.left];
    state = Object.fromEntries(Object.entries(r.right.finalState).map(([k, v]) => [k, Float64Array.from(v)]));
    return Float64Array.from(r.right.outputs);
  };
  let logits: Float64Array | LoopgradIssue[] = new Float64Array(V);
  for (const id of options.prompt) {
    logits = feed(id);
    if (!(logits instanceof Float64Array)) return E.left(logits);
  }
  for (let n = 0; n < options.length; n++) {
    const next = draw(logits as Float64Array, temperature, rand);
    out.push(next);
    logits = feed(next);
    if (!(logits instanceof Float64Array)) return E.left(logits);
  }
  return E.right(out);
};

/** One draw from softmax(logits / temperature) (the arg max at temperature 0). */
const draw = (logits: Float64Array, temperature: number, rand: () => number): number => {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  if (temperature === 0) return best;
  let total = 0;
  const p = Float64Array.from(logits, (z) => Math.exp((z - logits[best]!) / temperature)); // stable: max is e⁰
  for (const q of p) total += q;
  let u = rand() * total;
  for (let i = 0; i < p.length; i++) {
    u -= p[i]!;
    if (u < 0) return i;
  }
  return p.length - 1;
};

/**
 * {@link sampleEither}, throwing a `LoopgradError`.
 * @since 0.1.0
 * @category sampling
 */
export const sample = (cell: Cell, params: ParamValues<string>, options: SampleOptions): number[] => getOrThrow(sampleEither(cell, params, options));
