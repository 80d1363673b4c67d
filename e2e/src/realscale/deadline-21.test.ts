import { defineDeadlineSuite } from './deadline-suite.ts';

defineDeadlineSuite('2.1');
