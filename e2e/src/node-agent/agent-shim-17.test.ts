import { defineAgentShimSuite } from './agent-shim-suite.ts';

defineAgentShimSuite('1.7');
