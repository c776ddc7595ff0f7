// Hand-written vanilla/GRU/LSTM loops on the scalar engine: a slow, by-eye-checkable oracle for BPTT gradients.
import { Scalar, add, backward, mul, relu, scalar, scale, sigmoid, sub, sum, tanh } from './scalar.js';

export interface RefModel {
  cell: 'vanilla' | 'gru' | 'lstm';
  nonlinearity?: 'tanh' | 'relu'; // vanilla only, default 'tanh'
  inputSize: number;
  hiddenSize: number;
  outputSize: number;
  /** PyTorch state_dict names and layouts (one-layer nn.RNN/GRU/LSTM + nn.Linear "readout"). */
  params: Record<string, number[] | number[][]>;
}
export interface RefData {
  inputs: number[][][]; // [T][B][I]
  targets: number[][][]; // [T][B][O]
}
export interface RefResult {
  loss: number;
  /** d loss / d every param (same shapes as params) plus "inputs" ([T][B][I]). */
  grads: Record<string, number[] | number[][] | number[][][]>;
  /** [T]: Frobenius norm over [B, H] of the total d loss / d h_t (through all later steps too). */
  dLoss_dh_norm: number[];
}

/** The whole unrolled graph, exposed so tests can read forward values (e.g. y_t) next to grads. */
export interface RefGraph {
  loss: Scalar;
  params: {
    weight_ih_l0: Scalar[][];
    weight_hh_l0: Scalar[][];
    bias_ih_l0: Scalar[];
    bias_hh_l0: Scalar[];
    'readout.weight': Scalar[][];
    'readout.bias': Scalar[];
  };
  inputs: Scalar[][][]; // [T][B][I]
  hidden: Scalar[][][]; // [T][B][H], h_t = state after input t
  outputs: Scalar[][][]; // [T][B][O], y_t = readout(h_t)
}

/** Row blocks per cell, in PyTorch's order. */
const GATES = { vanilla: 1, gru: 3, lstm: 4 } as const;
const [GRU_R, GRU_Z, GRU_N] = [0, 1, 2] as const;
const [LSTM_I, LSTM_F, LSTM_G, LSTM_O] = [0, 1, 2, 3] as const;

export function referenceGrad(model: RefModel, data: RefData): RefResult {
  const graph = buildReferenceGraph(model, data);
  backward(graph.loss);

  const p = graph.params;
  const grads = {
    weight_ih_l0: p.weight_ih_l0.map(gradsOf),
    weight_hh_l0: p.weight_hh_l0.map(gradsOf),
    bias_ih_l0: gradsOf(p.bias_ih_l0),
    bias_hh_l0: gradsOf(p.bias_hh_l0),
    'readout.weight': p['readout.weight'].map(gradsOf),
    'readout.bias': gradsOf(p['readout.bias']),
    inputs: graph.inputs.map((step) => step.map(gradsOf)),
  };
  // The h_t scalars are single nodes used by both the readout and step t+1, so after backward
  // their .grad is already the total derivative, including every path through later steps.
  const dLoss_dh_norm = graph.hidden.map((hB) =>
    Math.sqrt(hB.flat().reduce((acc, h) => acc + h.grad * h.grad, 0)),
  );
  return { loss: graph.loss.data, grads, dLoss_dh_norm };
}

