/**
 * Per-device event totals (store/event-totals.ts, migration 2) against real SQLite files: the
 * counts equal a full GROUP BY over the events whatever mix of folded totals and live tail they
 * come from, across folds and device removals; a deleted event stays in the all-time counts by day; an existing database migrates
 * with its counts; and the queries that used the old index by device use the new ones.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CameraRecord } from '../src/devices/camera/store.js';
import { migrate, openDatabase, type Db } from '../src/store/database.js';
import { BulkEventDelete, EventTotals, FOLD_AFTER_ROWS } from '../src/store/event-totals.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { cameraStoreRig } from './helpers/camera-store.js';
import { tempDir } from './helpers/hub.js';

const NOW = Date.UTC(2026, 10, 25, 6, 0, 0);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** The truth the totals must match: a full scan of the events table. */
function scanned(db: Db, deviceId: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of db.prepare('SELECT type, COUNT(*) AS n FROM events WHERE device_id = ? GROUP BY type ORDER BY type').all(deviceId) as { type: string; n: number }[]) out[r.type] = r.n;
  return out;
}

async function setup(cameras = 3) {
  const { vault, registry, store, ids, write } = await cameraStoreRig(cleanups, cameras);
  const totals = new EventTotals(vault.db);
  const fold = vault.db.transaction(() => totals.fold());
  return { db: vault.db, registry, store, ids, totals, write, fold: () => fold.immediate() };
}

const TYPES = ['motion', 'sound', 'connect_failed'];
function events(ids: string[], n: number, from: number): CameraRecord[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'event', deviceId: ids[(from + i) % ids.length]!, event: { type: TYPES[(from + i) % 3]!, ts: NOW }, at: NOW + from + i }) as CameraRecord);
}

describe('event totals', () => {
  it('count folded totals and the live tail together, exactly as a full scan does', async () => {
    const { db, store, ids, totals, fold, write } = await setup();
    write(events(ids, 10, 0));
    for (const id of ids) expect(totals.countsByType(id)).toEqual(scanned(db, id)); // all in the tail
    fold();
    expect(db.prepare('SELECT COUNT(*) FROM events WHERE id > (SELECT id FROM event_totals_through)').pluck().get()).toBe(0);
    write(events(ids, 7, 10));
    for (const id of ids) {
      expect(totals.countsByType(id)).toEqual(scanned(db, id)); // totals + tail
      expect(store.view(id).eventCounts).toEqual(scanned(db, id));
      expect(totals.types(id)).toEqual(Object.keys(scanned(db, id)));
      expect(totals.lastReceivedAt(id)).toBe(db.prepare('SELECT MAX(received_at) FROM events WHERE device_id = ?').pluck().get(id));
    }
    expect(totals.countsByType('cam-unknown')).toEqual({});
    expect(totals.lastReceivedAt('cam-unknown')).toBeNull();
  });

  it('are folded by the writer once enough rows have arrived', async () => {
    const { db, ids, write } = await setup(2);
    const through = () => db.prepare('SELECT id FROM event_totals_through').pluck().get() as number;
    write(events(ids, 5, 0)); // the first write folds (nothing folded yet)
    expect(through()).toBe(5);
    write(events(ids, FOLD_AFTER_ROWS - 10, 5));
    expect(through()).toBe(5); // not yet due
    write(events(ids, 20, FOLD_AFTER_ROWS));
    expect(through()).toBe(FOLD_AFTER_ROWS + 15);
    for (const id of ids) expect(new EventTotals(db).countsByType(id)).toEqual(scanned(db, id));
  });

  it('stay right when a device goes with its events and ids are handed out again', async () => {
    const { db, registry, ids, totals, fold, write } = await setup();
    write(events(ids, 30, 0));
    fold();
    // Remove the device that holds the largest id: the largest ids go, and the next ids reuse them.
    const last = db.prepare('SELECT device_id FROM events ORDER BY id DESC LIMIT 1').pluck().get() as string;
    registry.remove(last);
    const through = db.prepare('SELECT id FROM event_totals_through').pluck().get() as number;
    expect(through).toBe(db.prepare('SELECT MAX(id) FROM events').pluck().get());
    const others = ids.filter((id) => id !== last);
    write(events(others, 8, 100));
    for (const id of others) expect(totals.countsByType(id)).toEqual(scanned(db, id));
    expect(totals.countsByType(last)).toEqual({});
    fold();
    for (const id of others) expect(totals.countsByType(id)).toEqual(scanned(db, id));
  });

  it('take a deleted event off the raw totals, and keep it in the all-time counts by day (what a purge leaves)', async () => {
    const { db, ids, totals, fold, write } = await setup(1);
    write(events(ids, 6, 0));
    fold();
    const allTime = scanned(db, ids[0]!);
    const raw = () => {
      const out: Record<string, number> = {};
      for (const r of db.prepare('SELECT type, n FROM event_totals WHERE device_id = ? AND n > 0 ORDER BY type').all(ids[0]!) as { type: string; n: number }[]) out[r.type] = r.n;
      return out;
    };
    db.prepare("DELETE FROM events WHERE id = (SELECT MIN(id) FROM events WHERE type = 'motion')").run();
    expect(raw()).toEqual(scanned(db, ids[0]!));
    db.prepare("DELETE FROM events WHERE type = 'sound'").run();
    expect(raw()).toEqual(scanned(db, ids[0]!));
    expect(totals.countsByType(ids[0]!)).toEqual(allTime);
    expect(totals.types(ids[0]!)).toContain('sound');
  });
});

