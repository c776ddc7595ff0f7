#!/usr/bin/env node
// The `loopgrad` command: runs the built CLI (dist/cli.cjs); in a source checkout that has not
// been built (e.g. installed with --ignore-scripts), runs the TypeScript sources through tsx.
'use strict';
const { existsSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'cli.cjs');
if (existsSync(built)) {
  require(built);
} else {
  const { spawnSync } = require('node:child_process');
  let tsx;
  try {
    tsx = require.resolve('tsx/cli', { paths: [root] });
  } catch {
    process.stderr.write('loopgrad: the package is not built (no dist/cli.cjs) and tsx is not installed: run `npm run build`\n');
    process.exit(2);
  }
  const r = spawnSync(process.execPath, [tsx, path.join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exitCode = r.status ?? 1;
}
