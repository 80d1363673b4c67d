import { defineConfig } from 'vitest/config';

// `pnpm test` runs every package's, app's and tooling's suite plus e2e in one
// vitest process; each keeps its own vitest.config.ts for `pnpm --filter X test`.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tooling/*/vitest.config.ts', 'e2e/vitest.config.ts'],
    reporters: process.env.CI === 'true' ? ['default'] : ['default'],
  },
});
