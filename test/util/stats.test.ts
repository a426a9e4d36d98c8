import { expect, it } from 'vitest';
import { median } from '../../src/util/stats.ts';

it('median: the middle value, the mean of the two middle ones for an even count, NaN for none', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(median([-2, -2, 1.5])).toBe(-2);
  expect(median([])).toBeNaN();
});
