/**
 * The camera store's batch writes against a real SQLite file: event rows with their detail sealed
 * under their own id (assigned before the INSERT), one state write per camera per batch, presence
 * transitions, removed devices, and rows other writers add between batches.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Sealer, UNREADABLE } from '../src/crypto/sealer.js';
import { SEALED_SCHEMA } from '../src/hub/catalog.js';
import { resealDatabase } from '../src/store/key-rotation.js';
import { META_KEYS } from '../src/store/meta.js';
import { CameraStore, type CameraRecord } from '../src/devices/camera/store.js';
import type { Vault } from '../src/store/vault.js';
import { cameraStoreRig } from './helpers/camera-store.js';

const NOW = Date.UTC(2026, 10, 25, 6, 0, 0);
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const setup = (cameras = 2) => cameraStoreRig(cleanups, cameras);

type EventRow = { id: number; device_id: string; type: string; ts: number; received_at: number; detail: Buffer | null };
const events = (vault: Vault) => vault.db.prepare('SELECT * FROM events ORDER BY id').all() as EventRow[];

describe('camera store batches', () => {
  it('stores each event in one row whose detail opens only under that row id', async () => {
    const { vault, store, ids, write } = await setup();
    write([
      { kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW - 5, detail: 'zone=driveway' }, at: NOW },
      { kind: 'event', deviceId: ids[1]!, event: { type: 'sound', ts: NOW - 4 }, at: NOW + 1 },
      { kind: 'event', deviceId: ids[0]!, event: { type: 'connect_failed', ts: NOW - 3, detail: 'dhcp timed out' }, at: NOW + 2 },
    ]);
    const rows = events(vault);
    expect(rows.map((r) => [r.device_id, r.type, r.ts, r.received_at])).toEqual([
      [ids[0], 'motion', NOW - 5, NOW],
      [ids[1], 'sound', NOW - 4, NOW + 1],
      [ids[0], 'connect_failed', NOW - 3, NOW + 2],
    ]);
    expect(rows[1]!.detail).toBeNull();
    expect(store.openDetail(rows[0]!.id, rows[0]!.device_id, rows[0]!.detail!)).toBe('zone=driveway');
    expect(store.openDetail(rows[2]!.id, rows[2]!.device_id, rows[2]!.detail!)).toBe('dhcp timed out');
    // A detail moved to another row does not open: shown as unreadable, never as the other row's text.
    expect(store.openDetail(rows[2]!.id, rows[2]!.device_id, rows[0]!.detail!)).toBe(UNREADABLE);
    expect(() => vault.sealer.openString('eventDetail', `event:${rows[2]!.id}:${rows[2]!.device_id}:detail`, rows[0]!.detail!)).toThrow(/does not open/);
  });

  it('binds a detail to its camera too: an old one sealed under its id alone opens until the one re-sealing pass, which binds it', async () => {
    const { vault, store, ids, write } = await setup(2);
    write([{ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'bound' }, at: NOW }]);
    // A row as an earlier version sealed it (under its id alone), and the pass not yet run.
    const legacyId = 500;
    vault.db.prepare('INSERT INTO events (id, device_id, type, ts, received_at, detail) VALUES (?, ?, ?, ?, ?, ?)').run(legacyId, ids[1], 'motion', NOW, NOW, vault.sealer.seal('eventDetail', `event:${legacyId}:detail`, 'old style'));
    // A new database is marked done from the start (migration 63): its events are never walked.
    expect(vault.db.prepare('SELECT COUNT(*) FROM meta WHERE key = ?').pluck().get(META_KEYS.eventDetailsBound)).toBe(1);
    expect(new CameraStore(vault.db, vault.sealer).bindEventDetailsOnce()).toBeUndefined();
    vault.db.prepare('DELETE FROM meta WHERE key = ?').run(META_KEYS.eventDetailsBound);
    const fresh = new CameraStore(vault.db, vault.sealer);
    expect(fresh.openDetail(legacyId, ids[1]!, vault.db.prepare('SELECT detail FROM events WHERE id = ?').pluck().get(legacyId) as Buffer)).toBe('old style');
    expect(fresh.bindEventDetailsOnce()).toBe(1);
    expect(fresh.bindEventDetailsOnce()).toBeUndefined();
    const sealed = vault.db.prepare('SELECT detail FROM events WHERE id = ?').pluck().get(legacyId) as Buffer;
    expect(vault.sealer.openString('eventDetail', `event:${legacyId}:${ids[1]}:detail`, sealed)).toBe('old style');
    expect(new CameraStore(vault.db, vault.sealer).openDetail(legacyId, ids[1]!, sealed)).toBe('old style');
    // Bound to its camera: in another camera's row with the same id it does not open.
    expect(new CameraStore(vault.db, vault.sealer).openDetail(legacyId, ids[0]!, sealed)).toBe(UNREADABLE);
    const first = events(vault)[0]!;
    expect(store.openDetail(first.id, first.device_id, first.detail!)).toBe('bound');
  });

  it('a key rotation re-seals a detail still sealed under its id alone with its camera too', async () => {
    const { vault, ids } = await setup(1);
    vault.db.prepare('INSERT INTO events (id, device_id, type, ts, received_at, detail) VALUES (?, ?, ?, ?, ?, ?)').run(7, ids[0], 'motion', NOW, NOW, vault.sealer.seal('eventDetail', 'event:7:detail', 'legacy'));
    const next = new Sealer(vault.sodium, randomBytes(32));
    resealDatabase(vault.db, vault.sealer, next, SEALED_SCHEMA);
    const sealed = vault.db.prepare('SELECT detail FROM events WHERE id = 7').pluck().get() as Buffer;
    expect(next.openString('eventDetail', `event:7:${ids[0]}:detail`, sealed)).toBe('legacy');
  });

  it('continues ids after rows other writers added between batches, and never below its own after deletions', async () => {
    const { vault, store, ids, write } = await setup();
    write([{ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'first' }, at: NOW }]);
    // Another writer (e.g. the scale store) appends its own event rows between two batches.
    vault.db.prepare('INSERT INTO events (device_id, type, ts, received_at) VALUES (?, ?, ?, ?)').run(ids[1], 'weigh_in', NOW, NOW);
    vault.db.prepare('INSERT INTO events (id, device_id, type, ts, received_at) VALUES (?, ?, ?, ?, ?)').run(1000, ids[1], 'weigh_in', NOW, NOW);
    write([{ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'second' }, at: NOW }]);
    expect(events(vault).map((r) => r.id)).toEqual([1, 2, 1000, 1001]);
    vault.db.prepare('DELETE FROM events WHERE id >= 1000').run();
    write([{ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'third' }, at: NOW }]);
    const mine = events(vault).filter((r) => r.type === 'motion');
    // Ids this store gave are not handed out again after the newest rows were deleted (a device's
    // removal deletes its events range by range of ids; a reused id would fall behind it).
    expect(mine.map((r) => r.id)).toEqual([1, 1002]);
    expect(mine.map((r) => store.openDetail(r.id, r.device_id, r.detail!))).toEqual(['first', 'third']);
  });

  it('writes a camera\'s state once per batch, merged from all its statuses, with last-seen from its latest message', async () => {
    const { vault, store, ids, write } = await setup();
    const writes: string[] = [];
    vault.db.function('probe', (id: string) => (writes.push(id), 1));
    vault.db.exec("CREATE TRIGGER count_state_writes AFTER UPDATE OF state ON camera_state BEGIN SELECT probe(NEW.device_id); END");
    write([{ kind: 'presence', deviceId: ids[0]!, online: true, at: NOW }]);
    write([
      { kind: 'status', deviceId: ids[0]!, status: { state: 'online', model: 'HC-220', ssid: 'Home' }, at: NOW + 1 },
      { kind: 'status', deviceId: ids[0]!, status: { state: 'online', ip: '192.168.1.20', rssi: -60 }, at: NOW + 2 },
      { kind: 'status', deviceId: ids[0]!, status: { state: 'online', ssid: 'Home-5G' }, at: NOW + 3 },
      { kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW }, at: NOW + 4 },
    ]);
    expect(writes).toEqual([ids[0]]);
    const view = store.view(ids[0]!);
    expect(view).toMatchObject({ model: 'HC-220', ssid: 'Home-5G', ip: '192.168.1.20', rssi: -60, online: true, lastSeen: NOW + 4 });
    // A fresh store (a restarted hub) reads the same state from disk and merges onto it.
    const restarted = new CameraStore(vault.db, vault.sealer);
    vault.db.transaction(() => restarted.writeBatch([{ kind: 'status', deviceId: ids[0]!, status: { state: 'online', rssi: -70 }, at: NOW + 5 }])).immediate();
    expect(restarted.view(ids[0]!)).toMatchObject({ model: 'HC-220', ssid: 'Home-5G', ip: '192.168.1.20', rssi: -70, lastSeen: NOW + 5 });
  });

  it('records presence transitions once, an offline status as a transition, and skips removed devices', async () => {
    const { vault, store, ids, write } = await setup(3);
    write([
      { kind: 'presence', deviceId: ids[0]!, online: true, at: NOW },
      { kind: 'presence', deviceId: ids[0]!, online: true, at: NOW + 1 },
      { kind: 'status', deviceId: ids[0]!, status: { state: 'offline', model: 'HC-110' }, at: NOW + 2 },
    ]);
    expect(events(vault).map((r) => r.type)).toEqual(['online', 'offline']);
    expect(store.view(ids[0]!)).toMatchObject({ online: false, model: 'HC-110' });
    vault.db.prepare('DELETE FROM devices WHERE id = ?').run(ids[2]);
    write([
      { kind: 'event', deviceId: ids[2]!, event: { type: 'motion', ts: NOW, detail: 'gone' }, at: NOW + 3 },
      { kind: 'status', deviceId: ids[2]!, status: { state: 'online', ssid: 'gone' }, at: NOW + 3 },
      { kind: 'event', deviceId: ids[1]!, event: { type: 'motion', ts: NOW, detail: 'kept' }, at: NOW + 4 },
    ]);
    const rows = events(vault);
    expect(rows.map((r) => [r.device_id, r.type])).toEqual([
      [ids[0], 'online'],
      [ids[0], 'offline'],
      [ids[1], 'motion'],
    ]);
    expect(store.openDetail(rows[2]!.id, rows[2]!.device_id, rows[2]!.detail!)).toBe('kept');
    expect(vault.db.prepare('SELECT COUNT(*) FROM camera_state WHERE device_id = ?').pluck().get(ids[2])).toBe(0);
  });

  it('leaves nothing behind from a batch that fails, and the next batch reuses its ids', async () => {
    const { vault, store, ids, write } = await setup();
    vault.db.exec("CREATE TRIGGER refuse_tamper BEFORE INSERT ON events WHEN NEW.type = 'tamper' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    expect(() =>
      write([
        { kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'rolled back' }, at: NOW },
        { kind: 'event', deviceId: ids[0]!, event: { type: 'tamper', ts: NOW }, at: NOW },
      ]),
    ).toThrow(/refused/);
    store.invalidateCaches();
    expect(events(vault)).toEqual([]);
    write([{ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: 'after' }, at: NOW }]);
    const [row] = events(vault);
    expect(row!.id).toBe(1);
    expect(store.openDetail(row!.id, row!.device_id, row!.detail!)).toBe('after');
  });
});

describe('staged records (what waits for a batch)', () => {
  it('store exactly what arrived, multi-byte details included, and stay intact when the pool is reused', async () => {
    const { vault, store, ids, write } = await setup();
    const details = ['zone=driveway', 'Eingang ünten — 🚪 offen', '', 'x'.repeat(256)];
    let n = 0;
    const stageBatch = (count: number) =>
      Array.from({ length: count }, () => {
        const detail = details[n % details.length];
        const rec: CameraRecord = { kind: 'event', deviceId: ids[n % 2]!, event: { type: n % 3 ? 'motion' : 'sound', ts: NOW + n, ...(n % 5 === 4 ? {} : { detail }) }, at: NOW + 1000 + n };
        n++;
        return store.stage(rec);
      });
    const expected = (from: number, count: number) =>
      Array.from({ length: count }, (_, k) => {
        const i = from + k;
        return { device: ids[i % 2], type: i % 3 ? 'motion' : 'sound', ts: NOW + i, at: NOW + 1000 + i, detail: i % 5 === 4 ? null : details[i % details.length] };
      });
    // Two batches through the same pool: the second reuses the first one's records and bytes
    // (and grows the buffer past its first size), after the first was written and released.
    const first = stageBatch(300);
    write(first);
    store.release(first);
    const second = stageBatch(600);
    write(second);
    store.release(second);
    const rows = events(vault).map((r) => ({ device: r.device_id, type: r.type, ts: r.ts, at: r.received_at, detail: r.detail ? store.openDetail(r.id, r.device_id, r.detail) : null }));
    expect(rows).toEqual(expected(0, 900));
  });

  it('fold a status into the pending state on arrival, keeping only its presence to wait', async () => {
    const { store, ids, write } = await setup();
    const staged = store.stage({ kind: 'status', deviceId: ids[0]!, status: { state: 'online', ssid: 'Home', rssi: -50 }, at: NOW });
    expect(staged).toMatchObject({ kind: 'status', deviceId: ids[0], at: NOW, status: { state: 'online' } });
    expect((staged as { status: object }).status).not.toHaveProperty('ssid');
    const offline = store.stage({ kind: 'status', deviceId: ids[0]!, status: { state: 'offline', ip: '10.0.0.9' }, at: NOW + 1 });
    write([staged, offline]);
    store.release([staged, offline]);
    expect(store.view(ids[0]!)).toMatchObject({ ssid: 'Home', rssi: -50, ip: '10.0.0.9', online: false });
  });

  it('drop folded-in statuses of a batch that failed, so the state on disk and in memory agree', async () => {
    const { vault, store, ids, write } = await setup();
    write([store.stage({ kind: 'status', deviceId: ids[0]!, status: { state: 'online', ssid: 'Before' }, at: NOW })]);
    const failing = [store.stage({ kind: 'status', deviceId: ids[0]!, status: { state: 'online', ssid: 'Lost' }, at: NOW + 1 })];
    vault.db.exec("CREATE TRIGGER fail_state AFTER UPDATE ON camera_state BEGIN SELECT RAISE(ABORT, 'disk trouble'); END");
    expect(() => write(failing)).toThrow(/disk trouble/);
    store.invalidateCaches(); // what the hub does when a batch fails
    store.release(failing);
    vault.db.exec('DROP TRIGGER fail_state');
    write([store.stage({ kind: 'status', deviceId: ids[0]!, status: { state: 'online', rssi: -40 }, at: NOW + 2 })]);
    expect(store.view(ids[0]!)).toMatchObject({ ssid: 'Before', rssi: -40 });
  });

  it('recover from a burst far larger than usual (the buffer grows, then is given back) without mixing details up', async () => {
    const { vault, store, ids, write } = await setup();
    const burst = Array.from({ length: 5000 }, (_, i) => store.stage({ kind: 'event', deviceId: ids[0]!, event: { type: 'motion', ts: NOW, detail: `${i}:`.padEnd(256, 'é') }, at: NOW + i }));
    write(burst);
    store.release(burst);
    const after = Array.from({ length: 3 }, (_, i) => store.stage({ kind: 'event', deviceId: ids[1]!, event: { type: 'sound', ts: NOW, detail: `after ${i}` }, at: NOW + 10_000 + i }));
    write(after);
    store.release(after);
    const rows = events(vault);
    expect(rows).toHaveLength(5003);
    expect(store.openDetail(rows[4999]!.id, rows[4999]!.device_id, rows[4999]!.detail!)).toBe('4999:'.padEnd(256, 'é'));
    expect(rows.slice(5000).map((r) => store.openDetail(r.id, r.device_id, r.detail!))).toEqual(['after 0', 'after 1', 'after 2']);
  });
});
