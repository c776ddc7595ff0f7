/**
 * The built-in cells, written with the public DSL only (no private fast path), following
 * PyTorch's equations, gate order and parameter layout, so a PyTorch `nn.RNN` / `nn.GRU` /
 * `nn.LSTM` state_dict loads as it is:
 * - `weight_ih` [G·H, I], `weight_hh` [G·H, H], `bias_ih` [G·H], `bias_hh` [G·H], gate blocks
 *   stacked row-wise (GRU: r, z, n; LSTM: i, f, g, o), so all gates share one matvec each.
 */
import { defineCell, type Cell } from './cell';
import { getOrThrow } from './errors';
import * as op from './op';
import type { Vec } from './trace';

/** Sizes of the built-in cells. @since 0.1.0 @category model */
export interface RnnSizes {
  readonly input: number;
  readonly hidden: number;
}

/** The Elman cell h' = act(W_ih x + b_ih + W_hh h + b_hh) for a nonlinearity `act`. */
const elman = (name: string, act: (z: Vec) => Vec) =>
  defineCell({
    name,
    sizes: ['input', 'hidden'],
    params: ({ input: I, hidden: H }) => ({ weight_ih: [H, I], weight_hh: [H, H], bias_ih: [H], bias_hh: [H] }),
    state: ({ hidden: H }) => ({ h: [H] }),
    step: (p, x, { h }) => {
      const next = act(op.add(op.linear(p.weight_ih, x, p.bias_ih), op.linear(p.weight_hh, h, p.bias_hh)));
      return { state: { h: next }, output: next };
    },
  });

/** h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (Elman). @since 0.1.0 @category cells */
export const vanillaTanh = elman('vanilla', op.tanh);

/** h' = relu(W_ih x + b_ih + W_hh h + b_hh) (with identity W_hh: the IRNN). @since 0.1.0 @category cells */
export const vanillaRelu = elman('vanilla_relu', op.relu);

/**
 * GRU, PyTorch's form (gate order r, z, n):
 * r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 * @since 0.1.0
 * @category cells
 */
export const gru = defineCell({
  name: 'gru',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({ weight_ih: [3 * H, I], weight_hh: [3 * H, H], bias_ih: [3 * H], bias_hh: [3 * H] }),
  state: ({ hidden: H }) => ({ h: [H] }),
  step: (p, x, { h }) => {
    const [xr, xz, xn] = op.chunk(op.linear(p.weight_ih, x, p.bias_ih), 3);
    const [hr, hz, hn] = op.chunk(op.linear(p.weight_hh, h, p.bias_hh), 3);
    const r = op.name(op.sigmoid(op.add(xr, hr)), 'r');
    const z = op.name(op.sigmoid(op.add(xz, hz)), 'z');
    const n = op.name(op.tanh(op.add(xn, op.mul(r, hn))), 'n');
    const next = op.add(op.mul(op.oneMinus(z), n), op.mul(z, h));
    return { state: { h: next }, output: next };
  },
});

/**
 * LSTM, PyTorch's form (gate order i, f, g, o): i, f, o = σ(·), g = tanh(·),
 * c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c'); the output is h'.
 * @since 0.1.0
 * @category cells
 */
export const lstm = defineCell({
  name: 'lstm',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({ weight_ih: [4 * H, I], weight_hh: [4 * H, H], bias_ih: [4 * H], bias_hh: [4 * H] }),
  state: ({ hidden: H }) => ({ h: [H], c: [H] }),
  step: (p, x, { h, c }) => {
    const gates = op.add(op.linear(p.weight_ih, x, p.bias_ih), op.linear(p.weight_hh, h, p.bias_hh));
    const [gi, gf, gg, go] = op.chunk(gates, 4);
    const i = op.name(op.sigmoid(gi), 'i'), f = op.name(op.sigmoid(gf), 'f'), g = op.name(op.tanh(gg), 'g'), o = op.name(op.sigmoid(go), 'o');
    const cNext = op.add(op.mul(f, c), op.mul(i, g));
    const hNext = op.mul(o, op.tanh(cNext));
    return { state: { h: hNext, c: cNext }, output: hNext };
  },
});

/** Parameter names of the built-in cells (PyTorch's, without the `_l0` layer suffix). @since 0.1.0 @category model */
export type RnnParam = 'weight_ih' | 'weight_hh' | 'bias_ih' | 'bias_hh';

/**
 * The built-in cells at given sizes. These cannot have shape errors; invalid sizes (not
 * positive integers) throw a {@link LoopgradError} naming the size. Use the families above
 * (`lstm.instantiate(sizes)`) for an `Either` instead.
 * @since 0.1.0
 * @category constructors
 */
export const builtin = {
  vanilla: ({ nonlinearity, ...sizes }: RnnSizes & { readonly nonlinearity?: 'tanh' | 'relu' }): Cell<RnnParam, 'h'> =>
    getOrThrow((nonlinearity === 'relu' ? vanillaRelu : vanillaTanh).instantiate(sizes)),
  gru: ({ input, hidden }: RnnSizes): Cell<RnnParam, 'h'> => getOrThrow(gru.instantiate({ input, hidden })),
  lstm: ({ input, hidden }: RnnSizes): Cell<RnnParam, 'h' | 'c'> => getOrThrow(lstm.instantiate({ input, hidden })),
};
