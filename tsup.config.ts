import { defineConfig } from 'tsup';

// Library entry points (ESM + CJS + .d.ts) and the CLI (CJS, with a shebang from its source).
export default defineConfig([
  {
    entry: { index: 'src/index.ts', laws: 'laws/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: ['fast-check'],
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['cjs'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
  },
]);
