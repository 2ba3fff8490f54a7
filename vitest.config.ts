import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of every workspace package, not their build.
    alias: [
      { find: /^@ovnts\/([a-z]+)$/, replacement: `${root}packages/$1/src/index.ts` },
      { find: /^@ovnts\/([a-z]+)\/internal$/, replacement: `${root}packages/$1/src/internal.ts` },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
