/**
 * What the maker may ask of a home under local differential privacy, per consent category: each
 * question reads one allow-listed metric (src/metrics/categories.ts) and is answered by one
 * mechanism made for it. Stable questions (values that repeat day after day, e.g. how many cameras
 * a home has) are memoized on the hub, so asking them again reveals nothing new; changing questions
 * (today's counts) are randomized afresh on the day they are asked.
 *
 * Pure data: imported by the hub, the benchmark and the collector alike.
 */
import type { Category } from '../categories.js';

export type QuestionKind = 'yes-no' | 'mean' | 'histogram';

export interface QuestionSpec {
  name: string;
  category: Category;
  kind: QuestionKind;
  /** The metric (of the category's allow-list) the answer is computed from. */
  metric: string;
  /** Memoized (stable value) or randomized again on each day it is asked (changing value). */
  stable: boolean;
  /** mean: values are clamped to [0, bound]; the range of the statistic. */
  bound?: number;
  /** Stable mean: α-point rounding step (the memo points are 0, step, 2·step, …, bound). */
  roundingStep?: number;
  /** histogram: lower edge of each bucket, ascending from 0; the last bucket is open. */
  buckets?: readonly number[];
  help: string;
}

/** Camera-count buckets: 0, 1, 2, 3–4, 5–8, 9+. */
export const CAMERA_BUCKETS: readonly number[] = [0, 1, 2, 3, 5, 9];

export const QUESTIONS: readonly QuestionSpec[] = [
  { name: 'activations', category: 'adoption', kind: 'mean', metric: 'activations', stable: false, bound: 5, help: 'camera activations in the window' },
  { name: 'activated', category: 'adoption', kind: 'yes-no', metric: 'activations', stable: false, help: 'was a camera activated in the window' },
  { name: 'cameras', category: 'adoption', kind: 'mean', metric: 'cameras', stable: true, bound: 16, roundingStep: 4, help: 'cameras enrolled' },
  { name: 'cameras_bucket', category: 'adoption', kind: 'histogram', metric: 'cameras', stable: true, buckets: CAMERA_BUCKETS, help: 'cameras enrolled: 0, 1, 2, 3–4, 5–8 or 9+' },
  { name: 'scales', category: 'adoption', kind: 'mean', metric: 'scales', stable: true, bound: 4, roundingStep: 2, help: 'scales enrolled' },
  { name: 'has_scale', category: 'adoption', kind: 'yes-no', metric: 'scales', stable: true, help: 'has the home a scale' },
  { name: 'connect_attempts', category: 'device-health', kind: 'mean', metric: 'connect_attempts', stable: false, bound: 50, help: 'camera connection attempts' },
  { name: 'connect_failures', category: 'device-health', kind: 'mean', metric: 'connect_failures', stable: false, bound: 50, help: 'failed camera connections' },
  { name: 'had_connect_failure', category: 'device-health', kind: 'yes-no', metric: 'connect_failures', stable: false, help: 'did a camera connection fail in the window' },
  { name: 'online_percent', category: 'device-health', kind: 'mean', metric: 'online_percent', stable: false, bound: 100, help: 'mean share of the window the cameras were online, percent' },
  { name: 'reboots', category: 'device-health', kind: 'mean', metric: 'reboots', stable: false, bound: 10, help: 'camera reboots' },
  { name: 'weigh_ins', category: 'scale-usage', kind: 'mean', metric: 'weigh_ins', stable: false, bound: 20, help: 'weigh-ins (a count only)' },
];

export function questionsOf(category: Category): QuestionSpec[] {
  return QUESTIONS.filter((q) => q.category === category);
}

export function questionByName(name: string): QuestionSpec | undefined {
  return QUESTIONS.find((q) => q.name === name);
}

/** Index of the bucket a value falls in (values below 0 count as 0). */
export function bucketOf(buckets: readonly number[], value: number): number {
  let i = 0;
  while (i + 1 < buckets.length && value >= buckets[i + 1]!) i++;
  return i;
}

/** Human and statistic names of the buckets: "0", "1", "2", "3_4", "5_8", "9_plus". */
export function bucketLabel(buckets: readonly number[], index: number): string {
  const lo = buckets[index]!;
  const next = buckets[index + 1];
  if (next === undefined) return `${lo}_plus`;
  return next - 1 === lo ? String(lo) : `${lo}_${next - 1}`;
}

/** The value a question asks about, from a home's (not yet clamped) metric values; missing = 0. */
export function questionValue(q: QuestionSpec, values: Readonly<Record<string, number>>): number {
  const raw = values[q.metric];
  const v = Number.isFinite(raw) ? Math.max(0, Math.round(raw!)) : 0;
  switch (q.kind) {
    case 'yes-no':
      return v > 0 ? 1 : 0;
    case 'mean':
      return Math.min(q.bound!, v);
    case 'histogram':
      return bucketOf(q.buckets!, v);
  }
}
