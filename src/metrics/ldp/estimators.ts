/**
 * Estimators for version 2 reports: from N answers, an unbiased estimate of each population
 * statistic and a 95 % confidence interval. Pure functions and plain accumulators, with no I/O and
 * no hub code, so the collector, the benchmark and the tests use exactly the same arithmetic.
 *
 * Each answer is first turned into an unbiased value of the home's true value (`unbiasedValue`):
 *   randomized response  y = (bit − (1 − p)) / (2p − 1),            p = e^ε / (1 + e^ε)
 *   1BitMean             y = bound · (bit·(e^ε + 1) − 1) / (e^ε − 1)
 *   dBitFlip bucket bit  y = (bit·(e^(ε/2) + 1) − 1) / (e^(ε/2) − 1)
 * so E[y] is the true indicator or clamped value whatever it is. The estimate is the mean of the y
 * (weighted by the inverse of each mechanism's worst-case variance when answers were made with
 * different ε), and the interval is estimate ± 1.96 · its standard error. That error is estimated
 * from the spread of the y themselves (which includes both the noise and the spread of the true
 * values among the answers drawn), except for memoized yes/no and histogram answers: every home
 * counts exactly once there, so the only randomness is the noise, whose variance for a 0/1 value is
 * known exactly, p(1 − p)/(2p − 1)² whatever the value (using the spread instead would make those
 * intervals too wide, covering the truth ~98 % of the time instead of 95 %).
 *
 * Stable (memoized) answers are the same day after day: they are counted once per home (the latest
 * one received), changing answers once per report.
 */
import type { Answer, HistogramAnswer, MeanAnswer, YesNoAnswer } from './answers.js';
import { bucketLabel, QUESTIONS, type QuestionSpec } from './questions.js';

/** The 97.5 % quantile of the standard normal distribution. */
export const Z95 = 1.959963984540054;

export interface Estimate {
  estimate: number;
  ciLow: number;
  ciHigh: number;
  halfWidth: number;
  /** Width of the statistic's possible range (a metric's bound, 1 for shares). */
  range: number;
  /** Number of answers it rests on. */
  n: number;
}

/** Unbiased value of a yes/no (0/1) or mean answer: E[y] = the true value. */
export function unbiasedValue(answer: YesNoAnswer | MeanAnswer): number {
  const e = Math.exp(answer.epsilon);
  if (answer.mechanism === 'randomized-response') {
    const p = e / (1 + e);
    return (answer.bit - (1 - p)) / (2 * p - 1);
  }
  return (answer.bound * (answer.bit * (e + 1) - 1)) / (e - 1);
}

/** Unbiased value of the indicator "the value is in this bucket" from one dBitFlip bit. */
export function unbiasedBucketBit(bit: 0 | 1, epsilon: number): number {
  const h = Math.exp(epsilon / 2);
  return (bit * (h + 1) - 1) / (h - 1);
}

/** The largest variance an answer's unbiased value can have (bit probability 1/2), for weights. */
export function worstCaseVariance(answer: Answer): number {
  const ratio = (eps: number) => ((Math.exp(eps) + 1) / (Math.exp(eps) - 1)) ** 2 / 4;
  switch (answer.mechanism) {
    case 'randomized-response':
      return ratio(answer.epsilon);
    case '1bitmean':
      return answer.bound ** 2 * ratio(answer.epsilon);
    case 'dbitflip':
      return ratio(answer.epsilon / 2);
  }
}

/**
 * Variance of the unbiased value of a 0/1 answer (randomized response, a dBitFlip bit), the same for
 * a true 0 and a true 1: p(1 − p)/(2p − 1)² with p the probability of telling the truth.
 */
export function indicatorNoiseVariance(epsilonOfBit: number): number {
  const p = Math.exp(epsilonOfBit) / (1 + Math.exp(epsilonOfBit));
  return (p * (1 - p)) / (2 * p - 1) ** 2;
}

/** A MeanAccumulator's running sums: enough to go on adding to it, or to join it to another (e.g. kept in a database). */
export interface AccumulatorSums {
  n: number;
  /** How many values came with a known variance. */
  known: number;
  sw2v: number;
  sw: number;
  swy: number;
  sw2: number;
  sw2y: number;
  sw2y2: number;
}

/**
 * A weighted mean with a sandwich (heteroscedasticity-robust) variance; streaming. When every value
 * was added with its known variance, the variance of the mean is computed from those instead.
 */
export class MeanAccumulator {
  private n = 0;
  private known = 0;
  private sw2v = 0;
  private sw = 0;
  private swy = 0;
  private sw2 = 0;
  private sw2y = 0;
  private sw2y2 = 0;

  /** Adds the values another accumulator holds (the sums are additive). */
  merge(s: Readonly<AccumulatorSums>): void {
    this.n += s.n;
    this.known += s.known;
    this.sw2v += s.sw2v;
    this.sw += s.sw;
    this.swy += s.swy;
    this.sw2 += s.sw2;
    this.sw2y += s.sw2y;
    this.sw2y2 += s.sw2y2;
  }

