import { defineClosureSuite } from './closure-suite.ts';

defineClosureSuite('2.1');
