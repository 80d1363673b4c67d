/** Version of the CLI (kept in step with package.json; test/cli.test.ts checks it). */
export const CLI_VERSION = '0.0.0';
