/**
 * The local-DP mechanisms and estimators of report format 2, against their formulas (Ding,
 * Kulkarni & Yekhanin, NeurIPS 2017; Warner 1965): with fixed seeds (tests only), each mechanism's
 * bit frequencies match its probability, the probability ratios are exactly e^ε (the guarantee),
 * the estimators are unbiased (exactly, by summing over the bit) and their 95 % intervals cover the
 * truth about 95 % of the time; the daily answering code keeps the budget and memoizes stable values.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import type { RandomSource } from '../src/metrics/dp.js';
import type { Answer, MeanAnswer } from '../src/metrics/ldp/answers.js';
import { answerDay, MapMemoStore } from '../src/metrics/ldp/daily.js';
import { MeanAccumulator, StatisticsPool, STATISTICS, unbiasedBucketBit, unbiasedValue } from '../src/metrics/ldp/estimators.js';
import { alphaRound, bernoulliReal, dBitFlipBit, dBitFlipProbability, oneBitMean, oneBitMeanProbability, randomizedResponse, randomOrder, rrTruthProbability } from '../src/metrics/ldp/mechanisms.js';
import { bucketOf, CAMERA_BUCKETS, QUESTIONS } from '../src/metrics/ldp/questions.js';
import { seededRandom } from './uplink-helpers.js';

let sodium: SodiumApi;
beforeAll(async () => {
  sodium = await loadSodium();
});

/** |observed share − p| within 5 standard errors. */
function expectShare(hits: number, n: number, p: number): void {
  expect(Math.abs(hits / n - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n) + 1e-12);
}

function count(n: number, draw: () => 0 | 1 | boolean): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (draw()) hits++;
  return hits;
}

describe('mechanisms against their formulas', () => {
  it('draws Bernoulli(p) for real p from 53 random bits', () => {
    const random = seededRandom(sodium, 'bern-real');
    for (const p of [0, 0.3, 0.731, 1]) expectShare(count(30_000, () => bernoulliReal(random, p)), 30_000, p);
    expect(() => bernoulliReal(random, 1.5)).toThrow();
  });

  it('randomized response tells the truth with probability e^ε/(1+e^ε), so P(1|yes)/P(1|no) = e^ε', () => {
    const random = seededRandom(sodium, 'rr');
    const n = 40_000;
    for (const eps of [0.5, 1, 2]) {
      const p = Math.exp(eps) / (1 + Math.exp(eps));
      expect(rrTruthProbability(eps)).toBeCloseTo(p, 15);
      const yes = count(n, () => randomizedResponse(random, true, eps));
      const no = count(n, () => randomizedResponse(random, false, eps));
      expectShare(yes, n, p);
      expectShare(no, n, 1 - p);
      expect(Math.log(yes / no)).toBeGreaterThan(eps - 0.08);
      expect(Math.log(yes / no)).toBeLessThan(eps + 0.08);
    }
  });

  it('1BitMean sends 1 with probability 1/(e^ε+1) + (x/m)(e^ε−1)/(e^ε+1); any two inputs differ by at most e^ε', () => {
    const random = seededRandom(sodium, '1bitmean');
    const n = 30_000;
    const eps = 1;
    const e = Math.exp(eps);
    for (const x of [0, 7, 20]) {
      const p = 1 / (e + 1) + ((x / 20) * (e - 1)) / (e + 1);
      expect(oneBitMeanProbability(x, 20, eps)).toBeCloseTo(p, 15);
      expectShare(count(n, () => oneBitMean(random, x, 20, eps)), n, p);
    }
    // The extremes are the worst case: exactly e^ε for both outputs (the ε-LDP guarantee).
    const p0 = oneBitMeanProbability(0, 20, eps);
    const pm = oneBitMeanProbability(20, 20, eps);
    expect(pm / p0).toBeCloseTo(e, 12);
    expect((1 - p0) / (1 - pm)).toBeCloseTo(e, 12);
    // Values beyond the bound are clamped.
    expect(oneBitMeanProbability(500, 20, eps)).toBe(pm);
  });

  it('a dBitFlip bit is 1 with probability e^(ε/2)/(e^(ε/2)+1) in the bucket, 1/(e^(ε/2)+1) outside', () => {
    const random = seededRandom(sodium, 'dbitflip');
    const n = 30_000;
    const h = Math.exp(1);
    expectShare(count(n, () => dBitFlipBit(random, true, 2)), n, h / (h + 1));
    expectShare(count(n, () => dBitFlipBit(random, false, 2)), n, 1 / (h + 1));
    expect(dBitFlipProbability(true, 2) / dBitFlipProbability(false, 2)).toBeCloseTo(h, 12);
  });

  it('α-point rounding is unbiased over α and stable for a fixed α', () => {
    for (const step of [2, 4]) {
      for (let x = 0; x <= 16; x++) {
        const points = Array.from({ length: step }, (_, alpha) => alphaRound(x, step, alpha, 16));
        expect(points.reduce((a, b) => a + b, 0) / step).toBe(x); // exactly x on average over α
        for (const p of points) expect(p % step === 0 && Math.abs(p - x) < step).toBe(true);
      }
    }
    expect(alphaRound(99, 4, 3, 16)).toBe(16);
    expect(() => alphaRound(3, 5, 0, 16)).toThrow();
    expect(() => alphaRound(3, 4, 4, 16)).toThrow();
  });

  it('orders buckets uniformly at random', () => {
    const random = seededRandom(sodium, 'order');
    const first = new Array(6).fill(0);
    const n = 12_000;
    for (let i = 0; i < n; i++) first[randomOrder(random, 6)[0]!]++;
    for (const c of first) expectShare(c, n, 1 / 6);
  });
});