  sums(): AccumulatorSums {
    return { n: this.n, known: this.known, sw2v: this.sw2v, sw: this.sw, swy: this.swy, sw2: this.sw2, sw2y: this.sw2y, sw2y2: this.sw2y2 };
  }

  /** Adds a value (`times` times over: as many answers with that same value). */
  add(y: number, weight = 1, knownVariance?: number, times = 1): void {
    if (!Number.isFinite(y) || !(weight > 0)) throw new RangeError('value and weight must be finite, weight positive');
    if (!(Number.isInteger(times) && times >= 1)) throw new RangeError('times must be a positive integer');
    if (knownVariance !== undefined) {
      this.known += times;
      this.sw2v += times * weight * weight * knownVariance;
    }
    this.n += times;
    this.sw += times * weight;
    this.swy += times * weight * y;
    this.sw2 += times * weight * weight;
    this.sw2y += times * weight * weight * y;
    this.sw2y2 += times * weight * weight * y * y;
  }

  get count(): number {
    return this.n;
  }

  /** Estimate and 95 % interval; undefined with fewer than two answers. */
  result(range: number, z = Z95): Estimate | undefined {
    if (this.n < 2) return undefined;
    const mean = this.swy / this.sw;
    // Σ w²(y − mean)² = Σw²y² − 2·mean·Σw²y + mean²·Σw², with the n/(n−1) small-sample correction.
    const ss = Math.max(0, this.sw2y2 - 2 * mean * this.sw2y + mean * mean * this.sw2);
    const variance = this.known === this.n ? this.sw2v / (this.sw * this.sw) : (ss / (this.sw * this.sw)) * (this.n / (this.n - 1));
    const halfWidth = z * Math.sqrt(variance);
    return { estimate: mean, ciLow: mean - halfWidth, ciHigh: mean + halfWidth, halfWidth, range, n: this.n };
  }
}

/** The statistics published from the questions: name, question, what it measures, its range. */
export interface StatisticSpec {
  name: string;
  question: string;
  /** For histogram questions: the bucket index. */
  bucket?: number;
  range: number;
  help: string;
}

/**
 * `<question>_mean` for means (e.g. connect_failures_mean: the population mean of the value clamped
 * to its bound), `<question>_share` for yes/no questions, `<question>_<bucket>_share` per bucket.
 */
export function statisticsOf(q: QuestionSpec): StatisticSpec[] {
  switch (q.kind) {
    case 'mean':
      return [{ name: `${q.name}_mean`, question: q.name, range: q.bound!, help: `mean of ${q.help}, clamped to ${q.bound}` }];
    case 'yes-no':
      return [{ name: `${q.name}_share`, question: q.name, range: 1, help: `share of homes (or home-days): ${q.help}` }];
    case 'histogram':
      return q.buckets!.map((_, i) => ({
        name: `${q.name}_${bucketLabel(q.buckets!, i)}_share`,
        question: q.name,
        bucket: i,
        range: 1,
        help: `share of homes with ${q.metric} in bucket ${bucketLabel(q.buckets!, i).replace('_plus', '+').replace('_', '–')}`,
      }));
  }
}

export const STATISTICS: readonly StatisticSpec[] = QUESTIONS.flatMap(statisticsOf);

/** Does an answer have the shape its question's mechanism produces? (Schema validation comes first.) */
export function answerFits(q: QuestionSpec, a: Answer): boolean {
  if (!(a.epsilon > 0 && a.epsilon <= 40)) return false;
  switch (q.kind) {
    case 'yes-no':
      return a.mechanism === 'randomized-response' && (a.bit === 0 || a.bit === 1);
    case 'mean':
      return a.mechanism === '1bitmean' && a.bound === q.bound && (a.bit === 0 || a.bit === 1);
    case 'histogram':
      return (
        a.mechanism === 'dbitflip' &&
        a.buckets === q.buckets!.length &&
        Object.entries(a.bits).every(([k, b]) => /^\d+$/.test(k) && Number(k) < q.buckets!.length && (b === 0 || b === 1))
      );
  }
}

/** What one answer adds to one statistic's accumulator. */
export interface Contribution {
  statistic: string;
  y: number;
  weight: number;
  knownVariance?: number;
}

/** A report's answers sorted out: what changing answers add now, the memoized ones (counted once per home), the misfits. */
export interface SortedAnswers {
  fresh: Contribution[];
  memos: { question: string; answer: Answer }[];
  rejected: number;
}

const QUESTION_BY_NAME = new Map(QUESTIONS.map((q) => [q.name, q]));

export function sortAnswers(answers: Readonly<Record<string, Answer>>): SortedAnswers {
  const out: SortedAnswers = { fresh: [], memos: [], rejected: 0 };
  for (const [name, answer] of Object.entries(answers)) {
    const q = QUESTION_BY_NAME.get(name);
    const cs = q && answerFits(q, answer) ? usableContributions(q, answer) : undefined;
    if (!cs) out.rejected++;
    else if (answer.memo) out.memos.push({ question: name, answer });
    else out.fresh.push(...cs);
  }
  return out;
}

