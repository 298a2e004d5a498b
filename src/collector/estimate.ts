/**
 * Estimators over sufficient statistics, so a day's estimate is one aggregate query and days can
 * be pooled (and kept after the raw reports are dropped) by adding their sums.
 *
 * Version 1 reports carry each metric as its clamped value plus zero-mean discrete Laplace noise
 * (docs/privacy.md): the mean of the released values is an unbiased estimate of the population mean
 * of the clamped value, and its spread already contains the noise, so the interval is the normal
 * interval from the sample variance. Released values may be negative and are never clamped here
 * (that would bias the mean).
 */
export interface MeanSums {
  n: number;
  sum: number;
  sumSquares: number;
}

export interface Estimate {
  estimate: number | null;
  ci_low: number | null;
  ci_high: number | null;
  n: number;
}

/** z for a two-sided 95 % normal interval. */
export const Z95 = 1.959963984540054;

export function addSums(a: MeanSums, b: MeanSums): MeanSums {
  return { n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares };
}

/** Unbiased mean and its 95 % interval; no interval below two reports, no estimate without one. */
export function meanEstimate(s: MeanSums): Estimate {
  if (s.n < 1) return { estimate: null, ci_low: null, ci_high: null, n: 0 };
  const mean = s.sum / s.n;
  if (s.n < 2) return { estimate: mean, ci_low: null, ci_high: null, n: s.n };
  const variance = Math.max(0, (s.sumSquares - (s.sum * s.sum) / s.n) / (s.n - 1));
  const half = Z95 * Math.sqrt(variance / s.n);
  return { estimate: mean, ci_low: mean - half, ci_high: mean + half, n: s.n };
}

/** The name a metric's population-mean statistic goes by (as the privacy benchmark names it). */
export function meanStatistic(metric: string): string {
  return `${metric}_mean`;
}

/**
 * Two independent unbiased estimates of one statistic (e.g. from format 1 and format 2 reports)
 * joined by inverse-variance weighting; the variances are read back from the 95 % intervals. An
 * estimate without an interval gives way to one with.
 */
export function combineEstimates(a: Estimate, b: Estimate): Estimate {
  const variance = (e: Estimate) => (e.ci_low === null || e.ci_high === null || e.estimate === null ? null : ((e.ci_high - e.ci_low) / (2 * Z95)) ** 2);
  const va = variance(a);
  const vb = variance(b);
  if (va === null) return vb === null ? (a.n >= b.n ? a : b) : b;
  if (vb === null) return a;
  if (va === 0 || vb === 0) return va <= vb ? a : b;
  const w = 1 / va + 1 / vb;
  const estimate = (a.estimate! / va + b.estimate! / vb) / w;
  const half = Z95 * Math.sqrt(1 / w);
  return { estimate, ci_low: estimate - half, ci_high: estimate + half, n: a.n + b.n };
}
