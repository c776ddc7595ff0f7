/**
 * Combinators that build cells from cells: `stack` (layers, each feeding the next),
 * `residual` (output = input + the cell's output) and `bidirectional` (a forward and a
 * time-reversed cell whose per-step outputs are merged). Each result is again a `Cell`: plain
 * data, one step graph, serializable, printable and subject to the same laws.
 *
 * ```ts
 * const deep = stack(builtin.lstm({ input: 4, hidden: 16 }), builtin.gru({ input: 16, hidden: 8 }));
 * const skip = residual(builtin.gru({ input: 8, hidden: 8 }));
 * const both = bidirectional(builtin.lstm({ input: 4, hidden: 8 }), { merge: 'concat' });
 * ```
 * Names are prefixed by layer (`l0.weight_ih`, `l1.h`; `fwd.…`, `bwd.…`), so every param and
 * state field stays distinct.
 */
import * as E from 'fp-ts/Either';
import { cellPrimitives, replayStep, withCustoms, type Bidirectional, type Cell, type Merge } from './cell';
import { getOrThrow, issue, type LoopgradIssue } from './errors';
import type { VarId } from './ir';
import * as op from './op';
import type { CustomPrimitive } from './primitives/types';
import { Tracer, withTracer, type Sym, type Vec } from './trace';

/** Builds a composite cell: declares the layers' params and state under prefixes, runs `body`, checks what it returns. */
const compose = (
  name: string,
  layers: readonly { readonly cell: Cell; readonly prefix: string }[],
  inputSize: number,
  body: (x: Sym, bound: readonly { params: Sym[]; state: Sym[] }[]) => { state: Sym[]; output: Sym },
  extra: { readonly bidirectional?: Bidirectional } = {},
): E.Either<readonly LoopgradIssue[], Cell> => {
  const customs = new Map<string, CustomPrimitive>();
  for (const l of layers) {
    for (const [k, p] of cellPrimitives(l.cell)) {
      if (customs.has(k) && customs.get(k) !== p) return E.left([issue('CellSpecError', [name, l.prefix + k], `two different custom primitives are named '${k}'`)]);
      customs.set(k, p);
    }
  }
  const t = new Tracer([name, 'step'], customs);
  const params = layers.map((l) => l.cell.params.map((p) => ({ name: l.prefix + p.name, shape: p.shape, sym: t.input(p.shape, false, l.prefix + p.name) })));
  const x = t.input([inputSize], true, 'x');
  const state = layers.map((l) => l.cell.state.map((s) => ({ name: l.prefix + s.name, shape: s.shape, sym: t.input(s.shape, true, l.prefix + s.name) })));
  const out = withTracer(t, () => body(x, layers.map((_, k) => ({ params: params[k]!.map((p) => p.sym), state: state[k]!.map((s) => s.sym) }))));
  if (t.issues.length > 0) return E.left(t.issues);
  // every state field and the output must be a distinct var (as instantiate ensures for cells)
  const flatParams = params.flat(), flatState = state.flat();
  const inputCount = flatParams.length + 1 + flatState.length; // inputs are the first vars
  const seen = new Set<VarId>();
  const outputs = [...out.state, out.output].map((s, k) => {
    const id = k < out.state.length && (s.id < inputCount || seen.has(s.id)) ? t.emit('copy', {}, [s]).id : s.id;
    seen.add(id);
    return id;
  });
  const sizes = Object.fromEntries(layers.flatMap((l) => Object.entries(l.cell.sizes).map(([k, v]) => [l.prefix + k, v])));
  return E.right(withCustoms({
    format: 'loopgrad.cell/1',
    name,
    sizes,
    inputSize,
    outputSize: t.vars[out.output.id]!.shape[0]!,
    params: flatParams.map((p) => ({ name: p.name, shape: p.shape })),
    state: flatState.map((s) => ({ name: s.name, shape: s.shape })),
    graph: { vars: t.vars, eqns: t.eqns, inputs: [...flatParams.map((p) => p.sym.id), x.id, ...flatState.map((s) => s.sym.id)], outputs },
    ...extra,
  } as Cell, customs));
};

const noBidirectionalInside = (what: string, cells: readonly Cell[]): LoopgradIssue[] =>
  cells.flatMap((c, k) =>
    c.bidirectional !== undefined
      ? [issue('CellSpecError', [what, `layer ${k}`], `${c.name} is bidirectional: its output at t needs the whole sequence, so it can only be the outermost cell (bidirectional(stack(…)), not stack(bidirectional(…), …))`)]
      : []);

/**
 * Layers, each reading the previous one's output: layer k's input size must be layer k−1's
 * output size. Params and state fields are prefixed `l0.`, `l1.`, …
 * @since 0.1.0
 * @category combinators
 */
