/**
 * `@flox-k8s/shim`: containerd-shim-flox-v2, a program (sh launcher, sh runc front, the
 * interposer's Node entry points, the install-layout CLI, the demo). Its libraries are
 * packages: `@flox-k8s/interposer`, `@flox-k8s/shim-layout`, `@flox-k8s/environments`,
 * `@flox-k8s/config`. This index is for installers and the e2e suites: where the
 * programs are.
 * @module
 */
export { shimPrograms } from './programs.ts';
export { DemoPrerequisiteError, UsageError } from './errors.ts';
