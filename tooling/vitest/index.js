import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineProject } from 'vitest/config';

// Workspace packages export `@flox-k8s/source` -> src/index.ts, so tests and
// typecheck run against sources without a build.
const conditions = ['@flox-k8s/source', 'node', 'import', 'module', 'default'];

/**
 * A vitest project for one workspace package.
 * @param {string} name project name shown in reports
 * @param {import('vitest/config').UserWorkspaceConfig['test']} [test] extra test options
 * @param {{ guardTmp?: boolean }} [options] guardTmp: the project's tests get a private TMPDIR
 *   that must be empty when the run ends (no test may leave a temp file behind)
 */
export function floxProject(name, test = {}, options = {}) {
  const guard = options.guardTmp === true ? guardedTmp(name) : undefined;
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
      ...(guard === undefined ? {} : { env: { ...test.env, TMPDIR: guard }, globalSetup: [...[test.globalSetup ?? []].flat(), guardSetup] }),
    },
  });
}

const guardSetup = new URL('./tmp-guard.js', import.meta.url).pathname;

/** This run's private TMPDIR for a project: under the real one, named by project and runner pid. */
function guardedTmp(name) {
  return join(tmpdir(), `flox-vitest-${name}-${process.pid}`);
}
