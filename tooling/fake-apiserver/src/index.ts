/**
 * `@flox-k8s/fake-apiserver`: a fake Kubernetes API server for tests (private tooling),
 * speaking the real list/watch/patch/proxy wire format on loopback.
 * @module
 */
export { startFakeApiserver, type FakeApiserver } from './fake-apiserver.ts';
export { mergePatch } from './merge-patch.ts';
export { labelSelector, podFieldSelector, type KubeObject } from './selectors.ts';
