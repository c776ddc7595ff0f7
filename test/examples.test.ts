// The examples the README shows keep working and keep printing what the README says.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (file: string): string => execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });

describe('examples', () => {
  it('custom-cell.ts: a user cell passes gradcheck with the output shown in the README', () => {
    expect(run('examples/custom-cell.ts')).toMatch(/^gradcheck \(full, float64, rtol 0\.000001, atol 1e-8\): ok, 210 entries, max relative error \d\.\d\de-\d+\n$/);
  });
});
