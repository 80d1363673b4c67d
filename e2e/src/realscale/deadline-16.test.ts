import { defineDeadlineSuite } from './deadline-suite.ts';

defineDeadlineSuite('1.6');
