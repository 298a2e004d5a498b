/**
 * Retention (store/retention.ts, migration 60) against real SQLite files: events older than the
 * retention are rolled up per device, day and type (the roll-ups equal a GROUP BY over what was
 * there) and then deleted, in many small transactions with the loop's turn between them; the
 * sealed bytes of purged events are gone from the file; the ledger and weigh-ins follow their own
 * settings; the free pages go back to the file system; an old database is switched to incremental
 * vacuum once; `databaseStats` and `hearth db stats` tell the truth; the daemon's service warns of
 * low disk space once and announces its purges on the bus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainBus } from '../src/bus/bus.js';
import type { DomainEvent } from '../src/bus/events.js';
import type { CameraRecord } from '../src/devices/camera/store.js';
import { newDeviceId } from '../src/devices/registry.js';
import { createLogger } from '../src/log/logger.js';
import { DB_FILE_NAME, openDatabase, PAGE_CACHE_KIB, type Db } from '../src/store/database.js';
import { databaseStats } from '../src/store/db-stats.js';
import { EventTotals } from '../src/store/event-totals.js';
import { DAY_MS, enableIncrementalVacuumOnce, Retention, rolledUpDays } from '../src/store/retention.js';
import { RetentionService } from '../src/store/retention-service.js';
import { truncateWal } from '../src/store/scrub.js';
import { cameraStoreRig } from './helpers/camera-store.js';
import { openVault } from '../src/store/vault.js';
import { cli, enrolCamera, startDaemon, tempDir } from './helpers/hub.js';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const TYPES = ['motion', 'sound', 'reboot'];

/** `perDay` events a day for each of `days` days before NOW, spread over the cameras and types. */
function history(ids: string[], days: number, perDay: number): CameraRecord[] {
  const out: CameraRecord[] = [];
  for (let d = days; d >= 0; d--) {
    for (let i = 0; i < perDay; i++) {
      const at = NOW - d * DAY_MS + i * 1000;
      out.push({ kind: 'event', deviceId: ids[(d + i) % ids.length]!, event: { type: TYPES[i % TYPES.length]!, ts: at, detail: `front door ${d}/${i}` }, at } as CameraRecord);
    }
  }
  return out;
}

function dayCounts(db: Db, where: string, arg: number): { device_id: string; day: number; type: string; n: number }[] {
  return db.prepare(`SELECT device_id, received_at / ${DAY_MS} AS day, type, COUNT(*) AS n FROM events WHERE ${where} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`).all(arg) as never;
}

