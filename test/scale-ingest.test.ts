/**
 * The ingest between the reader and the store, on a real vault with an injected clock: repeats
 * merge, members are assigned by recent weights within the configured tolerance, repeats survive
 * a restart, a flooding scale is capped, and a failing store is counted rather than thrown.
 */
import { enrolScale } from './helpers/enrol.js';
import { afterAll, describe, expect, it } from 'vitest';
import { openVault } from '../src/store/vault.js';
import { Counters } from '../src/store/counters.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import { ScaleIngest, type ScaleIngestOptions } from '../src/devices/scale/ingest.js';
import { emptyMeasurement, type ScaleMeasurement } from '../src/devices/scale/measurement.js';
import { MemberStore } from '../src/members/store.js';
import { createLogger } from '../src/log/logger.js';
import { tempDir } from './helpers/hub.js';

const dirs: { cleanup(): void }[] = [];
afterAll(() => dirs.forEach((d) => d.cleanup()));

const kg = (weightKg: number, extra: Partial<ScaleMeasurement> = {}): ScaleMeasurement => ({ ...emptyMeasurement('mi-scale-2', 'kg'), weightKg, weightReported: weightKg, ...extra });

async function setup(opts: Partial<ScaleIngestOptions> = {}) {
  const d = tempDir();
  dirs.push(d);
  const vault = await openVault(d.path, {}, { create: true });
  const store = new ScaleStore(vault.db, vault.sealer);
  const members = new MemberStore(vault.db, vault.sealer);
  const counters = new Counters(vault.db);
  const scale = await enrolScale(vault, 'C8:47:8C:00:00:09', 'Bathroom');
  let clock = 1_750_000_000_000;
  const lines: string[] = [];
  const make = () =>
    new ScaleIngest({ store, members, counters, logger: createLogger({ sink: (l) => lines.push(l) }), assignToleranceKg: 1.5, now: () => clock, ...opts });
  return { vault, store, members, counters, scale, lines, make, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('scale ingest', () => {
  it('stores one weigh-in per burst and assigns it by recent weights within the tolerance', async () => {
    const t = await setup();
    const anna = t.members.add('Anna');
    const ben = t.members.add('Ben');
    const ingest = t.make();
    // History: Anna about 61 kg, Ben about 84 kg.
    t.store.record({ deviceId: t.scale.id, measurement: kg(61), measuredAt: t.now() - 86_400_000 }, { memberId: anna.id, reason: 'match' });
    t.store.record({ deviceId: t.scale.id, measurement: kg(84), measuredAt: t.now() - 86_400_000 }, { memberId: ben.id, reason: 'match' });

    for (let i = 0; i < 5; i++) ingest.push(t.scale.id, kg(61.8), t.now() + i * 100);
    t.advance(10_000);
    ingest.tick();
    ingest.push(t.scale.id, kg(83.1), t.now());
    ingest.push(t.scale.id, kg(83.1, { weightRemoved: true }), t.now() + 200);
    t.advance(10_000);
    // 72 kg is within 1.5 kg of nobody: left for the household to resolve.
    ingest.push(t.scale.id, kg(72), t.now());
    t.advance(10_000);
    ingest.tick();

    const rows = t.store.list({ limit: 10 }).filter((m) => m.measuredAt >= t.now() - 60_000);
    expect(rows.map((m) => [m.measurement.weightKg, m.memberId]).sort()).toEqual([
      [61.8, anna.id],
      [72, null],
      [83.1, ben.id],
    ]);
    expect(t.lines.filter((l) => l.includes('weigh-in stored')).map((l) => /reason=(\S+)/.exec(l)?.[1])).toEqual(['match', 'match', 'no-match']);
  });

  it('drops repeats of a weigh-in stored just before a restart', async () => {
    const t = await setup();
    const first = t.make();
    first.push(t.scale.id, kg(70, { scaleTime: '2025-06-15T08:00:00', weightRemoved: true }));
    expect(t.store.list()).toHaveLength(1);
    t.advance(5_000);
    const second = t.make(); // the daemon restarted while the scale still advertises
    second.push(t.scale.id, kg(70, { scaleTime: '2025-06-15T08:00:00', weightRemoved: true }));
    t.advance(10_000);
    second.tick();
    expect(t.store.list()).toHaveLength(1);
  });

  it('caps the weigh-ins one scale can store per hour, and says so once', async () => {
    const t = await setup({ maxPerScalePerHour: 3 });
    const ingest = t.make();
    for (let i = 0; i < 8; i++) {
      ingest.push(t.scale.id, kg(50 + i, { weightRemoved: true }));
      t.advance(1_000);
    }
    expect(t.store.list()).toHaveLength(3);
    expect(t.counters.snapshot()['scale.rate_limited']).toBe(5);
    expect(t.lines.filter((l) => l.includes('more weigh-ins than a household makes'))).toHaveLength(1);
    t.advance(3_600_000);
    ingest.push(t.scale.id, kg(90, { weightRemoved: true }));
    expect(t.store.list()).toHaveLength(4);
  });

  it('keeps weigh-ins the store refuses and stores them once it accepts writes again', async () => {
    const t = await setup();
    const ingest = t.make();
    t.vault.db.pragma('query_only = ON'); // every write now fails, as on a full or read-only disk
    expect(() => ingest.push(t.scale.id, kg(70, { weightRemoved: true }))).not.toThrow();
    t.advance(60_000);
    ingest.push(t.scale.id, kg(82, { weightRemoved: true }));
    for (let i = 0; i < 3; i++) ingest.tick(t.advance(1_000));
    expect(ingest.unstoredCount()).toBe(2);
    expect(t.counters.snapshot()['scale.store_failed']).toBe(1);
    expect(t.lines.filter((l) => l.startsWith('ERROR could not store a weigh-in'))).toHaveLength(1);

    t.vault.db.pragma('query_only = OFF');
    ingest.tick(t.advance(1_000));
    expect(ingest.unstoredCount()).toBe(0);
    expect(t.store.list().map((m) => m.measurement.weightKg).sort()).toEqual([70, 82]);
    expect(t.lines.some((l) => l.startsWith('INFO storing weigh-ins again'))).toBe(true);
  });
});
