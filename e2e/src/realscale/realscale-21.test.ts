import { defineRealscaleSuite } from './suite.ts';

defineRealscaleSuite('2.1', { large: ['xz', 'zstd'], wide: 'zstd' });
