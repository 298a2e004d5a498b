/**
 * The published numbers: for a day (or D days ending that day, pooled), the reports stored per
 * category, the refusals per reason, and per statistic the estimate with its 95 % interval, made
 * by the shared estimators from the stored sums.
 */
import { addSums, meanEstimate, meanStatistic, type Estimate, type MeanSums } from './estimate.js';
import { addDays, type CollectorStore, type DaySums } from './store.js';

export interface StatisticOut extends Estimate {
  category: string;
}

export interface Stats {
  day: string;
  days: number;
  from: string;
  reports: Record<string, number>;
  refused: Record<string, number>;
  statistics: Record<string, StatisticOut>;
}

/** Reports per category, from the count rows (empty metric name) of the sums. */
export function reportCounts(rows: DaySums[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of [...rows].sort((a, b) => (a.category < b.category ? -1 : 1))) if (r.metric === '') out[r.category] = (out[r.category] ?? 0) + r.n;
  return out;
}

/** Pools sums over days and turns each (category, metric) into its statistic. */
export function estimatesFromSums(rows: DaySums[]): Record<string, StatisticOut> {
  const pooled = new Map<string, { category: string; metric: string; sums: MeanSums }>();
  for (const r of rows) {
    if (r.metric === '') continue;
    const k = `${r.category}\u0000${r.metric}`;
    const prev = pooled.get(k);
    pooled.set(k, { category: r.category, metric: r.metric, sums: prev ? addSums(prev.sums, r) : { n: r.n, sum: r.sum, sumSquares: r.sumSquares } });
  }
  const out: Record<string, StatisticOut> = {};
  for (const { category, metric, sums } of [...pooled.values()].sort((a, b) => (a.metric < b.metric ? -1 : 1))) {
    out[meanStatistic(metric)] = { ...meanEstimate(sums), category };
  }
  return out;
}

export async function computeStats(store: CollectorStore, day: string, days: number): Promise<Stats> {
  const from = addDays(day, -(days - 1));
  const [sums, refused] = await Promise.all([store.sums(from, day), store.refusalCounts(from, day)]);
  return { day, days, from, reports: reportCounts(sums), refused, statistics: estimatesFromSums(sums) };
}

/** One estimate per day for a statistic, for the chart. */
export async function dailySeries(store: CollectorStore, statistic: string, to: string, days: number): Promise<{ day: string; estimate: StatisticOut | null }[]> {
  const from = addDays(to, -(days - 1));
  const rows = await store.sums(from, to);
  const out: { day: string; estimate: StatisticOut | null }[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    out.push({ day: d, estimate: estimatesFromSums(rows.filter((r) => r.day === d))[statistic] ?? null });
  }
  return out;
}

/** Recomputes and keeps a day's sums and estimates; `final` once no report can arrive for it any more. */
export async function saveDayEstimates(store: CollectorStore, day: string, final: boolean): Promise<void> {
  const sums = await store.sums(day, day);
  const statistics = estimatesFromSums(sums);
  await store.saveDay(
    day,
    final,
    Object.entries(statistics).map(([statistic, e]) => ({ statistic, ...e })),
    sums,
  );
}
