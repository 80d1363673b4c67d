import { floxProject } from '@flox-k8s/vitest-config';

// e2e files start real containerd daemons: one file at a time, generous hooks (first runs
// download containerd 1.7/2.1 from the Debian mirror).
export default floxProject('e2e', { fileParallelism: false, testTimeout: 180_000, hookTimeout: 600_000 });
