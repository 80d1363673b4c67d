import { defineRealscaleSuite } from './suite.ts';

defineRealscaleSuite('1.6', { large: ['xz', 'zstd'], wide: 'zstd' });