describe('estimators', () => {
  it('are exactly unbiased: summed over the bit, E[y] is the true value', () => {
    for (const eps of [0.3, 1, 2.5]) {
      for (const x of [0, 3, 11.5, 20]) {
        const p = oneBitMeanProbability(x, 20, eps);
        const a = (bit: 0 | 1): MeanAnswer => ({ mechanism: '1bitmean', epsilon: eps, spent: eps, memo: false, bound: 20, bit });
        expect(p * unbiasedValue(a(1)) + (1 - p) * unbiasedValue(a(0))).toBeCloseTo(x, 10);
      }
      for (const truth of [0, 1]) {
        const p = truth ? rrTruthProbability(eps) : 1 - rrTruthProbability(eps);
        const y = (bit: 0 | 1) => unbiasedValue({ mechanism: 'randomized-response', epsilon: eps, spent: eps, memo: false, bit });
        expect(p * y(1) + (1 - p) * y(0)).toBeCloseTo(truth, 10);
        const q = dBitFlipProbability(truth === 1, eps);
        expect(q * unbiasedBucketBit(1, eps) + (1 - q) * unbiasedBucketBit(0, eps)).toBeCloseTo(truth, 10);
      }
    }
  });

  it('estimate means without bias and their 95% intervals cover the truth about 95% of the time', () => {
    const random = seededRandom(sodium, 'coverage');
    const values = Array.from({ length: 1500 }, (_, i) => (i * 7) % 21); // 0..20, mean 10 (approximately)
    const truth = values.reduce((a, b) => a + b, 0) / values.length;
    const runs = 400;
    let inside = 0;
    let sum = 0;
    let widths = 0;
    for (let r = 0; r < runs; r++) {
      const acc = new MeanAccumulator();
      for (const x of values) acc.add(unbiasedValue({ mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 20, bit: oneBitMean(random, x, 20, 1) }));
      const e = acc.result(20)!;
      sum += e.estimate;
      widths += e.halfWidth;
      if (truth >= e.ciLow && truth <= e.ciHigh) inside++;
    }
    // Theory: sd of one y ≤ m/2·(e+1)/(e−1); the mean of 400 estimates is within 5 standard errors.
    const sdOne = (20 / 2) * ((Math.E + 1) / (Math.E - 1));
    expect(Math.abs(sum / runs - truth)).toBeLessThan((5 * sdOne) / Math.sqrt(values.length * runs));
    expect(widths / runs).toBeLessThanOrEqual((1.96 * sdOne) / Math.sqrt(values.length) + 1e-9);
    expect(inside / runs).toBeGreaterThan(0.92);
    expect(inside / runs).toBeLessThan(0.98);
  });

  it('pool a stable answer once per home (the latest), changing answers once each, and refuse answers that do not fit', () => {
    const pool = new StatisticsPool();
    const cameras = (bit: 0 | 1): Answer => ({ mechanism: '1bitmean', epsilon: 1, spent: 0, memo: true, bound: 16, bit, rounding: 4 });
    const failures = (bit: 0 | 1): Answer => ({ mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 50, bit });
    for (let day = 0; day < 7; day++) {
      pool.add('home-a', day, { cameras: cameras(1), connect_failures: failures(1) });
      pool.add('home-b', day, { cameras: cameras(day === 6 ? 1 : 0) });
    }
    pool.add('home-a', 3, { connect_failures: { ...failures(0), bound: 1000 } as Answer, invented: failures(1) });
    expect(pool.rejected).toBe(2);
    const est = pool.estimates();
    expect(est.cameras_mean!.n).toBe(2); // two homes, whatever the days
    const y1 = unbiasedValue(cameras(1) as MeanAnswer);
    expect(est.cameras_mean!.estimate).toBeCloseTo(y1, 10); // home-b's latest memo is 1
    expect(est.connect_failures_mean!.n).toBe(7);
    expect(STATISTICS.map((s) => s.name)).toEqual(expect.arrayContaining(['cameras_bucket_3_4_share', 'cameras_bucket_9_plus_share', 'has_scale_share', 'weigh_ins_mean']));
  });
});

