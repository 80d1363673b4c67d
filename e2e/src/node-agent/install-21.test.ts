import { defineInstallSuite } from './install-suite.ts';

defineInstallSuite('2.1');
