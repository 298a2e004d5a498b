/**
 * The discrete Laplace mechanism, statistically: over many draws with a fixed seed, the mean,
 * spread, mass at zero and the geometric decay between neighbouring values (which is exactly the
 * epsilon-DP guarantee) match the formulas in docs/privacy.md.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import { METRICS } from '../src/metrics/categories.js';
import { bernoulliExpNeg, noiseParameters, privatize, sampleDiscreteLaplace, sodiumRandom, uniformBelow } from '../src/metrics/dp.js';
import { seededRandom } from './uplink-helpers.js';

let sodium: SodiumApi;
beforeAll(async () => {
  sodium = await loadSodium();
});

function stats(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

/** Theory for P(x) = (1-a)/(1+a) a^|x|. */
function theory(alpha: number) {
  return { p0: (1 - alpha) / (1 + alpha), variance: (2 * alpha) / (1 - alpha) ** 2 };
}

describe('discrete Laplace sampler', () => {
  it('has mean 0, variance 2a/(1-a)^2 and P(0) = (1-a)/(1+a) at a small scale', () => {
    const random = seededRandom(sodium, 'dp-small');
    const n = 40_000;
    const xs = Array.from({ length: n }, () => sampleDiscreteLaplace(random, 2, 1)); // scale 2
    const alpha = Math.exp(-1 / 2);
    const { p0, variance } = theory(alpha);
    const s = stats(xs);
    expect(Math.abs(s.mean)).toBeLessThan(5 * Math.sqrt(variance / n));
    expect(s.variance / variance).toBeGreaterThan(0.9);
    expect(s.variance / variance).toBeLessThan(1.1);
    const zeros = xs.filter((x) => x === 0).length / n;
    expect(Math.abs(zeros - p0)).toBeLessThan(5 * Math.sqrt((p0 * (1 - p0)) / n));
    // Symmetric: as many positive as negative draws.
    const pos = xs.filter((x) => x > 0).length;
    const neg = xs.filter((x) => x < 0).length;
    expect(Math.abs(pos - neg)).toBeLessThan(5 * Math.sqrt(pos + neg));
  });

  it('decays by the factor a = exp(-epsilon/sensitivity) between neighbouring values (the DP guarantee)', () => {
    const random = seededRandom(sodium, 'dp-ratio');
    const n = 60_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const x = Math.abs(sampleDiscreteLaplace(random, 2, 1));
      counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    const alpha = Math.exp(-1 / 2);
    // |x| = k has mass 2·p0·a^k for k >= 1, so consecutive ratios are a.
    for (const k of [1, 2, 3]) {
      const ratio = counts.get(k + 1)! / counts.get(k)!;
      expect(ratio).toBeGreaterThan(alpha - 0.05);
      expect(ratio).toBeLessThan(alpha + 0.05);
    }
  });

  it('matches the theory at the scale a real metric uses (bound 16, epsilon 0.5 over 3 metrics)', () => {
    const random = seededRandom(sodium, 'dp-real');
    const { t, s, alpha } = noiseParameters(16, 0.5, 3);
    expect(t / s).toBeCloseTo(96, 6); // scale = bound / (epsilon / metrics)
    const n = 20_000;
    const xs = Array.from({ length: n }, () => sampleDiscreteLaplace(random, t, s));
    const { variance } = theory(alpha);
    const st = stats(xs);
    expect(Math.abs(st.mean)).toBeLessThan(5 * Math.sqrt(variance / n));
    expect(st.variance / variance).toBeGreaterThan(0.9);
    expect(st.variance / variance).toBeLessThan(1.1);
    expect(xs.every(Number.isInteger)).toBe(true);
  });

  it('never spends more epsilon than stated (epsilon is rounded down to millionths)', () => {
    for (const eps of [0.5, 1 / 3, 0.01, 4.999999999]) {
      for (const bound of [1, 5, 100]) {
        const { t, s } = noiseParameters(bound, eps, 4);
        const spentPerMetric = (s / t) * bound; // epsilon of one metric with this sensitivity
        expect(spentPerMetric * 4).toBeLessThanOrEqual(eps + 1e-12);
        expect(spentPerMetric * 4).toBeGreaterThan(eps - 1e-5);
      }
    }
  });

  it('samples Bernoulli(exp(-gamma)) exactly, including gamma above 1', () => {
    const random = seededRandom(sodium, 'bern');
    const n = 40_000;
    for (const [num, den] of [[7, 10], [23, 10], [0, 5]] as const) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (bernoulliExpNeg(random, num, den)) hits++;
      const p = Math.exp(-num / den);
      expect(Math.abs(hits / n - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    }
  });

  it('draws uniform integers above 2^32 without bias', () => {
    const random = seededRandom(sodium, 'big');
    const n = 3 * 2 ** 32 + 7;
    const xs = Array.from({ length: 20_000 }, () => uniformBelow(random, n));
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x < n)).toBe(true);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(Math.abs(mean / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / xs.length));
  });

  it('is reproducible with a seed in tests, and unpredictable from libsodium in the hub', () => {
    const a = Array.from({ length: 50 }, ((r) => () => sampleDiscreteLaplace(r, 10, 1))(seededRandom(sodium, 'x')));
    const b = Array.from({ length: 50 }, ((r) => () => sampleDiscreteLaplace(r, 10, 1))(seededRandom(sodium, 'x')));
    const c = Array.from({ length: 50 }, ((r) => () => sampleDiscreteLaplace(r, 10, 1))(seededRandom(sodium, 'y')));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const live = sodiumRandom(sodium);
    const n = 5000;
    const xs = Array.from({ length: n }, () => sampleDiscreteLaplace(live, 10, 1));
    const { variance } = theory(Math.exp(-1 / 10));
    const st = stats(xs);
    expect(Math.abs(st.mean)).toBeLessThan(6 * Math.sqrt(variance / n));
    expect(st.variance / variance).toBeGreaterThan(0.75);
    expect(st.variance / variance).toBeLessThan(1.25);
  });
});

describe('privatize', () => {
  it('clamps each metric to its bound before noise, so the released mean is the clamped value', () => {
    const random = seededRandom(sodium, 'privatize');
    const n = 4000;
    const sums = { activations: 0, cameras: 0, scales: 0 };
    for (let i = 0; i < n; i++) {
      const r = privatize('adoption', { activations: 2, cameras: 1000, scales: -3 }, 0.5, random);
      expect(r.mechanism).toBe('discrete-laplace');
      expect(r.epsilon).toBe(0.5);
      expect(r.bounds).toEqual({ activations: 5, cameras: 16, scales: 4 });
      for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r.values[k]!;
    }
    const scale = (bound: number) => (bound * 3) / 0.5;
    const sd = (bound: number) => Math.sqrt(theory(Math.exp(-1 / scale(bound))).variance / n);
    expect(Math.abs(sums.activations / n - 2)).toBeLessThan(5 * sd(5));
    expect(Math.abs(sums.cameras / n - 16)).toBeLessThan(5 * sd(16)); // 1000 clamped to 16
    expect(Math.abs(sums.scales / n - 0)).toBeLessThan(5 * sd(4)); // -3 clamped to 0
  });

  it('releases exactly the allow-listed metrics of the category', () => {
    const random = seededRandom(sodium, 'names');
    for (const category of ['adoption', 'device-health', 'scale-usage'] as const) {
      const r = privatize(category, { weigh_ins: 3, extra_value: 70 }, 0.5, random);
      expect(Object.keys(r.values).sort()).toEqual(METRICS[category].map((m) => m.name).sort());
    }
  });
});
