import { floxProject } from '@flox-k8s/vitest-config';

// Tests run the bundled CLI as a child process (bundled once per file from source).
export default floxProject('cli', { testTimeout: 60_000 });
