/**
 * The published numbers: for a day (or D days ending that day, pooled), the reports stored per
 * category, the refusals per reason, and per statistic the estimate with its 95 % interval, made
 * by the shared estimators from the stored sums.
 */
import type { Answer } from '../metrics/ldp/answers.js';
import { STATISTICS, StatisticsPool } from '../metrics/ldp/estimators.js';
import { questionByName } from '../metrics/ldp/questions.js';
import { addSums, combineEstimates, meanEstimate, meanStatistic, type Estimate, type MeanSums } from './estimate.js';
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
  const [sums, refused, v2] = await Promise.all([store.sums(from, day), store.refusalCounts(from, day), formatTwoEstimates(store, from, day)]);
  const statistics = estimatesFromSums(sums);
  for (const [name, e] of Object.entries(v2)) statistics[name] = statistics[name] ? { ...combineEstimates(statistics[name]!, e), category: e.category } : e;
  return { day, days, from, reports: reportCounts(sums), refused, statistics: sortByName(statistics) };
}

function sortByName<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Format 2 (local-DP answers) through the shared estimators: for the raw days of [from, to], the
 * running sums of the changing answers and each home's newest memoized answer (counted once)
 * pooled by StatisticsPool, and for days whose raw reports are gone (past retention) their kept
 * per-day estimates, joined by inverse variance.
 */
export async function formatTwoEstimates(store: CollectorStore, from: string, to: string): Promise<Record<string, StatisticOut>> {
  const pool = new StatisticsPool();
  const [sums, memos] = await Promise.all([store.answerSums(from, to), store.memoAnswerCounts(from, to)]);
  for (const s of sums) pool.addSums(s.statistic, s);
  for (const m of memos) pool.addHomesMemo(m.question, m.answer as unknown as Answer, m.homes);
  const out: Record<string, StatisticOut> = {};
  for (const [name, e] of Object.entries(pool.estimates())) {
    out[name] = { estimate: e.estimate, ci_low: e.ciLow, ci_high: e.ciHigh, n: e.n, category: categoryOf(name) };
  }
  const raw = new Set(await store.partitionDays());
  const gone: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) if (!raw.has(d)) gone.push(d);
  for (const k of await store.keptEstimatesV2(gone)) {
    const e: StatisticOut = { estimate: k.estimate, ci_low: k.ci_low, ci_high: k.ci_high, n: k.n, category: k.category };
    out[k.statistic] = out[k.statistic] ? { ...combineEstimates(out[k.statistic]!, e), category: k.category } : e;
  }
  return out;
}

function categoryOf(statistic: string): string {
  const spec = STATISTICS.find((s) => s.name === statistic);
  return (spec && questionByName(spec.question)?.category) ?? 'unknown';
}

/** One estimate per day for a statistic, for the chart. */
export async function dailySeries(store: CollectorStore, statistic: string, to: string, days: number): Promise<{ day: string; estimate: StatisticOut | null }[]> {
  const out: { day: string; estimate: StatisticOut | null }[] = [];
  for (let d = addDays(to, -(days - 1)); d <= to; d = addDays(d, 1)) {
    out.push({ day: d, estimate: (await computeStats(store, d, 1)).statistics[statistic] ?? null });
  }
  return out;
}

/** Recomputes and keeps a day's sums and estimates (both formats); `final` once no report can arrive for it any more. */
export async function saveDayEstimates(store: CollectorStore, day: string, final: boolean): Promise<void> {
  const sums = await store.sums(day, day);
  const v1 = Object.entries(estimatesFromSums(sums)).map(([statistic, e]) => ({ format: 1 as const, statistic, ...e }));
  const v2 = Object.entries(await formatTwoEstimates(store, day, day)).map(([statistic, e]) => ({ format: 2 as const, statistic, ...e }));
  await store.saveDay(day, final, [...v1, ...v2], sums);
}
