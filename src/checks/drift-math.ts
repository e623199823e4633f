/**
 * Drift statistics, pure: PSI over bin counts, and the two-sample Kolmogorov–Smirnov statistic with
 * its bounds from two histograms on the same grid (drift-grid.ts).
 */

/**
 * PSI epsilon: a bin with no rows on one side has share 0, and ln(0) is undefined. Such a share is
 * replaced by 0.0001 (0.01 %), the value most PSI implementations use; shares are not renormalised.
 * So a bin holding 10 % of the current rows and none of the reference adds
 * (0.1 - 0.0001) · ln(0.1 / 0.0001) ≈ 0.69 to the PSI: a new category or range is loud, not infinite.
 */
export const PSI_EPSILON = 1e-4;

/** PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ) over shares eᵢ (reference) and aᵢ (current) of the same bins. */
export function psi(reference: readonly number[], current: readonly number[]): number {
  if (reference.length !== current.length) throw new Error(`psi: ${reference.length} reference bins, ${current.length} current bins`);
  const totalE = reference.reduce((a, b) => a + b, 0);
  const totalA = current.reduce((a, b) => a + b, 0);
  if (totalE === 0 || totalA === 0) return 0;
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const e = Math.max((reference[i] ?? 0) / totalE, PSI_EPSILON);
    const a = Math.max((current[i] ?? 0) / totalA, PSI_EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** A histogram on a grid: sorted distinct keys and the number of values at each. */
export interface KeyCounts {
  keys: readonly number[];
  counts: readonly number[];
}

const total = (h: KeyCounts): number => h.counts.reduce((a, b) => a + b, 0);

/**
 * KS statistic D = sup |F_ref(x) − F_cur(x)| from two histograms on the same grid. At the upper end of
 * every key either side has, both ECDFs are known exactly (the share of values at or below the key),
 * so `d`, the largest gap there, is a lower bound of D. Inside a key's cell both ECDFs rise from
 * their value at the previous key to their value at this one, so |F_ref − F_cur| there is at most
 * max(F_ref(k) − F_cur(k⁻), F_cur(k) − F_ref(k⁻)): `upper`, the largest of these, bounds D from
 * above. `points`: every key holds a single value on both sides (a values grid), so D = d.
 */
export function ksBounds(reference: KeyCounts, current: KeyCounts, points: boolean): { d: number; upper: number } {
  const nRef = total(reference);
  const nCur = total(current);
  if (nRef === 0 || nCur === 0) return { d: 0, upper: 0 };
  let i = 0;
  let j = 0;
  let cumRef = 0;
  let cumCur = 0;
  let d = 0;
  let upper = 0;
  while (i < reference.keys.length || j < current.keys.length) {
    const r = reference.keys[i] ?? Number.POSITIVE_INFINITY;
    const c = current.keys[j] ?? Number.POSITIVE_INFINITY;
    const key = Math.min(r, c);
    const before = { ref: cumRef / nRef, cur: cumCur / nCur };
    if (r === key) cumRef += reference.counts[i++] ?? 0;
    if (c === key) cumCur += current.counts[j++] ?? 0;
    const fRef = cumRef / nRef;
    const fCur = cumCur / nCur;
    const gap = Math.abs(fRef - fCur);
    d = Math.max(d, gap);
    upper = Math.max(upper, gap, points ? 0 : Math.max(fRef - before.cur, fCur - before.ref));
  }
  return { d, upper };
}

/**
 * PSI bin edges: the keys of the reference's quantiles at levels 1/bins, …, (bins−1)/bins, exact on the
 * histogram (the value at sorted position floor((n − 1) · level)), without repeats.
 */
export function quantileKeys(h: KeyCounts, bins: number): number[] {
  const n = total(h);
  const edges: number[] = [];
  if (n === 0) return edges;
  let i = 0;
  let below = 0; // values at keys before i
  for (let b = 1; b < bins; b++) {
    const position = Math.floor(((n - 1) * b) / bins);
    while (i < h.keys.length - 1 && below + (h.counts[i] ?? 0) <= position) below += h.counts[i++] ?? 0;
    const key = h.keys[i] as number;
    if (edges[edges.length - 1] !== key) edges.push(key);
  }
  return edges;
}

/** Counts per bin of a histogram: bin j holds the keys in (edges[j−1], edges[j]], the last bin the keys above every edge. */
export function countsByEdges(h: KeyCounts, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  let bin = 0;
  h.keys.forEach((key, i) => {
    while (bin < edges.length && key > (edges[bin] as number)) bin++;
    counts[bin] = (counts[bin] ?? 0) + (h.counts[i] ?? 0);
  });
  return counts;
}

/** Asymptotic p-value of D for sample sizes n and m (Kolmogorov distribution, Stephens' correction). */
export function ksPValue(d: number, n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  const en = Math.sqrt((n * m) / (n + m));
  const lambda = (en + 0.12 + 0.11 / en) * d;
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = 2 * (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, sum));
}
