import type { UserWorkspaceConfig } from 'vitest/config';

/** A vitest project for one workspace package: tests run from TypeScript sources. */
export declare function floxProject(name: string, test?: UserWorkspaceConfig['test']): UserWorkspaceConfig;
