import { floxProject } from '@flox-k8s/vitest-config';

export default floxProject('shim', { include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'demo/**/*.test.ts'] }, { guardTmp: true });
