// A user-defined cell (not built in), written with the public API only: the minimal gated unit.
import { defineCell, op } from '../../src/index';

// h' = (1 − f) ⊙ h + f ⊙ tanh(W_h [x; f ⊙ h] + b_h),  f = σ(W_f [x; h] + b_f)
export const mgu = defineCell({
  name: 'mgu',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({
    W_f: [H, I + H], b_f: [H],
    W_h: [H, I + H], b_h: [H],
  }),
  state: ({ hidden: H }) => ({ h: [H] }),
  step: (p, x, { h }) => {
    const f = op.name(op.sigmoid(op.add(op.matvec(p.W_f, op.concat(x, h)), p.b_f)), 'f');
    const n = op.tanh(op.add(op.matvec(p.W_h, op.concat(x, op.mul(f, h))), p.b_h));
    const hNext = op.add(op.mul(op.oneMinus(f), h), op.mul(f, n));
    return { state: { h: hNext }, output: hNext };
  },
});
