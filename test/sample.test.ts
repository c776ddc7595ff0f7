// Autoregressive sampling: greedy decoding continues a learnt pattern; draws follow
// softmax(y / temperature); seeded; bad options named.
import { describe, expect, it } from 'vitest';
import { builtin, charVocabulary, compile, formatIssues, init, loss, optim, sample, sampleEither, train, unroll } from '../src/index';

describe('sample', () => {
  const vocab = charVocabulary('abcd');
  const cell = builtin.lstm({ input: vocab.size, hidden: 8 });

  it('greedy (temperature 0) continues the pattern a trained model learnt', () => {
    const text = 'abcd'.repeat(40), T = 12, B = 8;
    const task = charVocabulary(text).windows(T, B, 1);
    const u = unroll(cell, { steps: T, readout: { output: vocab.size }, loss: loss.softmaxCrossEntropy() });
    const r = train(compile(u, { batch: B }), init(u, { seed: 1 }), { steps: 150, optimizer: optim.adam({ lr: 0.05 }), data: () => task.next() });
    expect(r.history.loss[r.steps - 1]).toBeLessThan(0.05 * T);
    expect(vocab.decode(sample(cell, r.params, { prompt: vocab.encode('ab'), length: 9, temperature: 0 }))).toBe('cdabcdabc');
  });

  it('draws follow softmax(y / temperature), and the same seed gives the same text', () => {
    const u = unroll(cell, { steps: 1, readout: { output: vocab.size } });
    const params = init(u, { seed: 4, range: 1.5 });
    const y = Float64Array.from(compile(u, { batch: 1 }).forward(params, { inputs: Float64Array.from([0, 1, 0, 0]), targets: new Float64Array(4) }).outputs);
    for (const temperature of [0.5, 2]) {
      const counts = new Float64Array(4);
      const N = 2000;
      for (let seed = 0; seed < N; seed++) counts[sample(cell, params, { prompt: [1], length: 1, temperature, seed })[0]!]++;
      const z = y.map((v) => Math.exp(v / temperature)), sum = z.reduce((a, b) => a + b);
      z.forEach((p, i) => expect(Math.abs(counts[i]! / N - p / sum)).toBeLessThan(4 * Math.sqrt((p / sum) * (1 - p / sum) / N) + 1e-3));
    }
    const a = sample(cell, params, { prompt: [0, 2], length: 30, seed: 9 }), b = sample(cell, params, { prompt: [0, 2], length: 30, seed: 9 });
    expect(a).toEqual(b);
    expect(sample(cell, params, { prompt: [0, 2], length: 30, seed: 10 })).not.toEqual(a);
  });

  it('bad options are named', () => {
    const params = init(unroll(cell, { steps: 1, readout: { output: vocab.size } }));
    const e = sampleEither(cell, params, { prompt: [7], length: -1, temperature: -1 });
    expect(e._tag === 'Left' && formatIssues(e.left)).toBe([
      'sample › prompt › 0: prompt[0] is 7; expected a symbol id in 0…3',
      'sample › length: length is -1; expected a non-negative integer',
      'sample › temperature: temperature is -1; expected a number ≥ 0',
    ].join('\n'));
  });
});
