import { defineAgentShimSuite } from './agent-shim-suite.ts';

defineAgentShimSuite('2.1');
