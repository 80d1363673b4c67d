import { library } from '@flox-k8s/eslint-config';

export default library;
