/**
 * Local differential privacy mechanisms for single bits (Ding, Kulkarni & Yekhanin, "Collecting
 * Telemetry Data Privately", NeurIPS 2017; Warner 1965): randomized response, 1BitMean, the bits of
 * dBitFlip, and α-point rounding for memoization. Pure functions of their inputs and a RandomSource
 * (libsodium's CSPRNG in the hub; seeded sources only in tests and the benchmark's simulation).
 */
import type { RandomSource } from '../dp.js';

const TWO_POW_53 = 2 ** 53;

/**
 * Bernoulli(p) for a real p ∈ [0, 1], from 53 random bits: true with probability ⌊p·2^53⌋ / 2^53,
 * within 2^-53 of p (far below anything an observer could measure).
 */
export function bernoulliReal(random: RandomSource, p: number): boolean {
  if (!(p >= 0 && p <= 1)) throw new RangeError('probability must be in [0, 1]');
  const u = random.uniform(2 ** 26) * 2 ** 27 + random.uniform(2 ** 27); // uniform in [0, 2^53)
  return u < Math.floor(p * TWO_POW_53);
}

function checkEpsilon(epsilon: number): void {
  if (!(epsilon > 0 && epsilon <= 40)) throw new RangeError('epsilon must be in (0, 40]');
}

/** Randomized response: P(answer = truth) = e^ε / (1 + e^ε). */
export function rrTruthProbability(epsilon: number): number {
  checkEpsilon(epsilon);
  return 1 / (1 + Math.exp(-epsilon));
}

export function randomizedResponse(random: RandomSource, truth: boolean, epsilon: number): 0 | 1 {
  const keep = bernoulliReal(random, rrTruthProbability(epsilon));
  return (keep ? truth : !truth) ? 1 : 0;
}

/** 1BitMean: P(bit = 1) = 1/(e^ε+1) + (x/bound)·(e^ε−1)/(e^ε+1), for x ∈ [0, bound]. */
export function oneBitMeanProbability(x: number, bound: number, epsilon: number): number {
  checkEpsilon(epsilon);
  if (!(bound > 0)) throw new RangeError('bound must be positive');
  const t = Math.min(1, Math.max(0, x / bound));
  const e = Math.exp(epsilon);
  return 1 / (e + 1) + (t * (e - 1)) / (e + 1);
}

export function oneBitMean(random: RandomSource, x: number, bound: number, epsilon: number): 0 | 1 {
  return bernoulliReal(random, oneBitMeanProbability(x, bound, epsilon)) ? 1 : 0;
}

/** One dBitFlip bit: P(bit = 1) = e^(ε/2)/(e^(ε/2)+1) if the value is in the bucket, else 1/(e^(ε/2)+1). */
export function dBitFlipProbability(inBucket: boolean, epsilon: number): number {
  checkEpsilon(epsilon);
  const h = Math.exp(epsilon / 2);
  return inBucket ? h / (h + 1) : 1 / (h + 1);
}

export function dBitFlipBit(random: RandomSource, inBucket: boolean, epsilon: number): 0 | 1 {
  return bernoulliReal(random, dBitFlipProbability(inBucket, epsilon)) ? 1 : 0;
}

/**
 * α-point rounding of an integer x ∈ [0, bound] to the grid 0, step, 2·step, …, bound: with L the
 * grid point at or below x, x rounds up to L + step when (x − L) + α ≥ step, else down to L. With α
 * uniform in {0, …, step − 1} (drawn once per home and metric, kept sealed), E[rounded] = x; and a
 * value that does not change always rounds to the same point, so its memoized answer is reused.
 */
export function alphaRound(x: number, step: number, alpha: number, bound: number): number {
  if (!Number.isInteger(step) || step < 1 || bound % step !== 0) throw new RangeError('the rounding step must divide the bound');
  if (!Number.isInteger(alpha) || alpha < 0 || alpha >= step) throw new RangeError('alpha must be an integer in [0, step)');
  const v = Math.min(bound, Math.max(0, Math.round(x)));
  const low = Math.floor(v / step) * step;
  return v - low + alpha >= step ? low + step : low;
}

/** A uniformly random order of 0..n-1 (Fisher–Yates). */
export function randomOrder(random: RandomSource, n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.uniform(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
