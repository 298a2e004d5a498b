/**
 * The privacy benchmark's simulation: homes with true daily metric values (a synthetic population or
 * a --truth file) answer, day by day, through the hub's own code (dist/metrics/ldp/daily.js: question
 * choice, encoding, memoization, budget), and the maker's estimators (dist/metrics/ldp/estimators.js)
 * pool the last D days. Nothing is signed: a report's signature does not change its bits.
 *
 * Randomness: a fast seeded generator (xoshiro128**) stands in for the hub's libsodium CSPRNG; the
 * mechanisms take any uniform source, so the bits have the same distribution.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
const { answerDay, MapMemoStore } = await import(`${DIST}metrics/ldp/daily.js`);
const { StatisticsPool, STATISTICS, Z95 } = await import(`${DIST}metrics/ldp/estimators.js`);
const { QUESTIONS, questionValue } = await import(`${DIST}metrics/ldp/questions.js`);
const { METRICS, CATEGORIES } = await import(`${DIST}metrics/categories.js`);
const { noiseParameters } = await import(`${DIST}metrics/dp.js`);

export { STATISTICS, QUESTIONS, METRICS };

/** xoshiro128** from a string seed (splitmix32 to fill the state): a RandomSource for simulation only. */
export function seededSource(seed) {
  let h = 0x9e3779b9;
  for (const ch of String(seed)) h = Math.imul(h ^ ch.charCodeAt(0), 0x85ebca6b) >>> 0;
  const split = () => {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const next = () => {
    const r = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t; d = rotl(d, 11);
    c >>>= 0; d >>>= 0; b >>>= 0; a >>>= 0;
    return r;
  };
  return {
    next,
    uniform(n) {
      const limit = 2 ** 32 - (2 ** 32 % n);
      for (;;) {
        const r = next();
        if (r < limit) return r % n;
      }
    },
  };
}
const rotl = (x, k) => ((x << k) | (x >>> (32 - k))) >>> 0;

function uniform01(rng) {
  return (rng.next() >>> 5) * 2 ** -27 + (rng.next() >>> 6) * 2 ** -53;
}

function poisson(rng, lambda) {
  if (lambda <= 0) return 0;
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= uniform01(rng);
  } while (p > l);
  return k - 1;
}

function pickWeighted(rng, weights) {
  let u = uniform01(rng) * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((u -= weights[i]) < 0) return i;
  return weights.length - 1;
}

/**
 * The synthetic population (docs/privacy.md): per home a fixed number of cameras and scales and
 * fixed habits; per day counts drawn around those habits.
 */
export function syntheticHome(rng) {
  const cameras = [0, 1, 2, 3, 4, 5, 6, 8, 10, 12][pickWeighted(rng, [8, 34, 24, 12, 6, 5, 4, 3, 2, 2])];
  const scales = [0, 1, 2, 3][pickWeighted(rng, [55, 37, 6, 2])];
  const failRate = 0.01 + 0.3 * uniform01(rng) ** 3;
  const attemptsPerCamera = 1 + 4 * uniform01(rng);
  const uptime = cameras === 0 ? 0 : 60 + 40 * uniform01(rng) ** 0.3;
  const members = 1 + pickWeighted(rng, [30, 35, 20, 15]);
  return {
    day(r) {
      const attempts = poisson(r, cameras * attemptsPerCamera);
      let failures = 0;
      for (let i = 0; i < attempts; i++) if (uniform01(r) < failRate) failures++;
      return {
        activations: poisson(r, cameras * 0.15),
        cameras,
        scales,
        connect_attempts: attempts,
        connect_failures: failures,
        online_percent: cameras === 0 ? 0 : Math.min(100, Math.max(0, Math.round(uptime + 8 * (uniform01(r) - 0.5)))),
        reboots: poisson(r, cameras * 0.05),
        weigh_ins: scales === 0 ? 0 : poisson(r, members * 0.6),
      };
    },
  };
}