export const stackEither = (...cells: readonly Cell[]): E.Either<readonly LoopgradIssue[], Cell> => {
  const name = `stack(${cells.map((c) => c.name).join(', ')})`;
  if (cells.length === 0) return E.left([issue('CellSpecError', ['stack'], 'stack needs at least one cell')]);
  const bad = [
    ...noBidirectionalInside('stack', cells),
    ...cells.slice(1).flatMap((c, k) =>
      c.inputSize === cells[k]!.outputSize
        ? []
        : [issue('ShapeError', [name, `layer ${k + 1}`], `${c.name} takes inputs of size ${c.inputSize} but layer ${k} (${cells[k]!.name}) outputs ${cells[k]!.outputSize}`, 'stack')]),
  ];
  if (bad.length > 0) return E.left(bad);
  return compose(name, cells.map((cell, k) => ({ cell, prefix: `l${k}.` })), cells[0]!.inputSize, (x, bound) => {
    let input = x;
    const state: Sym[] = [];
    cells.forEach((cell, k) => {
      const r = replayStep(x.tracer, cell, bound[k]!.params, input, bound[k]!.state, (l) => `l${k}.${l}`);
      state.push(...r.state);
      input = r.output;
    });
    return { state, output: input };
  });
};

/** {@link stackEither}, throwing a `LoopgradError`. @since 0.1.0 @category combinators */
export const stack = (...cells: readonly Cell[]): Cell => getOrThrow(stackEither(...cells));

/**
 * y_t = x_t + cell(x_t): a skip connection around a cell whose output size equals its input
 * size. Names are the cell's own.
 * @since 0.1.0
 * @category combinators
 */
export const residualEither = (cell: Cell): E.Either<readonly LoopgradIssue[], Cell> => {
  const name = `residual(${cell.name})`;
  const bad = noBidirectionalInside('residual', [cell]);
  if (cell.inputSize !== cell.outputSize) {
    bad.push(issue('ShapeError', [name], `${cell.name} maps inputs of size ${cell.inputSize} to outputs of size ${cell.outputSize}; a residual needs them equal`, 'residual'));
  }
  if (bad.length > 0) return E.left(bad);
  return compose(name, [{ cell, prefix: '' }], cell.inputSize, (x, bound) => {
    const r = replayStep(x.tracer, cell, bound[0]!.params, x, bound[0]!.state, (l) => l);
    return { state: r.state, output: op.add(x as Vec, r.output as Vec) };
  });
};

/** {@link residualEither}, throwing a `LoopgradError`. @since 0.1.0 @category combinators */
export const residual = (cell: Cell): Cell => getOrThrow(residualEither(cell));

/** Options of {@link bidirectional}. @since 0.1.0 @category model */
export interface BidirectionalOptions {
  /** The cell run backward in time (default: another copy of the forward cell, with its own weights). */
  readonly backward?: Cell;
  /** concat: [o^f_t; o^b_t]; sum: o^f_t + o^b_t; mean: (o^f_t + o^b_t) / 2. Default concat. */
  readonly merge?: Merge;
}

/**
 * Runs `forward` over x_0 … x_{T−1} and `backward` over x_{T−1} … x_0, and merges their outputs
 * at each t. Params and state fields are prefixed `fwd.` and `bwd.`. The result must be the
 * outermost cell (it cannot be stacked under another one) and cannot be masked; laws 4 and 5
 * (the loop and continuation) do not apply to it: its output at t depends on the future.
 * @since 0.1.0
 * @category combinators
 */
export const bidirectionalEither = (forward: Cell, options: BidirectionalOptions = {}): E.Either<readonly LoopgradIssue[], Cell> => {
  const backward = options.backward ?? forward;
  const merge = options.merge ?? 'concat';
  const name = `bidirectional(${forward.name}, ${backward.name}, ${merge})`;
  const bad = noBidirectionalInside('bidirectional', [forward, backward]);
  if (merge !== 'concat' && merge !== 'sum' && merge !== 'mean') bad.push(issue('OptionError', [name, 'merge'], `merge is ${String(merge)}; expected 'concat', 'sum' or 'mean'`));
  if (backward.inputSize !== forward.inputSize) {
    bad.push(issue('ShapeError', [name], `the backward cell takes inputs of size ${backward.inputSize} but the forward one ${forward.inputSize}`, 'bidirectional'));
  }
  if (merge !== 'concat' && backward.outputSize !== forward.outputSize) {
    bad.push(issue('ShapeError', [name], `merge '${merge}' needs equal output sizes, got ${forward.outputSize} (forward) and ${backward.outputSize} (backward)`, 'bidirectional'));
  }
  if (bad.length > 0) return E.left(bad);
  const I = forward.inputSize;
  return compose(name, [{ cell: forward, prefix: 'fwd.' }, { cell: backward, prefix: 'bwd.' }], 2 * I, (x, bound) => {
    const f = replayStep(x.tracer, forward, bound[0]!.params, op.slice(x as Vec, 0, I), bound[0]!.state, (l) => `fwd.${l}`);
    const b = replayStep(x.tracer, backward, bound[1]!.params, op.slice(x as Vec, I, I), bound[1]!.state, (l) => `bwd.${l}`);
    return { state: [...f.state, ...b.state], output: op.concat(f.output as Vec, b.output as Vec) };
  }, { bidirectional: { merge, forward: forward.outputSize, backward: backward.outputSize } });
};

/** {@link bidirectionalEither}, throwing a `LoopgradError`. @since 0.1.0 @category combinators */
export const bidirectional = (forward: Cell, options: BidirectionalOptions = {}): Cell => getOrThrow(bidirectionalEither(forward, options));
