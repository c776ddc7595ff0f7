// A user's own cell certified by every BPTT law in one vitest test (run by `npm test`).
import { test } from 'vitest';
import { defineCell, op } from 'loopgrad';
import { checkCell } from 'loopgrad/laws';

// IndRNN: h' = relu(W x + b + u ⊙ h), a recurrent weight per unit instead of a matrix
const indRnn = defineCell({
  name: 'indrnn',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({ W: [H, I], b: [H], u: [H] }),
  state: ({ hidden: H }) => ({ h: [H] }),
  step: (p, x, { h }) => {
    const hNext = op.relu(op.add(op.linear(p.W, x, p.b), op.mul(p.u, h)));
    return { state: { h: hNext }, output: hNext };
  },
});

test('IndRNN obeys every BPTT law', () => checkCell(indRnn, { sizes: { input: 3, hidden: 4 } }));
