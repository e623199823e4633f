/** Drift statistics computed in JS from the raw values, to check what mlship computes from sketches. */

/** The exact two-sample KS statistic: the largest gap between the two ECDFs, over every value of either sample. */
export function exactKs(x: readonly number[], y: readonly number[]): number {
  const a = [...x].sort((p, q) => p - q);
  const b = [...y].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const v = Math.min(a[i] as number, b[j] as number);
    while (i < a.length && (a[i] as number) <= v) i++;
    while (j < b.length && (b[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/** Values per bin: bin j holds (edges[j−1], edges[j]], the last bin everything above the last edge. */
export function countByEdges(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    const bin = edges.findIndex((e) => v <= e);
    counts[bin === -1 ? edges.length : bin] = (counts[bin === -1 ? edges.length : bin] ?? 0) + 1;
  }
  return counts;
}
