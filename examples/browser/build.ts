/**
 * Bundles the browser example into examples/browser/dist/: `main.js` (the page) and
 * `worker.js` (the training worker, a module worker), and the threads check's `threads.js` and
 * `threads-worker.js`, all importing loopgrad from its sources.
 *
 *   npx tsx examples/browser/build.ts
 */
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const here = fileURLToPath(new URL('.', import.meta.url));

/** Builds the two entry points; returns the output directory. */
export const buildExample = async (options: { readonly minify?: boolean } = {}): Promise<string> => {
  const outdir = `${here}dist`;
  await build({
    absWorkingDir: here,
    entryPoints: ['main.ts', 'worker.ts', 'threads.ts', 'threads-worker.ts'],
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    minify: options.minify ?? false,
    logLevel: 'warning',
  });
  return outdir;
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = await buildExample();
  console.log(`built ${outdir}/main.js, worker.js, threads.js and threads-worker.js`);
}
