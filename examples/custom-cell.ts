import { defineCell, getOrThrow, gradcheck, formatGradcheck, init, op, unroll } from 'loopgrad';

// Minimal gated unit: f = σ(W_f [x; h] + b_f), h' = (1 − f) ⊙ h + f ⊙ tanh(W_h [x; f ⊙ h] + b_h)
const mgu = defineCell({
  name: 'mgu',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({ W_f: [H, I + H], b_f: [H], W_h: [H, I + H], b_h: [H] }),
  state: ({ hidden: H }) => ({ h: [H] }),
  step: (p, x, { h }) => {
    const f = op.sigmoid(op.add(op.matvec(p.W_f, op.concat(x, h)), p.b_f));
    const n = op.tanh(op.add(op.matvec(p.W_h, op.concat(x, op.mul(f, h))), p.b_h));
    const hNext = op.add(op.mul(op.oneMinus(f), h), op.mul(f, n));
    return { state: { h: hNext }, output: hNext };
  },
});

const cell = getOrThrow(mgu.instantiate({ input: 3, hidden: 8 }));
const graph = unroll(cell, { steps: 20, readout: { output: 2 } });
const batch = { inputs: Float64Array.from({ length: 20 * 4 * 3 }, (_, i) => Math.sin(i)), targets: new Float64Array(20 * 4 * 2) };
console.log(formatGradcheck(gradcheck(graph, init(graph, { seed: 1 }), batch, { inputs: false })));