describe('retention purge', () => {
  it('keeps the per-device, per-day counts of every event, then deletes old events in small steps; the sealed bytes leave the file', async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 3);
    const db = vault.db;
    write(history(ids, 120, 30));
    const cutoff = NOW - 90 * DAY_MS;
    // The roll-ups hold every event, before and after the purge (the writer keeps them).
    const expectedRollUp = dayCounts(db, 'received_at >= ?', 0);
    const kept = db.prepare('SELECT COUNT(*) FROM events WHERE received_at >= ?').pluck().get(cutoff) as number;
    const purged = db.prepare('SELECT COUNT(*) FROM events WHERE received_at < ?').pluck().get(cutoff) as number;
    const purgedDetails = db.prepare('SELECT detail FROM events WHERE received_at < ? AND detail IS NOT NULL ORDER BY id LIMIT 5').pluck().all(cutoff) as Buffer[];
    expect(purged).toBeGreaterThan(800);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // new files start incremental

    const countsBefore = new Map(ids.map((id) => [id, new EventTotals(db).countsByType(id)]));
    expect(Object.values(countsBefore.get(ids[0]!)!).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    let pauses = 0;
    const report = await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW, chunkMs: 0, rowsPerStep: 40, pause: async () => void pauses++ });
    expect(report.events).toBe(purged);
    expect(report.chunks).toBeGreaterThan(purged / 40); // one transaction per step with a zero budget
    expect(pauses).toBeGreaterThanOrEqual(report.chunks - 1);
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(kept);
    expect(db.prepare('SELECT MIN(received_at) FROM events').pluck().get()).toBeGreaterThanOrEqual(cutoff);
    const rolled = db.prepare('SELECT device_id, day, type, n FROM event_days ORDER BY 1, 2, 3').all();
    expect(rolled).toEqual(expectedRollUp);
    expect(rolledUpDays(db, ids[0]!, 0, Number.MAX_SAFE_INTEGER).reduce((s, r) => s + r.n, 0)).toBe(expectedRollUp.filter((r) => r.device_id === ids[0]).reduce((s, r) => s + r.n, 0));
    // The device page's counts are all-time: the purged events are counted from their roll-ups.
    for (const id of ids) expect(new EventTotals(db).countsByType(id)).toEqual(countsBefore.get(id));
    // The raw totals still equal the rows kept.
    const totals = db.prepare('SELECT SUM(n) FROM event_totals').pluck().get() as number;
    const tail = db.prepare('SELECT COUNT(*) FROM events WHERE id > (SELECT id FROM event_totals_through)').pluck().get() as number;
    expect(totals + tail).toBe(kept);
    // Free pages went back to the file system and nothing of the purged rows is in the file.
    expect(report.pagesReleased).toBeGreaterThan(0);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    truncateWal(db);
    const file = readFileSync(join(vault.dataDir, DB_FILE_NAME));
    for (const d of purgedDetails) expect(file.includes(d)).toBe(false);
    expect(new Retention(db).lastPurge()).toEqual(report);

    // A second purge finds nothing and adds to no roll-up.
    const again = await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW });
    expect(again.events).toBe(0);
    expect(db.prepare('SELECT device_id, day, type, n FROM event_days ORDER BY 1, 2, 3').all()).toEqual(expectedRollUp);
  });

  it('purges exactly the old events when receive times are out of id order (a clock that jumped), in runs of ids and in lists', async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 2);
    const db = vault.db;
    // In order first (runs of ids), then old and new receive times interleaved at random: a new
    // event inside a run of old ones stays, an old one far from the others still goes.
    write(history(ids, 120, 20));
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const mixed = history(ids, 120, 6).sort(() => random() - 0.5);
    write(mixed);
    const cutoff = NOW - 90 * DAY_MS;
    const expectedRollUp = dayCounts(db, 'received_at >= ?', 0);
    const kept = db.prepare('SELECT id FROM events WHERE received_at >= ? ORDER BY id').pluck().all(cutoff);
    const purged = db.prepare('SELECT COUNT(*) FROM events WHERE received_at < ?').pluck().get(cutoff) as number;
    const report = await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW, chunkMs: 0, rowsPerStep: 25, pause: async () => {} });
    expect(report.events).toBe(purged);
    expect(db.prepare('SELECT id FROM events ORDER BY id').pluck().all()).toEqual(kept);
    expect(db.prepare('SELECT device_id, day, type, n FROM event_days ORDER BY 1, 2, 3').all()).toEqual(expectedRollUp);
    const totals = db.prepare('SELECT SUM(n) FROM event_totals').pluck().get() as number;
    const tail = db.prepare('SELECT COUNT(*) FROM events WHERE id > (SELECT id FROM event_totals_through)').pluck().get() as number;
    expect(totals + tail).toBe(kept.length);
  });

  it("keeps a day's count whole while its events are purged in parts, and counts the not yet folded tail before purging it", async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 1);
    const db = vault.db;
    const day = Math.floor((NOW - 100 * DAY_MS) / DAY_MS);
    const at = (h: number) => day * DAY_MS + h * 3600_000;
    const event = (h: number) => ({ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: at(h) }, at: at(h) }) as CameraRecord;
    write([event(0)]); // the writer's first batch folds at once
    write([event(1), event(2)]); // these stay in the tail (the next fold is seconds away)
    expect(db.prepare('SELECT SUM(n) FROM event_days').pluck().get()).toBe(1);
    const first = await new Retention(db).purge({ eventDays: 1, measurementDays: 0, ledgerDays: 0 }, { now: () => at(2) + DAY_MS - 1 }); // only hours 0 and 1 are older than a day
    expect(first.events).toBe(2);
    expect(db.prepare('SELECT day, n FROM event_days').all()).toEqual([{ day, n: 3 }]);
    await new Retention(db).purge({ eventDays: 1, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW });
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(0);
    expect(db.prepare('SELECT day, n FROM event_days').all()).toEqual([{ day, n: 3 }]);
    expect(rolledUpDays(db, ids[0]!, day, day + 1)).toEqual([{ day, type: 'motion', n: 3 }]);
  });

  it('keeps weigh-ins for ever by default and the ledger for its own number of days', async () => {
    const { vault, registry } = await cameraStoreRig(cleanups, 0);
    const db = vault.db;
    const scale = registry.add('scale', newDeviceId('scale'), 'Bathroom').id;
    const addMeasurement = db.prepare("INSERT INTO measurements (id, device_id, member_id, assignment, measured_at, metrics) VALUES (?, ?, NULL, 'unassigned', ?, x'00')");
    const addLedger = db.prepare("INSERT INTO privacy_ledger (report_id, topic, payload, sent_at) VALUES (?, 't', x'7b7d', ?)");
    for (let d = 0; d < 800; d += 10) {
      addMeasurement.run(`m-${d}`, scale, NOW - d * DAY_MS);
      addLedger.run(`r-${d}`, NOW - (800 - d) * DAY_MS); // appended in time order
    }
    const r = await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 365 }, { now: () => NOW, rowsPerStep: 7 });
    expect(r.measurements).toBe(0);
    expect(db.prepare('SELECT COUNT(*) FROM measurements').pluck().get()).toBe(80);
    expect(r.ledger).toBe(44); // sent 800..370 days ago
    expect(db.prepare('SELECT MIN(sent_at) FROM privacy_ledger').pluck().get()).toBeGreaterThanOrEqual(NOW - 365 * DAY_MS);
    const r2 = await new Retention(db).purge({ eventDays: 90, measurementDays: 30, ledgerDays: 0 }, { now: () => NOW });
    expect(r2.measurements).toBe(76); // 0, 10, 20 and exactly 30 days old stay (older than the cutoff goes)
    expect(r2.ledger).toBe(0);
  });

  it('switches a database made without incremental vacuum once', async () => {
    const { vault } = await cameraStoreRig(cleanups, 1);
    const db = vault.db;
    db.pragma('auto_vacuum = NONE');
    db.exec('VACUUM');
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(0);
    expect(enableIncrementalVacuumOnce(db)).toBe(true);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(enableIncrementalVacuumOnce(db)).toBe(false);
  });
});

