import { defineRealscaleSuite } from './suite.ts';

defineRealscaleSuite('1.7', { large: ['xz', 'zstd'], wide: 'zstd' });