describe('a home day by day', () => {
  const values = (cameras: number) => ({
    adoption: { activations: 1, cameras, scales: 1 },
    'device-health': { connect_attempts: 10, connect_failures: 2, online_percent: 90, reboots: 0 },
    'scale-usage': { weigh_ins: 3 },
  });
  const stableNames = QUESTIONS.filter((q) => q.stable).map((q) => q.name);
  const stableOf = (answers: Record<string, Record<string, Answer>>) => {
    const all = Object.assign({}, ...Object.values(answers)) as Record<string, Answer>;
    return Object.fromEntries(stableNames.map((q) => [q, all[q]]));
  };

  it('never spends more than the day allows, and only memos are sent once it is spent', () => {
    const random = seededRandom(sodium, 'budget');
    const memos = new MapMemoStore();
    for (let day = 0; day < 40; day++) {
      for (const [remaining, perDay] of [[1, 1], [0.4, 1], [1, 3], [0, 2]] as const) {
        const out = answerDay({ values: values(2), remaining, dailyEpsilon: 1, questionsPerDay: perDay }, memos, random);
        expect(out.spent).toBeLessThanOrEqual(remaining + 1e-9);
        const answers = Object.values(out.answers).flatMap((a) => Object.values(a!));
        expect(answers.reduce((t, a) => t + a.spent, 0)).toBeCloseTo(out.spent, 12);
        if (remaining === 0) expect(answers.every((a) => a.memo && a.spent === 0)).toBe(true);
      }
    }
  });

  it('asks only consented categories', () => {
    const random = seededRandom(sodium, 'consent');
    for (let i = 0; i < 50; i++) {
      const out = answerDay({ values: { 'scale-usage': { weigh_ins: 3 } }, remaining: 1, dailyEpsilon: 1, questionsPerDay: 1 }, new MapMemoStore(), random);
      expect(Object.keys(out.answers)).toEqual(['scale-usage']);
    }
  });

  it('a value that does not change gets the same stable answers for a year, and its lifetime ε stops growing once memoized', () => {
    const random = seededRandom(sodium, 'year');
    const memos = new MapMemoStore();
    const stableSpent: number[] = [];
    let first: unknown;
    let charged = 0;
    for (let day = 1; day <= 365; day++) {
      const out = answerDay({ values: values(3), remaining: 1, dailyEpsilon: 1, questionsPerDay: 1 }, memos, random);
      const stable = stableOf(out.answers as Record<string, Record<string, Answer>>);
      charged += Object.values(stable).reduce((t, a) => t + (a?.spent ?? 0), 0);
      stableSpent.push(charged);
      if (day === 9) first = stable;
      if (day > 9) {
        // Given the memo the stable answers are fixed: identically distributed (here: identical) day after day.
        expect(Object.fromEntries(Object.entries(stable).map(([q, a]) => [q, { ...a!, spent: 0 }]))).toEqual(
          Object.fromEntries(Object.entries(first as Record<string, Answer>).map(([q, a]) => [q, { ...a, spent: 0 }])),
        );
        expect(out.spent).toBe(1); // the day's budget went to one changing question
      }
    }
    // 9 memo pieces (3 answers and 6 bucket bits), each charged once: 9 at day 9 and at day 365.
    expect(stableSpent[8]).toBe(9);
    expect(stableSpent[364]).toBe(9);
    expect(Object.keys((first as { cameras_bucket: { bits: object } }).cameras_bucket.bits)).toHaveLength(6);
  });

  it('a changed value draws one new memo piece (charged once), and never sends a bucket bit of the old value', () => {
    const random = seededRandom(sodium, 'change');
    const memos = new MapMemoStore();
    for (let day = 0; day < 9; day++) answerDay({ values: values(1), remaining: 1, dailyEpsilon: 1, questionsPerDay: 1 }, memos, random);
    const bitsHeld = () => stableNames.reduce((n, q) => n + Object.keys(memos.get(q)?.bits ?? {}).length, 0);
    expect(bitsHeld()).toBe(9);
    expect(bucketOf(CAMERA_BUCKETS, 6)).toBe(4);
    // From 1 camera (bucket 1) to 6 (bucket 4): the bits of buckets 1 and 4 must be drawn anew.
    const out = answerDay({ values: values(6), remaining: 1, dailyEpsilon: 1, questionsPerDay: 1 }, memos, random);
    expect(out.spent).toBe(1);
    expect(bitsHeld()).toBe(10);
    const hist = out.answers.adoption!.cameras_bucket as { bits: Record<string, 0 | 1> };
    const memo = memos.get('cameras_bucket')!;
    // Only a prefix of the secret bucket order is sent, so the missing bits do not show which buckets changed.
    const sent = Object.keys(hist.bits).map(Number);
    expect(new Set(sent)).toEqual(new Set(memo.order!.slice(0, sent.length)));
    for (const [j, bit] of Object.entries(hist.bits)) expect(memo.bits[`${j}:${j === '4' ? 1 : 0}`]).toBe(bit);
    const firstChanged = memo.order!.findIndex((j) => j === 1 || j === 4);
    expect(sent.length).toBeGreaterThanOrEqual(firstChanged);
    expect(sent.length).toBeLessThanOrEqual(firstChanged + 1);
  });
});
