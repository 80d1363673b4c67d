import { defineProject } from 'vitest/config';

// Workspace packages export `@flox-k8s/source` -> src/index.ts, so tests and
// typecheck run against sources without a build.
const conditions = ['@flox-k8s/source', 'node', 'import', 'module', 'default'];

/**
 * A vitest project for one workspace package.
 * @param {string} name project name shown in reports
 * @param {import('vitest/config').UserWorkspaceConfig['test']} [test] extra test options
 */
export function floxProject(name, test = {}) {
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@flox-k8s/source'] } },
    test: {
      name,
      environment: 'node',
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 300_000,
      ...test,
    },
  });
}
