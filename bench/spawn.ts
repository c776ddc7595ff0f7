/** Runs a child process that prints one JSON document per stdout line; forwards its stderr; kills it after a deadline, if given. (bench/run.ts and bench/compare share it.) */
import { spawn } from 'node:child_process';

export interface Lines {
  readonly lines: unknown[];
  readonly code: number | null;
  readonly signal: string | null;
  /** The child was killed at the deadline. */
  readonly timedOut: boolean;
  /** Output lines that were not JSON (forwarded to stderr too). */
  readonly other: string[];
}

export const spawnLines = (
  command: string,
  args: readonly string[],
  opts: { readonly cwd: string; readonly timeoutMs?: number; readonly label: string; readonly env?: NodeJS.ProcessEnv; readonly onLine?: (x: unknown) => void },
): Promise<Lines> =>
  new Promise((resolve) => {
    const child = spawn(command, [...args], { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: unknown[] = [];
    const other: string[] = [];
    let timedOut = false;
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      process.stderr.write(`bench: ${opts.label} still running after ${(opts.timeoutMs! / 1e3).toFixed(0)} s: killing it (pid ${child.pid})\n`);
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (line === '') continue;
        try {
          const x: unknown = JSON.parse(line);
          lines.push(x);
          opts.onLine?.(x);
        } catch {
          other.push(line);
          process.stderr.write(`${line}\n`);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ lines, code: null, signal: null, timedOut, other: [...other, `${e.name}: ${e.message}`] });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ lines, code, signal, timedOut, other });
    });
  });
