// vjpOf / jvpOf on graphs whose outputs are also inputs, or listed twice: the seeds a caller
// writes on such outputs must reach the inputs' cotangents, not be zeroed by the reverse walk.
import { describe, expect, it } from 'vitest';
import { defineCell, getOrThrow, jvpOf, op, vjpOf } from '../src/index';

// new state tanh(W [x; h] + b); the output is the OLD state h, an input of the step graph
const lagged = getOrThrow(defineCell({
  name: 'lagged',
  sizes: ['input', 'hidden'],
  params: ({ input: I, hidden: H }) => ({ W: [H, I + H], b: [H] }),
  state: ({ hidden: H }) => ({ h: [H] }),
  step: (p, x, { h }) => ({ state: { h: op.tanh(op.linear(p.W, op.concat(x, h), p.b)) }, output: h }),
}).instantiate({ input: 2, hidden: 3 }));

describe('vjpOf', () => {
  const B = 2;
  const primals = [
    Float64Array.from({ length: 15 }, (_, i) => Math.sin(i)), // W [3, 5]
    Float64Array.from([0.1, -0.2, 0.3]), // b
    Float64Array.from({ length: B * 2 }, (_, i) => Math.cos(i)), // x
    Float64Array.from({ length: B * 3 }, (_, i) => 0.1 * i - 0.2), // h
  ];

  it('passes an output cotangent straight to the input that is that output', () => {
    expect(lagged.graph.outputs[1]).toBe(lagged.graph.inputs[3]); // the output var is the input h
    const onOutput = Float64Array.from({ length: B * 3 }, (_, i) => i + 1);
    const r = vjpOf(lagged.graph, { batch: B })(primals, [new Float64Array(B * 3), onOutput]);
    expect(Array.from(r.cotangents[3]!)).toEqual(Array.from(onOutput));
    expect(r.cotangents[0]!.every((g) => g === 0)).toBe(true); // nothing reaches W through the state
  });

  it('adds that seed to what flows back through the graph, and agrees with jvpOf', () => {
    const v = [Float64Array.from({ length: B * 3 }, (_, i) => 0.5 - 0.1 * i), Float64Array.from({ length: B * 3 }, (_, i) => i + 1)];
    const u = primals.map((p) => Float64Array.from(p, (_, i) => Math.cos(3 * i + p.length)));
    const jtv = vjpOf(lagged.graph, { batch: B })(primals, v).cotangents;
    const ju = jvpOf(lagged.graph, { batch: B })(primals, u).tangents;
    const dot = (a: readonly Float64Array[], b: readonly Float64Array[]) => a.reduce((s, x, k) => s + x.reduce((t, y, i) => t + y * b[k]![i]!, 0), 0);
    expect(dot(jtv, u)).toBeCloseTo(dot(v, ju), 12);
    // the state part alone (output cotangent zero) differs from the total by exactly the seed
    const stateOnly = vjpOf(lagged.graph, { batch: B })(primals, [v[0]!, new Float64Array(B * 3)]).cotangents[3]!;
    jtv[3]!.forEach((g, i) => expect(g).toBeCloseTo(stateOnly[i]! + v[1]![i]!, 14));
  });
});