describe('bulk deletion (migration 64)', () => {
  it('leaves the totals and the fold mark exactly as deleting row by row does, the largest ids and the live tail included', async () => {
    const rows = async () => {
      const rig = await setup(3);
      rig.write(events(rig.ids, 60, 0));
      rig.fold();
      rig.write(events(rig.ids, 9, 60)); // a live tail past the mark
      return rig;
    };
    const byRow = await rows();
    const bulk = await rows();
    // Device ids differ between the two files: totals compared by the device's position.
    const state = (db: Db, ids: string[]) => ({
      totals: (db.prepare('SELECT device_id, type, n FROM event_totals ORDER BY type, n').all() as { device_id: string; type: string; n: number }[]).map((r) => [ids.indexOf(r.device_id), r.type, r.n]).sort(),
      through: db.prepare('SELECT id FROM event_totals_through').pluck().get(),
      left: db.prepare('SELECT COUNT(*) FROM events').pluck().get(),
    });
    // Same ids in both files: the oldest dozen, some of one device in the middle, and the newest (the tail and the largest ids).
    const pick = (rig: { db: Db; ids: string[] }) => JSON.stringify(rig.db.prepare(`SELECT id FROM events WHERE id <= 12 OR (id BETWEEN 30 AND 45 AND device_id = ?) OR id > 55 ORDER BY id`).pluck().all(rig.ids[1]));
    expect(pick(bulk)).toBe(pick(byRow));
    const chosen = pick(byRow);
    byRow.db.prepare('DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))').run(chosen);
    const n = bulk.db.transaction(() => new BulkEventDelete(bulk.db, 'id IN (SELECT value FROM json_each(@ids))').run({ ids: chosen })).immediate();
    expect(n).toBe((JSON.parse(chosen) as number[]).length);
    expect(state(bulk.db, bulk.ids)).toEqual(state(byRow.db, byRow.ids));
    expect(bulk.db.prepare('SELECT COUNT(*) FROM event_bulk_delete').pluck().get()).toBe(0);
    // And the raw totals still equal a scan after the next events and a fold (the all-time counts keep the deleted ones).
    bulk.write(events(bulk.ids, 5, 200));
    bulk.fold();
    const raw = (id: string) => Object.fromEntries((bulk.db.prepare('SELECT type, n FROM event_totals WHERE device_id = ? AND n > 0 ORDER BY type').all(id) as { type: string; n: number }[]).map((r) => [r.type, r.n]));
    for (const id of bulk.ids) expect(raw(id)).toEqual(scanned(bulk.db, id));
  });
});

describe('migration 2 (events without an index by device)', () => {
  it('carries the counts of an existing database over and drops the index', () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const path = `${dir.path}/old.db`;
    const old = openDatabase(path, { migrations: MIGRATIONS.filter((m) => m.version === 1) });
    old.prepare("INSERT INTO devices (id, kind, nickname, created_at) VALUES ('cam-a', 'camera', x'00', 0), ('cam-b', 'camera', x'00', 0)").run();
    const insert = old.prepare('INSERT INTO events (device_id, type, ts, received_at) VALUES (?, ?, ?, ?)');
    for (let i = 0; i < 50; i++) insert.run(i % 3 ? 'cam-a' : 'cam-b', TYPES[i % 3], NOW, NOW + i);
    const before = { a: scanned(old, 'cam-a'), b: scanned(old, 'cam-b') };
    expect(migrate(old, MIGRATIONS)).toContain(2);
    const totals = new EventTotals(old);
    expect(totals.countsByType('cam-a')).toEqual(before.a);
    expect(totals.countsByType('cam-b')).toEqual(before.b);
    expect(old.prepare('SELECT id FROM event_totals_through').pluck().get()).toBe(50);
    expect(totals.lastReceivedAt('cam-a')).toBe(NOW + 49);
    const indexes = old.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL ORDER BY name").pluck().all();
    expect(indexes).toEqual(['events_by_time', 'events_by_type_time', 'events_presence']); // and migration 61's index by type
    old.close();
  });

  it('leaves the metrics and timeline queries on an index', () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const db = openDatabase(`${dir.path}/h.db`);
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join(' | ');
    expect(plan(`SELECT device_id, MAX(id) FROM events INDEXED BY events_presence WHERE type IN ('online', 'offline') AND received_at < 5 GROUP BY device_id`)).toMatch(/USING (COVERING )?INDEX events_presence/);
    expect(plan("SELECT id FROM events WHERE device_id = 'x' AND received_at >= 1 AND received_at < 9 ORDER BY received_at DESC, id DESC LIMIT 5")).toMatch(/INDEX events_by_time/);
    expect(plan('SELECT type FROM events WHERE id > (SELECT id FROM event_totals_through)')).toMatch(/INTEGER PRIMARY KEY/);
    db.close();
  });
});
