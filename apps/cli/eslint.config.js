import { app } from '@flox-k8s/eslint-config';

// bundle/ holds esbuild output (generated, like dist/).
export default [{ ignores: ['bundle/**'] }, ...app];
