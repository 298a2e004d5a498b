/**
 * Differential privacy for the numbers that leave the hub: the discrete Laplace (two-sided
 * geometric) mechanism, sampled exactly with integer arithmetic only (Canonne, Kamath & Steinke,
 * "The Discrete Gaussian for Differential Privacy", 2020, algorithms 1 and 2), so no floating-point
 * artefact of the noise can reveal the true value. See docs/privacy.md for the reasoning.
 *
 * Randomness comes from a RandomSource; in the hub that is libsodium's CSPRNG. A seeded source is
 * only ever constructed by tests.
 */
import type { SodiumApi } from '../crypto/sodium.js';
import { METRICS, type Category, type MetricValues } from './categories.js';
import { clampToBounds } from './aggregate.js';

export const MECHANISM = 'discrete-laplace';

/** Epsilon is used in millionths, rounded down, so the epsilon actually spent never exceeds the stated one. */
export const EPSILON_RESOLUTION = 1_000_000;

/** Released values are cut to this range (post-processing; never reached in practice). */
export const MAX_RELEASED = 1_000_000;

export interface RandomSource {
  /** A uniformly random integer in [0, upperBound), for 1 <= upperBound <= 2^32 - 1. */
  uniform(upperBound: number): number;
}

/** libsodium's CSPRNG (randombytes_uniform: unbiased, from the OS generator). */
export function sodiumRandom(sodium: SodiumApi): RandomSource {
  return { uniform: (upperBound) => sodium.randombytes_uniform(upperBound) };
}

const UINT32_MAX = 0xffff_ffff;
const TWO_POW_53 = 2 ** 53;

/** Uniform integer in [0, n) for any safe integer n >= 1, by rejection from 53 random bits. */
export function uniformBelow(random: RandomSource, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError('uniformBelow needs a safe integer >= 1');
  if (n <= UINT32_MAX) return random.uniform(n);
  const limit = Math.floor(TWO_POW_53 / n) * n;
  for (;;) {
    const r = random.uniform(2 ** 26) * 2 ** 27 + random.uniform(2 ** 27);
    if (r < limit) return r % n;
  }
}

/** Bernoulli(num / den), exactly. */
export function bernoulli(random: RandomSource, num: number, den: number): boolean {
  return uniformBelow(random, den) < num;
}

/** Bernoulli(exp(-num / den)) for num >= 0, exactly (CKS algorithm 1). */
export function bernoulliExpNeg(random: RandomSource, num: number, den: number): boolean {
  const whole = Math.floor(num / den);
  // exp(-γ) = exp(-1)^floor(γ) · exp(-(γ - floor(γ))): one coin per whole unit, one for the rest.
  for (let i = 0; i < whole; i++) if (!bernoulliExpNegAtMostOne(random, 1, 1)) return false;
  return bernoulliExpNegAtMostOne(random, num - whole * den, den);
}

/** Bernoulli(exp(-γ)) for γ = num/den in [0, 1]: K is the first k with Bernoulli(γ/k) = 0; true when K is odd. */
function bernoulliExpNegAtMostOne(random: RandomSource, num: number, den: number): boolean {
  let k = 1;
  while (bernoulli(random, num, den * k)) k++;
  return k % 2 === 1;
}

/**
 * One sample of the discrete Laplace distribution with scale t/s: P(x) ∝ exp(-|x|·s/t)
 * (CKS algorithm 2). t and s are positive integers.
 */
export function sampleDiscreteLaplace(random: RandomSource, t: number, s: number): number {
  if (!Number.isSafeInteger(t) || !Number.isSafeInteger(s) || t < 1 || s < 1) throw new RangeError('scale must be a ratio of positive integers');
  for (;;) {
    const u = uniformBelow(random, t);
    if (!bernoulliExpNeg(random, u, t)) continue;
    let v = 0;
    while (bernoulliExpNeg(random, 1, 1)) v++;
    const y = Math.floor((u + t * v) / s);
    const negative = bernoulli(random, 1, 2);
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

export interface NoiseParameters {
  /** Noise for a metric with this bound has scale t/s = bound / epsilonPerMetric. */
  t: number;
  s: number;
  /** exp(-s/t): the geometric ratio, P(x) = (1-alpha)/(1+alpha) * alpha^|x|. */
  alpha: number;
}

/**
 * The report's epsilon is split evenly over the category's metrics (sequential composition), and
 * each metric's noise is sized to its bound (its sensitivity after clamping).
 */
export function noiseParameters(bound: number, epsilonPerReport: number, metricsInReport: number): NoiseParameters {
  const s = Math.floor(epsilonPerReport * EPSILON_RESOLUTION);
  if (s < 1) throw new RangeError('epsilon is too small');
  const t = bound * metricsInReport * EPSILON_RESOLUTION;
  return { t, s, alpha: Math.exp(-s / t) };
}

export interface PrivateRelease {
  values: MetricValues;
  mechanism: typeof MECHANISM;
  epsilon: number;
  bounds: Record<string, number>;
}

/** Clamps a category's raw values to their bounds and adds discrete Laplace noise to each. */
export function privatize(category: Category, raw: MetricValues, epsilon: number, random: RandomSource): PrivateRelease {
  const specs = METRICS[category];
  const clamped = clampToBounds(category, raw);
  const values: MetricValues = {};
  const bounds: Record<string, number> = {};
  for (const m of specs) {
    const { t, s } = noiseParameters(m.bound, epsilon, specs.length);
    const noisy = clamped[m.name]! + sampleDiscreteLaplace(random, t, s);
    values[m.name] = Math.max(-MAX_RELEASED, Math.min(MAX_RELEASED, noisy));
    bounds[m.name] = m.bound;
  }
  return { values, mechanism: MECHANISM, epsilon, bounds };
}
