/**
 * Drift statistics, pure: PSI over bin counts and the two-sample Kolmogorov–Smirnov statistic over
 * a reference ECDF known at sorted points.
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

/**
 * KS statistic D = sup |F_ref(x) − F_cur(x)|.
 * `points` are sorted reference values with `refCdf[j]` = F_ref(points[j]) (share of reference values ≤ it);
 * F_ref is taken as constant between points, which is exact when the points are every distinct reference
 * value. `curLe[j]` / `curLt[j]` count current values ≤ / < points[j]. On [pⱼ, pⱼ₊₁) F_cur is monotone, so
 * the supremum there is reached at pⱼ or just before pⱼ₊₁: D needs only the counts at the points.
 */
export function ksStatistic(points: readonly number[], refCdf: readonly number[], curLe: readonly number[], curLt: readonly number[], curTotal: number): number {
  if (points.length === 0 || curTotal === 0) return 0;
  let d = (curLt[0] ?? 0) / curTotal; // below the smallest reference value F_ref = 0
  for (let j = 0; j < points.length; j++) {
    const f = refCdf[j] ?? 0;
    d = Math.max(d, Math.abs(f - (curLe[j] ?? 0) / curTotal));
    const nextLeft = j + 1 < points.length ? (curLt[j + 1] ?? 0) / curTotal : 1;
    d = Math.max(d, Math.abs(f - nextLeft));
  }
  return d;
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

/** Per-bin counts from a DuckDB histogram over boundaries: bin j holds values in (edges[j-1], edges[j]], the last bin values above every edge. */
export function binCounts(entries: readonly { key: unknown; value: unknown }[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  const index = new Map(edges.map((e, i) => [e, i]));
  for (const { key, value } of entries) {
    // DuckDB keys the overflow bucket (values above the last boundary) with +Infinity.
    const i = key === null || Number(key) === Number.POSITIVE_INFINITY ? edges.length : index.get(Number(key));
    if (i !== undefined) counts[i] = (counts[i] ?? 0) + Number(value);
  }
  return counts;
}
