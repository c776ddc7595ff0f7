// The built package: `npm run build` emits ESM, CJS and types for both entry points and the CLI,
// and `require('loopgrad')` / `import('loopgrad')` (and `loopgrad/laws`) load and work.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the built package', () => {
  beforeAll(() => {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' });
  }, 180_000);

  it('emits ESM, CJS and declarations for loopgrad and loopgrad/laws, and the CLI', () => {
    for (const f of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts', 'laws.js', 'laws.cjs', 'laws.d.ts', 'laws.d.cts', 'cli.cjs']) {
      expect(existsSync(`${root}/dist/${f}`), f).toBe(true);
    }
    expect(readFileSync(`${root}/dist/cli.cjs`, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });

  const program = `
    const u = L.unroll(L.builtin.lstm({ input: 2, hidden: 3 }), { steps: 4, readout: { output: 1 } });
    const r = L.compile(u, { batch: 2 }).valueAndGrad(L.init(u, { seed: 1 }), { inputs: new Float64Array(16).fill(0.5), targets: new Float64Array(8) });
    laws.checkCell(L.builtin.gru({ input: 2, hidden: 2 }), { numRuns: 3 }); // every law, from the built entry
    let caught = '';
    const wrong = L.definePrimitive({ name: 'twice', arity: 1, shape: (ins) => ins[0].shape,
      saves: { inputs: false, output: false },
      forward: (v, s) => { for (let i = 0; i < s.nb * s.outSize; i++) v[s.outOff + i] = 2 * v[s.inOff[0] + i]; },
      vjp: (v, g, s) => { for (let i = 0; i < s.nb * s.outSize; i++) g[s.gIn[0] + i] += 3 * g[s.gOut + i]; }, // wrong: 3, not 2
      jvp: (v, t, s) => { for (let i = 0; i < s.nb * s.outSize; i++) t[s.outOff + i] = 2 * t[s.inOff[0] + i]; } });
    try { laws.checkPrimitive(wrong, { numRuns: 5 }); } catch (e) { caught = e.message.match(/law '[^']+'/)[0]; }
    console.log(JSON.stringify({ loss: r.loss, n: r.grads.weight_hh.length, caught }));`;

  it('require() loads both entry points and computes', () => {
    const out = JSON.parse(node(['-e', `const L = require('loopgrad'); const laws = require('loopgrad/laws');${program}`]));
    expect(out.n).toBe(36); // weight_hh is [4·3, 3]
    expect(Number.isFinite(out.loss)).toBe(true);
    expect(out.caught).toBe("law 'gradient = finite differences (graph)'");
  });

  it('import() loads both entry points and gives the same numbers', () => {
    const esm = JSON.parse(node(['--input-type=module', '-e', `const L = await import('loopgrad'); const laws = await import('loopgrad/laws');${program}`]));
    const cjs = JSON.parse(node(['-e', `const L = require('loopgrad'); const laws = require('loopgrad/laws');${program}`]));
    expect(esm).toEqual(cjs);
  });

  it('startThreads runs from both builds: a threaded plan gives the same gradients as a plain one', () => {
    const threaded = `
      const pool = await L.startThreads({ threads: 2, minFlops: 0 });
      const u = L.unroll(L.builtin.gru({ input: 3, hidden: 5 }), { steps: 3, readout: { output: 2 } });
      const params = L.init(u, { seed: 2 }), batch = { inputs: new Float64Array(36).fill(0.3), targets: new Float64Array(24).fill(-0.2) };
      const plan = L.compile(u, { batch: 4, threads: pool });
      const a = Array.from(plan.valueAndGrad(params, batch).grads.weight_hh);
      const b = Array.from(L.compile(u, { batch: 4 }).valueAndGrad(params, batch).grads.weight_hh);
      console.log(JSON.stringify({ threads: plan.threads, same: a.every((x, i) => Object.is(x, b[i])) }));
      await pool.close();`;
    const esm = JSON.parse(node(['--input-type=module', '-e', `const L = await import('loopgrad');${threaded}`]));
    const cjs = JSON.parse(node(['-e', `const L = require('loopgrad'); (async () => {${threaded}})();`]));
    expect(esm).toEqual({ threads: 2, same: true });
    expect(cjs).toEqual({ threads: 2, same: true });
  });

  it('the loopgrad binary runs', () => {
    expect(node(['dist/cli.cjs', 'help'])).toMatch(/^usage: loopgrad <command>/);
    expect(node(['bin/loopgrad.cjs', 'help'])).toMatch(/^usage: loopgrad <command>/);
  });
});
