/**
 * `@flox-k8s/cli`: the `flox-k8s` command line (the bin is `bundle/flox-k8s.mjs`). Exported for
 * tests and tools: `runCli` runs one invocation against given streams; `bundleCli` builds
 * the single-file bundle.
 * @module
 */
export { runCli, type CliIo } from './cli.ts';
export { commands } from './commands/index.ts';
export { defineCommand, type CliCommand, type CliContext } from './command.ts';
export { readEnv, type CliEnv } from './env.ts';
export { bundleCli } from './bundle.ts';
export { CliError, CliFileError, CliFleetIncompleteError, CliKubeconfigError, CliNoAgentsError, CliUsageError, DoctorProblemsError, EXIT } from './errors.ts';
export { CLI_VERSION } from './version.ts';
export type { PublishJson } from './commands/publish.ts';
export type { ResolveJson } from './commands/resolve.ts';
export type { RealiseJson } from './commands/realise.ts';
export type { SbomFileJson } from './commands/sbom.ts';
export type { DoctorJson } from './commands/doctor.ts';
export type { WhoUsesJson } from './commands/who-uses.ts';
export type { StatusEnvironment, StatusJson, StatusNode } from './commands/status.ts';
export type { Check, CheckStatus } from './doctor/report.ts';
