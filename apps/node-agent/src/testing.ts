/**
 * `@flox-k8s/node-agent/testing`: a fake Kubernetes API server speaking the real wire format, for
 * the agent's own tests and the e2e suites.
 * @module
 */
export { startFakeApiserver, mergePatch, type FakeApiserver } from './kube/fake-apiserver.ts';
