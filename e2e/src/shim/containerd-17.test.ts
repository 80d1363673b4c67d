import { defineShimSuite } from './suite.ts';

defineShimSuite('1.7');
