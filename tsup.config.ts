import { defineConfig } from 'tsup';

// fp-ts and io-ts ship CommonJS `lib/` and ES `es6/` trees without an exports map, so Node's ESM
// loader cannot resolve `fp-ts/Either`: their code is bundled (their types stay external).
const bundled = ['fp-ts', 'io-ts'];

// Library entry points (ESM + CJS + .d.ts) and the CLI (CJS, with a shebang from its source).
export default defineConfig([
  {
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    noExternal: bundled,
  },
  {
    // the laws are built on the public API: they import 'loopgrad' itself, so both entry points
    // share one copy of the library in ESM and in CJS
    entry: { laws: 'laws/index.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    target: 'es2022',
    external: ['fast-check', 'loopgrad'],
    noExternal: bundled,
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['cjs'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    noExternal: bundled,
  },
]);
