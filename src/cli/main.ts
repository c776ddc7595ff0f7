#!/usr/bin/env node
/** The `loopgrad` executable: wires {@link runCliAsync} to the process. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runCliAsync } from './run';

void runCliAsync(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readFile: (p) => readFileSync(p, 'utf8'),
  writeFile: (p, text) => {
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  },
  stderrIsTTY: process.stderr.isTTY === true,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`loopgrad: internal: ${err instanceof Error ? err.message : String(err)}\n(this is a bug in loopgrad; please report it with the command line)\n`);
    process.exitCode = 70;
  },
);