export function buildReferenceGraph(model: RefModel, data: RefData): RefGraph {
  const { inputSize: I, hiddenSize: H, outputSize: O } = model;
  const GH = GATES[model.cell] * H;
  const W_ih = matrixParam(model, 'weight_ih_l0', GH, I);
  const W_hh = matrixParam(model, 'weight_hh_l0', GH, H);
  const b_ih = vectorParam(model, 'bias_ih_l0', GH);
  const b_hh = vectorParam(model, 'bias_hh_l0', GH);
  const W_out = matrixParam(model, 'readout.weight', O, H);
  const b_out = vectorParam(model, 'readout.bias', O);
  const act = model.nonlinearity === 'relu' ? relu : tanh;

  // Pre-activation pieces of unit j of gate block `gate`: the x-side and h-side are kept apart
  // because GRU's candidate multiplies only the h-side by r.
  const xSide = (gate: number, j: number, x: Scalar[]): Scalar =>
    add(dot(at(W_ih, gate * H + j), x), at(b_ih, gate * H + j)); // W_i· x + b_i·
  const hSide = (gate: number, j: number, h: Scalar[]): Scalar =>
    add(dot(at(W_hh, gate * H + j), h), at(b_hh, gate * H + j)); // W_h· h + b_h·
  const pre = (gate: number, j: number, x: Scalar[], h: Scalar[]): Scalar =>
    add(xSide(gate, j, x), hSide(gate, j, h));

  const inputs = data.inputs.map((step) => step.map((x) => x.map(scalar)));
  const B = inputs[0]?.length ?? 0;
  const zeros = (): Scalar[] => Array.from({ length: H }, () => scalar(0));
  let h: Scalar[][] = Array.from({ length: B }, zeros); // h_0 = 0 for every example
  let c: Scalar[][] = Array.from({ length: B }, zeros); // c_0 = 0 (LSTM only)

  const hidden: Scalar[][][] = [];
  const outputs: Scalar[][][] = [];
  const squaredErrors: Scalar[] = [];
  for (const [t, xB] of inputs.entries()) {
    const hNext: Scalar[][] = [];
    const cNext: Scalar[][] = [];
    for (const [b, x] of xB.entries()) {
      const hb = at(h, b);
      const cb = at(c, b);
      const hOut: Scalar[] = [];
      const cOut: Scalar[] = [];
      for (let j = 0; j < H; j++) {
        if (model.cell === 'vanilla') {
          hOut.push(act(pre(0, j, x, hb))); // h' = act(W_ih x + b_ih + W_hh h + b_hh)
        } else if (model.cell === 'gru') {
          const r = sigmoid(pre(GRU_R, j, x, hb));
          const z = sigmoid(pre(GRU_Z, j, x, hb));
          const n = tanh(add(xSide(GRU_N, j, x), mul(r, hSide(GRU_N, j, hb)))); // n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
          hOut.push(add(mul(sub(scalar(1), z), n), mul(z, at(hb, j)))); // h' = (1 − z) ⊙ n + z ⊙ h
        } else {
          const i = sigmoid(pre(LSTM_I, j, x, hb));
          const f = sigmoid(pre(LSTM_F, j, x, hb));
          const g = tanh(pre(LSTM_G, j, x, hb));
          const o = sigmoid(pre(LSTM_O, j, x, hb));
          const cj = add(mul(f, at(cb, j)), mul(i, g)); // c' = f ⊙ c + i ⊙ g
          cOut.push(cj);
          hOut.push(mul(o, tanh(cj))); // h' = o ⊙ tanh(c')
        }
      }
      hNext.push(hOut);
      cNext.push(cOut);
    }
    h = hNext;
    c = cNext;
    hidden.push(h);

    // y_t = W_out h_t + b_out; its squared error against the target joins the loss.
    const yB = h.map((hb) => W_out.map((row, o) => add(dot(row, hb), at(b_out, o))));
    outputs.push(yB);
    for (const [b, y] of yB.entries()) {
      const target = at(at(data.targets, t), b);
      for (const [o, yo] of y.entries()) {
        const diff = sub(yo, scalar(at(target, o)));
        squaredErrors.push(mul(diff, diff));
      }
    }
  }
  // loss = Σ_t (1/(2B)) Σ_b ‖y_{t,b} − target_{t,b}‖²
  const loss = scale(sum(squaredErrors), 1 / (2 * B));

  const params = {
    weight_ih_l0: W_ih,
    weight_hh_l0: W_hh,
    bias_ih_l0: b_ih,
    bias_hh_l0: b_hh,
    'readout.weight': W_out,
    'readout.bias': b_out,
  };
  return { loss, params, inputs, hidden, outputs };
}

/** Σ_k w[k] v[k] */
function dot(w: readonly Scalar[], v: readonly Scalar[]): Scalar {
  return sum(w.map((wk, k) => mul(wk, at(v, k))));
}

function gradsOf(xs: readonly Scalar[]): number[] {
  return xs.map((x) => x.grad);
}

function isMatrix(p: number[] | number[][]): p is number[][] {
  return p.every((row) => Array.isArray(row));
}

function isVector(p: number[] | number[][]): p is number[] {
  return p.every((v) => typeof v === 'number');
}

/** xs[i], or a clear error instead of a silent `undefined` (e.g. ragged data). */
function at<T>(xs: readonly T[], i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`reference rnn: index ${i} out of range (length ${xs.length})`);
  return x;
}

function matrixParam(model: RefModel, name: string, rows: number, cols: number): Scalar[][] {
  const p = model.params[name];
  if (p === undefined) throw new Error(`reference rnn: missing param "${name}"`);
  if (!isMatrix(p) || p.length !== rows || p.some((row) => row.length !== cols)) throw new Error(`reference rnn: param "${name}" must have shape [${rows}][${cols}]`);
  return p.map((row) => row.map(scalar));
}

function vectorParam(model: RefModel, name: string, length: number): Scalar[] {
  const p = model.params[name];
  if (p === undefined) throw new Error(`reference rnn: missing param "${name}"`);
  if (!isVector(p) || p.length !== length) throw new Error(`reference rnn: param "${name}" must have shape [${length}]`);
  return p.map(scalar);
}