describe('page cache', () => {
  it('every connection keeps at most PAGE_CACHE_KIB of pages in its own cache, not the 16 MB better-sqlite3 builds in', async () => {
    const { vault } = await cameraStoreRig(cleanups, 1);
    expect(PAGE_CACHE_KIB).toBeLessThanOrEqual(4096);
    expect(vault.db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    const cli = openDatabase(join(vault.dataDir, DB_FILE_NAME), { mustExist: true, readonly: true });
    cleanups.push(() => cli.close());
    expect(cli.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
  });
});

describe('database stats', () => {
  it('count events from their totals exactly and tell the oldest event and the last purge', async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 2);
    const db = vault.db;
    write(history(ids, 100, 10));
    const before = databaseStats(db, vault.dataDir);
    expect(before.rows.events).toBe(db.prepare('SELECT COUNT(*) FROM events').pluck().get());
    expect(before.rows.devices).toBe(2);
    expect(before.oldestEventAt).toBe(NOW - 100 * DAY_MS);
    expect(before.lastPurge).toBeNull();
    expect(before.databaseBytes).toBeGreaterThan(0);
    expect(before.bytesPerEvent).toBeGreaterThan(0);
    await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW });
    const after = databaseStats(db, vault.dataDir);
    expect(after.rows.events).toBe(db.prepare('SELECT COUNT(*) FROM events').pluck().get());
    expect(after.rows.event_days).toBeGreaterThan(0);
    expect(after.oldestEventAt).toBeGreaterThanOrEqual(NOW - 90 * DAY_MS);
    expect(after.lastPurge?.events).toBe(before.rows.events - after.rows.events);
  });

  it('`hearth db stats --json` and `hearth db purge` work on a data dir', () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
    enrolCamera(dir.path, 'Porch');
    const purge = cli(['db', 'purge', '--json', '--data-dir', dir.path]);
    expect(purge.code, purge.stderr).toBe(0);
    expect(JSON.parse(purge.stdout)).toMatchObject({ events: 0, measurements: 0, ledger: 0 });
    const res = cli(['db', 'stats', '--json', '--data-dir', dir.path], { HEARTH_RETENTION_EVENT_DAYS: '30' });
    expect(res.code, res.stderr).toBe(0);
    const s = JSON.parse(res.stdout) as Record<string, unknown> & { rows: Record<string, number>; retention: Record<string, number> };
    expect(s.rows.devices).toBe(1);
    expect(s.rows.events).toBe(0);
    expect(s.retention).toEqual({ eventDays: 30, measurementDays: 0, ledgerDays: 365, lowDiskMb: 256 });
    expect(s.lastPurge).toMatchObject({ events: 0 });
    const text = cli(['db', 'stats', '--data-dir', dir.path]);
    expect(text.stdout).toContain('rows:');
    expect(text.stdout).toContain('retention: events 90 days, weigh-ins for ever, ledger 365 days');
  });
});

