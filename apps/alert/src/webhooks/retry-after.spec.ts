import { parseRetryAfter } from './retry-after.js';

const NOW = Date.UTC(2024, 2, 10, 12, 0, 0);

describe(parseRetryAfter.name, () => {
  it.each<[string | null | undefined, number | undefined]>([
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5_000],
    ['Sun, 10 Mar 2024 12:00:30 GMT', 30_000],
    ['Sunday, 10-Mar-24 12:01:00 GMT', 60_000],
    ['Sun Mar 10 12:00:10 2024', 10_000],
    ['Sun, 10 Mar 2024 11:59:00 GMT', 0],
    ['999999', 3_600_000],
    [null, undefined],
    [undefined, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['Sun, 99 Foo 2024 GMT', undefined],
  ])('parses %p as %p ms', (value, want) => {
    expect(parseRetryAfter(value, NOW)).toBe(want);
  });
});
