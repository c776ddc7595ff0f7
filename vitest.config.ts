import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// `loopgrad` and `loopgrad/laws` resolve to the sources, as tsconfig's paths say.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^loopgrad$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      { find: /^loopgrad\/laws$/, replacement: fileURLToPath(new URL('./laws/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'laws/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
  },
});
