import type { UserWorkspaceConfig } from 'vitest/config';

/**
 * A vitest project for one workspace package: tests run from TypeScript sources.
 * `guardTmp`: the project's tests get a private TMPDIR that must be empty when the run ends.
 */
export declare function floxProject(name: string, test?: UserWorkspaceConfig['test'], options?: { guardTmp?: boolean }): UserWorkspaceConfig;