/**
 * An answer's contributions, or undefined when one is not a finite value with a positive finite
 * weight: an ε so small that e^ε rounds to 1 passes every shape check and would make the
 * unbiased value infinite (and poison every sum it joins).
 */
function usableContributions(q: QuestionSpec, answer: Answer): Contribution[] | undefined {
  const cs = contributions(q, answer);
  const finite = (x: number | undefined) => x === undefined || Number.isFinite(x);
  return cs.every((c) => Number.isFinite(c.y) && Number.isFinite(c.weight) && c.weight > 0 && finite(c.knownVariance)) ? cs : undefined;
}

/** The values one answer adds, per statistic (a histogram answer adds one per bucket). */
export function contributions(q: QuestionSpec, answer: Answer): Contribution[] {
  const weight = 1 / worstCaseVariance(answer);
  if (answer.mechanism === 'dbitflip') {
    const known = answer.memo ? indicatorNoiseVariance(answer.epsilon / 2) : undefined;
    return Object.entries(answer.bits).map(([k, bit]) => withKnown({ statistic: `${q.name}_${bucketLabel(q.buckets!, Number(k))}_share`, y: unbiasedBucketBit(bit, answer.epsilon), weight }, known));
  }
  if (answer.mechanism === 'randomized-response') {
    return [withKnown({ statistic: `${q.name}_share`, y: unbiasedValue(answer), weight }, answer.memo ? indicatorNoiseVariance(answer.epsilon) : undefined)];
  }
  return [{ statistic: `${q.name}_mean`, y: unbiasedValue(answer), weight }];
}

function withKnown(c: Contribution, knownVariance: number | undefined): Contribution {
  if (knownVariance !== undefined) c.knownVariance = knownVariance;
  return c;
}

/** Adds contributions into accumulators by statistic (each `times` times over). */
export function accumulate(accs: Map<string, MeanAccumulator>, cs: readonly Contribution[], times = 1): void {
  for (const c of cs) accumulatorOf(accs, c.statistic).add(c.y, c.weight, c.knownVariance, times);
}

function accumulatorOf(accs: Map<string, MeanAccumulator>, statistic: string): MeanAccumulator {
  let a = accs.get(statistic);
  if (!a) accs.set(statistic, (a = new MeanAccumulator()));
  return a;
}

/**
 * Pools the answers of many reports (e.g. a week of them) and estimates every statistic. Changing
 * answers count once each; a home's memoized answer to a question counts once, the latest wins.
 */
export class StatisticsPool {
  /** Answers that count as they come: changing ones, and memoized ones already one per home (addHomesMemo). */
  private readonly counted = new Map<string, MeanAccumulator>();
  /** Memoized answers by home and question, the newest kept. */
  private readonly memos = new Map<string, { at: number; answer: Answer }>();
  /** Answers that did not fit their question (wrong mechanism, bound or bucket count). */
  rejected = 0;

  /** `home`: the report's hub pseudonym; `at`: when the report was made (its window end). */
  add(home: string, at: number, answers: Readonly<Record<string, Answer>>): void {
    const sorted = sortAnswers(answers);
    this.rejected += sorted.rejected;
    accumulate(this.counted, sorted.fresh);
    for (const { question, answer } of sorted.memos) this.addMemo(home, at, question, answer);
  }

  /** A memoized answer on its own (it must fit its question: see sortAnswers). */
  addMemo(home: string, at: number, question: string, answer: Answer): void {
    const key = `${home}\u0000${question}`;
    const held = this.memos.get(key);
    if (!held || held.at <= at) this.memos.set(key, { at, answer });
  }

  /**
   * A memoized answer given by `homes` homes, already one per home (e.g. counted by a database
   * after keeping each home's newest): added as they are, not deduplicated again. Returns false
   * (and counts it rejected) when the answer does not fit its question.
   */
  addHomesMemo(question: string, answer: Answer, homes: number): boolean {
    const q = QUESTION_BY_NAME.get(question);
    const cs = q && answer.memo && answerFits(q, answer) ? usableContributions(q, answer) : undefined;
    if (!cs) {
      this.rejected += homes;
      return false;
    }
    accumulate(this.counted, cs, homes);
    return true;
  }

  /** Changing answers already summed elsewhere (e.g. a day's running sums kept in a database). */
  addSums(statistic: string, sums: Readonly<AccumulatorSums>): void {
    accumulatorOf(this.counted, statistic).merge(sums);
  }

  estimates(): Record<string, Estimate> {
    // Copies: the memos are added for this estimate only (more answers may come).
    const accs = new Map<string, MeanAccumulator>();
    for (const [k, a] of this.counted) accumulatorOf(accs, k).merge(a.sums());
    for (const [key, { answer }] of this.memos) accumulate(accs, contributions(QUESTION_BY_NAME.get(key.slice(key.indexOf('\u0000') + 1))!, answer));
    const out: Record<string, Estimate> = {};
    for (const s of STATISTICS) {
      const r = accs.get(s.name)?.result(s.range);
      if (r) out[s.name] = r;
    }
    return out;
  }
}
