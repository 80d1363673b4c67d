import { defineClosureSuite } from './closure-suite.ts';

defineClosureSuite('1.7');
