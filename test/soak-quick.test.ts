/**
 * The soak's fault runs in small form, so every `npm test` proves them: power cuts under load lose
 * no acknowledged message, and a reconnect storm neither stops the hub nor grows its memory without
 * bound. `npm run soak` runs the long version (20 power cuts, 10 storms).
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script without type declarations
import { powerCutSoak, reconnectStorm } from '../scripts/soak.mjs';
import { recordTally } from './helpers/robustness.js';

interface PowerCutResult {
  rounds: number;
  acked: number;
  checked: number;
  lost: number;
  integrityFailures: number;
}
interface StormResult {
  reconnects: number;
  refusedReconnects: number;
  bystanderAcked: number;
  bystanderFailed: number;
  rssAfterFirstKiB: number;
  rssAfterLastKiB: number;
}

describe('faults under load', () => {
  it('SIGKILL at random moments while 50 cameras publish: every PUBACKed message survives, integrity holds', async () => {
    const r = (await powerCutSoak({ cameras: 50, rounds: 3, seed: 7 })) as PowerCutResult;
    recordTally({ surface: 'power-cut', tried: r.checked, refused: 0, accepted: r.checked, crashes: 0, dataLost: r.lost });
    expect(r.acked).toBeGreaterThan(1000);
    expect(r.integrityFailures).toBe(0);
    expect(r.lost).toBe(0);
  }, 120_000);

  it('200 cameras reconnecting at once: the hub keeps serving a bystander and its memory stays bounded', async () => {
    const r = (await reconnectStorm({ cameras: 200, storms: 3 })) as StormResult;
    recordTally({ surface: 'reconnect-storm', tried: r.reconnects, refused: r.refusedReconnects, accepted: r.reconnects - r.refusedReconnects, crashes: 0, dataLost: 0 });
    expect(r.refusedReconnects).toBe(0);
    expect(r.bystanderFailed).toBe(0);
    expect(r.bystanderAcked).toBeGreaterThan(10);
    // Two further storms of 200 reconnects may not add more than a few MiB.
    expect(r.rssAfterLastKiB - r.rssAfterFirstKiB).toBeLessThan(24 * 1024);
  }, 120_000);
});
