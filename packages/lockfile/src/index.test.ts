import { expect, test } from 'vitest';
import * as api from './index.ts';
test('loads', () => { expect(typeof api).toBe('object'); });
