import { floxProject } from '@flox-k8s/vitest-config';

// Cruising the whole repository takes a few seconds on a loaded machine.
export default floxProject('depcheck', { testTimeout: 120_000 });
