import { defineShimSuite } from './suite.ts';

defineShimSuite('2.1');
