/**
 * The soak's BlueZ churn in small form, so every `npm test` proves it: the compiled daemon reads a
 * scale while BlueZ is killed and restarted and the adapter unplugged and plugged back in turns;
 * after every fault a new weigh-in is stored, the web UI answers, and memory stays bounded.
 * `npm run soak` runs 30 faults.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { bluezChurnSoak } from '../scripts/soak.mjs';
import { recordTally } from './helpers/robustness.js';

interface ChurnResult {
  rounds: number;
  weighIns: number;
  stored: number;
  lost: number;
  healthFailures: number;
  rssAfterFirstKiB: number;
  rssAfterLastKiB: number;
}

describe('BlueZ faults under the daemon', () => {
  it('BlueZ killed and the adapter unplugged, in turns: every weigh-in after a fault is stored, the hub keeps serving', async () => {
    const r = (await bluezChurnSoak({ rounds: 4 })) as ChurnResult;
    recordTally({ surface: 'bluez-churn', tried: r.rounds, refused: 0, accepted: r.stored, crashes: 0, dataLost: r.lost });
    expect(r.weighIns).toBe(4);
    expect(r.lost).toBe(0);
    expect(r.healthFailures).toBe(0);
    expect(r.rssAfterLastKiB - r.rssAfterFirstKiB).toBeLessThan(50 * 1024);
  }, 120_000);
});