/** Homes from a JSON-lines file: one object of metric values per home, the same every day; missing keys are 0. */
export function homesFromFile(path) {
  const known = new Set(CATEGORIES.flatMap((c) => METRICS[c].map((m) => m.name)));
  const lines = readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0) throw new Error(`${path}: no homes`);
  return lines.map((line, i) => {
    let obj;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not JSON`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`${path}:${i + 1}: not an object`);
    const values = {};
    for (const name of known) {
      const v = obj[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new Error(`${path}:${i + 1}: ${name} must be a number >= 0`);
      values[name] = v ?? 0;
    }
    for (const k of Object.keys(obj)) if (!known.has(k)) throw new Error(`${path}:${i + 1}: unknown metric "${k}"`);
    return { day: () => values };
  });
}

function categoryValues(values) {
  const out = {};
  for (const c of CATEGORIES) out[c] = Object.fromEntries(METRICS[c].map((m) => [m.name, values[m.name] ?? 0]));
  return out;
}

/**
 * Days a home needs before its stable answers are complete: each memo piece takes one slot, and a
 * question gets at most one piece a day (a histogram's bucket bits come one a day).
 */
export function warmupDays(questionsPerDay) {
  const pieces = QUESTIONS.filter((q) => q.stable).map((q) => (q.kind === 'histogram' ? q.buckets.length : 1));
  return Math.max(Math.ceil(pieces.reduce((a, b) => a + b, 0) / questionsPerDay), ...pieces);
}

/**
 * One run: `homes` homes (a factory per index), `warmup` days before the pooled `days`. Returns every
 * statistic's estimate, interval and truth.
 */
export function simulate({ homes, makeHome, days, warmup, dailyEpsilon, questionsPerDay, seed }) {
  const rng = seededSource(seed);
  const pool = new StatisticsPool();
  const truth = new Map(STATISTICS.map((s) => [s.name, { sum: 0, n: 0 }]));
  const addTruth = (name, v) => {
    const t = truth.get(name);
    t.sum += v;
    t.n++;
  };
  for (let h = 0; h < homes; h++) {
    const home = makeHome(h, rng);
    const memos = new MapMemoStore();
    const id = `home-${h}`;
    let last;
    for (let d = 0; d < warmup + days; d++) {
      const values = home.day(rng);
      const day = answerDay({ values: categoryValues(values), remaining: dailyEpsilon, dailyEpsilon, questionsPerDay }, memos, rng);
      if (d < warmup) continue;
      const answers = Object.assign({}, ...Object.values(day.answers));
      pool.add(id, d, answers);
      last = values;
      // Truth of changing questions: the mean over all home-days of the pooled days.
      for (const q of QUESTIONS) if (!q.stable) addTruth(q.kind === 'mean' ? `${q.name}_mean` : `${q.name}_share`, questionValue(q, values));
    }
    // Truth of stable questions: the mean over homes (their value on the last day).
    for (const q of QUESTIONS.filter((x) => x.stable)) {
      const v = questionValue(q, last);
      if (q.kind === 'mean') addTruth(`${q.name}_mean`, v);
      else if (q.kind === 'yes-no') addTruth(`${q.name}_share`, v);
      else STATISTICS.filter((s) => s.question === q.name).forEach((s) => addTruth(s.name, v === s.bucket ? 1 : 0));
    }
  }
  const estimates = pool.estimates();
  const out = {};
  for (const s of STATISTICS) {
    const e = estimates[s.name];
    const t = truth.get(s.name);
    const tv = t.sum / t.n;
    out[s.name] = e
      ? { estimate: e.estimate, ci_low: e.ciLow, ci_high: e.ciHigh, truth: tv, half_width_share_of_range: e.halfWidth / s.range, inside: tv >= e.ciLow && tv <= e.ciHigh, n: e.n }
      : { estimate: null, ci_low: null, ci_high: null, truth: tv, half_width_share_of_range: null, inside: false, n: 0 };
  }
  return out;
}

/**
 * Format 1 for comparison, from its formula (the discrete Laplace variance 2α/(1−α)², checked by
 * test/privacy-dp.test.ts): one report per category and day with ε 0.5 split over the category's
 * metrics; the maker averages all home-days of the pooled days. Stable values are re-noised daily,
 * so a week of them costs 7 × 0.5 and averages 7 draws. Population spread is added from the truth.
 */
export function formatOneHalfWidths({ homes, days, epsilonPerReport = 0.5, populationVariance }) {
  const out = {};
  for (const c of CATEGORIES) {
    for (const m of METRICS[c]) {
      const { alpha } = noiseParameters(m.bound, epsilonPerReport, METRICS[c].length);
      const noise = (2 * alpha) / (1 - alpha) ** 2;
      const variance = (noise + (populationVariance[m.name] ?? 0)) / (homes * days);
      out[`${m.name}_mean`] = (Z95 * Math.sqrt(variance)) / m.bound;
    }
  }
  return out;
}

/** Population variance of each clamped metric over home-days (for the format 1 comparison). */
export function populationVariance({ homes, makeHome, days, seed }) {
  const rng = seededSource(`${seed}:var`);
  const acc = {};
  const all = CATEGORIES.flatMap((c) => METRICS[c]);
  for (const m of all) acc[m.name] = { s: 0, s2: 0, n: 0 };
  for (let h = 0; h < Math.min(homes, 20_000); h++) {
    const home = makeHome(h, rng);
    for (let d = 0; d < days; d++) {
      const v = home.day(rng);
      for (const m of all) {
        const x = Math.min(m.bound, Math.max(0, Math.round(v[m.name] ?? 0)));
        acc[m.name].s += x;
        acc[m.name].s2 += x * x;
        acc[m.name].n++;
      }
    }
  }
  return Object.fromEntries(Object.entries(acc).map(([k, a]) => [k, a.s2 / a.n - (a.s / a.n) ** 2]));
}
