import { floxProject } from '@flox-k8s/vitest-config';

// Harness tests start real containerd daemons: one file at a time, generous hooks (first runs
// download containerd 1.7/2.1 from the Debian mirror).
export default floxProject('cri-harness', { fileParallelism: false, testTimeout: 180_000, hookTimeout: 600_000 });