describe('retention service', () => {
  it('warns once when free space goes under the threshold, once when it is back, and announces purges', async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 1);
    write(history(ids, 95, 5).map((r) => ({ ...r, at: r.at - NOW + Date.now() + 3600_000 }) as CameraRecord));
    const bus = new DomainBus();
    const seen: DomainEvent[] = [];
    bus.on('storage.disk', 'test', (e) => seen.push(e));
    bus.on('store.purged', 'test', (e) => seen.push(e));
    const lines: string[] = [];
    let free = 100_000_000;
    const service = new RetentionService({
      db: vault.db,
      config: { dataDir: vault.dataDir, retention: { eventDays: 90, measurementDays: 0, ledgerDays: 365, lowDiskMb: 256 } },
      bus,
      logger: createLogger({ sink: (l) => lines.push(l) }),
      firstPurgeMs: 3_600_000,
      diskCheckMs: 20,
      freeBytes: () => free,
    });
    service.start();
    cleanups.push(() => void service.stop());
    expect(service.disk()).toMatchObject({ low: true, freeBytes: 100_000_000 });
    await new Promise((r) => setTimeout(r, 80)); // several checks, still low
    free = 300_000_000;
    await new Promise((r) => setTimeout(r, 80));
    expect(seen.filter((e) => e.type === 'storage.disk').map((e) => (e as DomainEvent<'storage.disk'>).low)).toEqual([true, false]);
    expect(lines.filter((l) => l.includes('little free space')).length).toBe(1);
    const report = await service.purgeNow();
    expect(report?.events).toBe(5 * 5);
    const purged = seen.find((e) => e.type === 'store.purged') as DomainEvent<'store.purged'>;
    expect(purged).toMatchObject({ events: 25, measurements: 0, ledger: 0 });
    await service.stop();
  });
});

describe('`hearth db purge` beside a running hub', () => {
  it("asks the hub, which purges on its own connection, and prints the hub's report", async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
    const cam = enrolCamera(dir.path, 'Porch');
    const daemon = await startDaemon(dir.path, [], { HEARTH_GPIO_ENABLED: 'false', HEARTH_BLE_ENABLED: 'false' });
    try {
      // Old events, as a long history leaves them (written through a second connection).
      const vault = await openVault(dir.path, {}, {});
      const old = Date.now() - 200 * DAY_MS;
      const insert = vault.db.prepare("INSERT INTO events (device_id, type, ts, received_at, detail) VALUES (?, 'motion', ?, ?, NULL)");
      vault.db.transaction(() => {
        for (let i = 0; i < 50; i++) insert.run(cam.id, old + i, old + i);
      })();
      vault.close();
      const res = cli(['db', 'purge', '--json', '--data-dir', dir.path]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/asked it to purge/);
      const report = JSON.parse(res.stdout) as { events: number; startedAt: number };
      expect(report.events).toBe(50);
      await expect.poll(() => daemon.output()).toMatch(/purge asked for by hearth db purge/);
      // The counts stay: the device shows its 50 motions, from the daily counts.
      const shown = JSON.parse(cli(['device', 'show', cam.id, '--json', '--data-dir', dir.path]).stdout) as { eventCounts: Record<string, number> };
      expect(shown.eventCounts.motion).toBe(50);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 60_000);
});
