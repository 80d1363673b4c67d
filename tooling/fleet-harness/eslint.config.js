import { app } from '@flox-k8s/eslint-config';

export default app;
