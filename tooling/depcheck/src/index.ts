/**
 * `@flox-k8s/depcheck`: the monorepo's dependency rules (dependency-cruiser) and the
 * check `pnpm test` runs (test/depcheck.test.ts).
 * @module
 */
export { checkDependencies, workspacePackages, type Violation } from './check.ts';
export { forbidden, isRuntimeFile } from './rules.ts';
