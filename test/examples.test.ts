// The examples the README shows keep working and keep printing what the README says.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string, ...args: string[]): string => execFileSync(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, encoding: 'utf8' });

describe('examples', () => {
  it('custom-cell.ts: a user cell passes gradcheck with the output shown in the README', () => {
    expect(run('examples/custom-cell.ts')).toMatch(/^gradcheck \(full, float64, rtol 0\.000001, atol 1e-8\): ok, 210 entries, max relative error \d\.\d\de-\d+\n$/);
  });

  it('demo.ts --quick: each part runs a few steps and prints its table; the plots are written', () => {
    const out = run('examples/demo.ts', '--quick');
    for (const cell of ['tanh RNN', 'IRNN (relu, W_hh = I)', 'GRU', 'LSTM (forget bias 1)']) {
      expect(out).toMatch(new RegExp(`\\n   ${cell.replace(/[()]/g, '\\$&')} +\\d+ +\\d+ +20 +[\\d.]+ +[\\d.e-]+ +[\\d.]+% +(yes|no) `));
    }
    expect(out).toMatch(/without clipping: loss [\d.]+ at step 1, ‖∇E‖ [\d.e+]+ at step 1; diverged at step 2/);
    expect(out).toMatch(/clipped to norm 1: loss [\d.]+ at step 1 → [\d.]+ at step 20, every step finite/);
    expect(out).toMatch(/char-LSTM  done: loss\/char [\d.]+ → [\d.]+/);
    for (const f of ['flow.svg', 'flow-init.svg', 'adding-loss.svg', 'clipping.svg']) {
      expect(readFileSync(`${root}demo-out/${f}`, 'utf8')).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\s*$/);
    }
  }, 120_000);
});
