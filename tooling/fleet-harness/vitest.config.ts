import { floxProject } from '@flox-k8s/vitest-config';

export default floxProject('fleet-harness');
