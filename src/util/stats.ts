/** Statistics over paired seeds, for comparing programs scored on the same suite. */

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Sample standard deviation (0 for fewer than two values). */
export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Standard error of the mean: stdev / sqrt(n). */
export function standardError(xs: readonly number[]): number {
  return stdev(xs) / Math.sqrt(xs.length);
}

/** Mean and standard error of a[i] - b[i] over paired seeds. */
export function pairedDifference(a: readonly number[], b: readonly number[]): { mean: number; se: number } {
  const diff = a.map((x, i) => x - (b[i] as number));
  return { mean: mean(diff), se: standardError(diff) };
}
