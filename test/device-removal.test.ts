/**
 * Removing a device in steps (store/device-removal.ts) on a real SQLite file: every row of the
 * device goes, in every table that references it, including events written while the removal was
 * under way; the other devices' rows and counts stay exactly; foreign keys are whole and enforced
 * again afterwards; the event loop gets its turn between the steps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CameraRecord } from '../src/devices/camera/store.js';
import { EventTotals } from '../src/store/event-totals.js';
import { referencesToDevices, removeDeviceInSteps } from '../src/store/device-removal.js';
import { Retention } from '../src/store/retention.js';
import { cameraStoreRig } from './helpers/camera-store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
function events(ids: string[], n: number, from: number, at = NOW): CameraRecord[] {
  return Array.from({ length: n }, (_, i) => ({ kind: 'event', deviceId: ids[(from + i) % ids.length]!, event: { type: i % 5 === 0 ? 'reboot' : 'motion', ts: at, detail: `d${from + i}` }, at: at + from + i }) as CameraRecord);
}

describe('removing a device in steps', () => {
  it('deletes every row of the device, also those written meanwhile, and nothing of the others', async () => {
    const { vault, ids, write, store } = await cameraStoreRig(cleanups, 3);
    const db = vault.db;
    write([{ kind: 'status', deviceId: ids[0]!, status: { state: 'online', ssid: 'home' }, at: NOW } as CameraRecord]);
    write(events(ids, 3000, 0, NOW - 200 * 86_400_000));
    await new Retention(db).purge({ eventDays: 90, measurementDays: 0, ledgerDays: 0 }, { now: () => NOW }); // roll-ups exist for every camera
    write(events(ids, 3000, 3000));
    db.prepare("INSERT INTO device_refusals (device_id, reason, at, count) VALUES (?, 'event_bad_ts', ?, 1)").run(ids[0], NOW);
    const target = ids[0]!;
    const others = ids.slice(1);
    const before = new Map(others.map((id) => [id, new EventTotals(db).countsByType(id)]));
    expect(referencesToDevices(db).map((r) => r.table)).toEqual(expect.arrayContaining(['events', 'camera_state', 'event_totals', 'event_days', 'device_refusals', 'measurements']));

    let pauses = 0;
    const removed = await removeDeviceInSteps(db, target, {
      idsPerStep: 500,
      stepMs: 0, // every step over its budget: the ranges shrink, many steps
      pause: async () => {
        // The camera keeps publishing while its removal runs.
        if (pauses++ === 2) write(events([target], 50, 10_000));
      },
    });
    expect(removed).toBe(true);
    expect(pauses).toBeGreaterThanOrEqual(6);
    for (const table of ['events', 'camera_state', 'event_totals', 'event_days', 'device_refusals']) {
      expect(db.prepare(`SELECT COUNT(*) FROM ${table} WHERE device_id = ?`).pluck().get(target), table).toBe(0);
    }
    expect(db.prepare('SELECT COUNT(*) FROM devices WHERE id = ?').pluck().get(target)).toBe(0);
    for (const id of others) expect(new EventTotals(db).countsByType(id)).toEqual(before.get(id));
    expect(db.prepare('SELECT COUNT(*) FROM events').pluck().get()).toBe(2000); // the others' recent events (the old ones were purged)
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(store.view(others[0]!).eventCounts).toEqual(before.get(others[0]!));
    expect(await removeDeviceInSteps(db, target)).toBe(false);
  });
});
