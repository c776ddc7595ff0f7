/**
 * One cell on the adding problem (T = 100): run by the demo as a child process so two cells
 * train at once on two cores. Prints JSON lines on stdout: `{"progress": …}` while training,
 * then `{"result": …}`. Usage: tsx examples/demo/adding.ts <tanh|irnn|gru|lstm> [--quick]
 */
import {
  addingProblem, builtin, compile, gradientFlow, init, initWith, optim, train, unroll, type Cell,
} from 'loopgrad';

export type CellName = 'tanh' | 'irnn' | 'gru' | 'lstm';

/** Each cell with about 1,000–1,300 parameters, and the settings it trains with. */
export const setups: Readonly<Record<CellName, { readonly label: string; readonly hidden: number; readonly lr: number; readonly steps: number }>> = {
  tanh: { label: 'tanh RNN', hidden: 32, lr: 1e-3, steps: 1500 },
  irnn: { label: 'IRNN (relu, W_hh = I)', hidden: 32, lr: 1e-3, steps: 2000 },
  gru: { label: 'GRU', hidden: 16, lr: 1e-2, steps: 1000 },
  lstm: { label: 'LSTM (forget bias 1)', hidden: 16, lr: 1e-2, steps: 1500 },
};

export const T = 100, B = 32;

/** What a run reports. */
export interface AddingResult {
  readonly cell: CellName;
  readonly params: number;
  readonly steps: number;
  /** Training loss, averaged over windows of 50 steps. */
  readonly curve: number[];
  /** ½-MSE and accuracy (|y − target| < 0.04) on 8 held-out batches. */
  readonly testLoss: number;
  readonly accuracy: number;
  /** ‖∂E_T/∂h_t‖, t = 0 … T−1, at initialisation and after training. */
  readonly flowAtInit: number[];
  readonly flowTrained: number[];
  readonly msPerStep: number;
}

const cellOf = (name: CellName, H: number): Cell =>
  name === 'gru' ? builtin.gru({ input: 2, hidden: H })
    : name === 'lstm' ? builtin.lstm({ input: 2, hidden: H })
      : builtin.vanilla({ input: 2, hidden: H, nonlinearity: name === 'irnn' ? 'relu' : 'tanh' });

const run = (name: CellName, quick: boolean): AddingResult => {
  const s = setups[name];
  const steps = quick ? 20 : s.steps;
  const cell = cellOf(name, s.hidden);
  const u = unroll(cell, { steps: T, readout: { output: 1 }, lossAt: 'last' });
  const params0 = name === 'irnn' ? initWith(u, 'irnn', { seed: 1 }) : name === 'lstm' ? initWith(u, 'pytorch', { seed: 1, forgetBias: 1 }) : init(u, { seed: 1 });
  const plan = compile(u, { batch: B });
  const probe = addingProblem(T, B, 999).next();
  const flowAtInit = Array.from(gradientFlow(u, params0, probe, { batch: B }).last['h']!);
  const task = addingProblem(T, B, 7);
  const curve: number[] = [];
  let window = 0;
  const start = performance.now();
  const r = train(plan, params0, {
    steps, optimizer: optim.adam({ lr: s.lr }), clipNorm: 1, data: () => task.next(),
    onStep: (info) => {
      window += info.loss;
      if (info.step % 50 === 0 || info.step === steps) {
        curve.push(window / (info.step % 50 || 50));
        window = 0;
      }
      if (info.step % 10 === 0 || info.step === steps) process.stdout.write(`${JSON.stringify({ progress: { cell: name, step: info.step, steps, loss: curve.at(-1) ?? info.loss } })}\n`);
    },
  });
  const msPerStep = (performance.now() - start) / r.steps;
  // held out: 8 batches from another seed
  const test = addingProblem(T, B, 12345);
  let testLoss = 0, hits = 0;
  for (let k = 0; k < 8; k++) {
    const batch = test.next();
    const f = plan.forward(r.params, batch);
    testLoss += f.loss / 8;
    for (let b = 0; b < B; b++) if (Math.abs(f.outputs[(T - 1) * B + b]! - batch.targets[(T - 1) * B + b]!) < 0.04) hits++;
  }
  const flowTrained = Array.from(gradientFlow(u, r.params, probe, { batch: B }).last['h']!);
  const params = Object.values<Float64Array>(r.params).reduce((n, p) => n + p.length, 0);
  return { cell: name, params, steps: r.steps, curve, testLoss, accuracy: hits / (8 * B), flowAtInit, flowTrained, msPerStep };
};

const [name, flag] = process.argv.slice(2);
if (name !== undefined && name in setups) process.stdout.write(`${JSON.stringify({ result: run(name as CellName, flag === '--quick') })}\n`);
