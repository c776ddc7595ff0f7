// The laws entry point certifies the built-in cells and a user cell, and rejects a broken one.
import { describe, expect, it } from 'vitest';
import { builtin, primitives } from '../src/index';
import { checkCell } from './index';
import { mgu } from '../test/support/mgu';

describe('checkCell', () => {
  it('certifies a user-defined cell in one line', () => checkCell(mgu, { sizes: { input: 3, hidden: 5 } }));

  it('certifies the built-in cells', () => {
    for (const cell of [builtin.vanilla({ input: 2, hidden: 4 }), builtin.gru({ input: 2, hidden: 4 }), builtin.lstm({ input: 2, hidden: 4 })]) {
      checkCell(cell, { numRuns: 10 });
    }
  });

  it('fails, with a shrunk case and the report naming param, index and numbers, when a VJP is wrong', () => {
    const original = primitives.tanh.vjp;
    try {
      // d tanh(x) = (1 − y²) dx; the bug uses (1 − y) instead
      (primitives.tanh as { vjp: typeof original }).vjp = (v, g, s) => {
        const total = s.nb * s.outSize, d = s.gIn[0]!, gy = s.gOut, y = s.outOff;
        for (let i = 0; i < total; i++) g[d + i] += (1 - v[y + i]!) * g[gy + i]!;
      };
      let message = '';
      try {
        checkCell(mgu, { sizes: { input: 2, hidden: 3 }, numRuns: 20 });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/law 'gradient = finite differences \(full\)' fails for cell mgu/);
      expect(message).toMatch(/"steps":1,"batch":1/); // shrunk to the smallest case
      expect(message).toMatch(/FAILED[\s\S]*(W_h|b_h|inputs|initialState)\S*\[[\d, =tbi]+\]: analytic -?[\d.e-]+ vs numeric -?[\d.e-]+, relative error/);
    } finally {
      (primitives.tanh as { vjp: typeof original }).vjp = original;
    }
  });

  it('names the family when sizes are missing', () => {
    expect(() => checkCell(mgu)).toThrow(/give sizes to instantiate the cell family 'mgu'/);
  });
});
