import { defineInstallSuite } from './install-suite.ts';

// Precedence pitfall: an imported file redefines the CRI section (v2 and v3 formats).
defineInstallSuite('1.7', 'imports');
defineInstallSuite('2.1', 'imports');
