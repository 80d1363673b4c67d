import { app } from '@flox-k8s/eslint-config';

export default [...app, { ignores: ['packages/**', 'apps/**', 'e2e/**', 'tooling/**'] }];
