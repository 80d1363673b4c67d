import { defineRealscaleSuite } from './suite.ts';

// xz and zstd both on the newest generation; one compression on the others (CI time).
defineRealscaleSuite('1.7', { large: ['zstd'], wide: 'zstd' });
