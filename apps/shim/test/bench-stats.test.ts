import { describe, expect, it } from 'vitest';
import { median, overheadInterval } from '../bench/stats.ts';

describe('bench statistics', () => {
  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('the overhead interval is exact for a constant shift and brackets the estimate otherwise, the same on every run', () => {
    const baseline = Array.from({ length: 40 }, (_, i) => 90 + ((i * 37) % 11));
    expect(overheadInterval(baseline.map((v) => v + 5), baseline)).toEqual([5, 5]);
    const noisy = baseline.map((v, i) => v + 5 + ((i * 53) % 7) - 3);
    const [low, high] = overheadInterval(noisy, baseline);
    const estimate = median(noisy) - median(baseline);
    expect(low).toBeLessThanOrEqual(estimate);
    expect(high).toBeGreaterThanOrEqual(estimate);
    expect(high - low).toBeGreaterThan(0);
    expect(overheadInterval(noisy, baseline)).toEqual([low, high]);
  });

  it('is NaN for samples that are not paired', () => {
    expect(overheadInterval([1, 2], [1])).toEqual([Number.NaN, Number.NaN]);
  });
});
