import { defineInstallSuite } from './install-suite.ts';

defineInstallSuite('1.6');
