import { defineRealscaleSuite } from './suite.ts';

// xz and zstd both on the newest generation; one compression on the others (CI time).
defineRealscaleSuite('2.1', { large: ['xz', 'zstd'], wide: 'zstd' });
