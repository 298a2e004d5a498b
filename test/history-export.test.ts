/**
 * The device export is streamed (written range by range as it is read) and is still the schema's
 * allow-list: every event of the device, oldest first, decrypted, with exactly the four declared
 * fields; the head with the declared fields only. Against a real hub over its web plugin, and the
 * store's stepped reader across many small ranges on a real SQLite file.
 */
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CameraRecord } from '../src/devices/camera/store.js';
import { EventLog } from '../src/store/event-log.js';
import { cameraStoreRig } from './helpers/camera-store.js';
import { addCameraWithPassword, publishAcked } from './helpers/hub.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

let web: WebHub;
let session: WebSession;
beforeAll(async () => {
  web = await startWebHub();
  session = await logIn(web.hub);
});
afterAll(async () => {
  await web?.stop();
});
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

describe('device export', () => {
  it('streams every event of the device, decrypted, with the declared fields only', async () => {
    const cam = addCameraWithPassword(web.hub, 'Garden', 'export-test-password-1');
    const other = addCameraWithPassword(web.hub, 'Hall', 'export-test-password-2');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: cam.id, password: 'export-test-password-1', reconnectPeriod: 0 });
    const client2 = await mqtt.connectAsync(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: other.id, password: 'export-test-password-2', reconnectPeriod: 0 });
    try {
      await publishAcked(client, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: 'garden-net' }));
      for (let i = 0; i < 25; i++) {
        await publishAcked(client, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: i % 2 ? 'motion' : 'sound', ts: Date.now(), detail: `garden ${i}` }));
        await publishAcked(client2, `hearth/cam/${other.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now(), detail: `hall ${i}` }));
      }
    } finally {
      client.end(true);
      client2.end(true);
    }
    const res = await session.request('GET', `/api/export/device/${cam.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['content-disposition']).toMatch(/attachment/);
    const doc = res.json() as { events: Record<string, unknown>[]; device: Record<string, unknown>; state: Record<string, unknown> };
    expect(Object.keys(doc).sort()).toEqual(['device', 'events', 'exportedAt', 'measurements', 'state']);
    expect(Object.keys(doc.device).sort()).toEqual(['createdAt', 'id', 'kind', 'nickname']);
    expect(doc.state).toMatchObject({ ssid: 'garden-net' });
    const details = doc.events.filter((e) => e.type !== 'online' && e.type !== 'offline').map((e) => e.detail);
    expect(details).toEqual(Array.from({ length: 25 }, (_, i) => `garden ${i}`));
    for (const e of doc.events) expect(Object.keys(e).sort()).toEqual(['detail', 'receivedAt', 'ts', 'type']);
    expect((await session.request('GET', '/api/export/device/cam-000000000000')).statusCode).toBe(404);
  });

  it('reads a device\'s events range by range, oldest first, exactly what one scan would give', async () => {
    const { vault, ids, write } = await cameraStoreRig(cleanups, 3);
    const at = Date.UTC(2026, 0, 1);
    write(Array.from({ length: 1000 }, (_, i) => ({ kind: 'event', deviceId: ids[i % 3]!, event: { type: 'motion', ts: at, detail: `e${i}` }, at: at + i }) as CameraRecord));
    const log = new EventLog(vault.db);
    const batches: number[] = [];
    const stepped = [];
    for await (const batch of log.ofDeviceInSteps(ids[1]!, 37)) {
      batches.push(batch.length);
      stepped.push(...batch);
    }
    expect(stepped).toEqual(log.ofDevice(ids[1]!));
    expect(stepped.length).toBe(333);
    expect(Math.max(...batches)).toBeLessThanOrEqual(13); // a range of 37 ids holds at most 13 of every third
  });
});

describe('database stats on the web', () => {
  it('answer GET /api/db/stats with the declared figures and the retention settings; the status carries the disk state', async () => {
    const res = await session.request('GET', '/api/db/stats');
    expect(res.statusCode).toBe(200);
    const s = res.json() as Record<string, unknown> & { rows: Record<string, number> };
    expect(Object.keys(s).sort()).toEqual(['bytesPerEvent', 'databaseBytes', 'diskFreeBytes', 'freePages', 'lastPurge', 'lowDisk', 'oldestEventAt', 'pageSize', 'retention', 'rows', 'walBytes']);
    expect(s.rows.devices).toBe(web.hub.internals.registry.list().length);
    expect(s.rows.events).toBe(web.hub.internals.vault.db.prepare('SELECT COUNT(*) FROM events').pluck().get());
    expect(s.retention).toEqual({ eventDays: 90, measurementDays: 0, ledgerDays: 365, lowDiskMb: 256 });
    expect(typeof s.lowDisk).toBe('boolean');
    const status = (await session.request('GET', '/api/status')).json() as { storage: Record<string, unknown> };
    expect(status.storage).toMatchObject({ healthy: true, lowDisk: expect.any(Boolean) });
    expect((await web.hub.internals.web.inject({ method: 'GET', url: '/api/db/stats' })).statusCode).toBe(401);
  });
});

describe('purge and history on the web', () => {
  it('purges in the daemon on POST /api/db/purge and shows the purged days from the roll-ups', async () => {
    const cam = addCameraWithPassword(web.hub, 'Shed', 'export-test-password-3');
    const { vault, cameras } = web.hub.internals;
    const day = Math.floor(Date.now() / 86_400_000) - 120; // older than the 90 days kept
    const records = Array.from({ length: 7 }, (_, i) => ({ kind: 'event', deviceId: cam.id, event: { type: i < 5 ? 'motion' : 'reboot', ts: day * 86_400_000 }, at: day * 86_400_000 + i * 1000 }) as CameraRecord);
    vault.db.transaction(() => cameras.writeBatch(records)).immediate();
    expect((await session.request('POST', '/api/db/purge', {})).json()).toMatchObject({ events: 7, measurements: 0, ledger: 0 });
    const date = new Date(day * 86_400_000).toISOString().slice(0, 10);
    expect((await session.request('GET', `/api/devices/${cam.id}/days`)).json()).toEqual({ days: [{ day: date, type: 'motion', n: 5 }, { day: date, type: 'reboot', n: 2 }] });
    // The device page's chart draws the purged day from the counts, and the device's counts are all-time.
    const chart = await session.request('GET', `/devices/${cam.id}/activity.svg`);
    expect(chart.statusCode).toBe(200);
    expect(chart.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(chart.body.match(/<rect /g)).toHaveLength(1);
    expect(chart.body).toContain(`<title>${date}: 7</title>`);
    expect((await session.request('GET', `/api/devices/${cam.id}`)).json().device.eventCounts).toEqual({ motion: 5, reboot: 2 });
    expect((await session.request('GET', '/devices/cam-000000000000/activity.svg')).statusCode).toBe(404);
    expect((await web.hub.internals.web.inject({ method: 'GET', url: `/devices/${cam.id}/activity.svg` })).statusCode).not.toBe(200);
    expect((await session.request('GET', '/api/db/stats')).json().lastPurge).toMatchObject({ events: 7 });
    expect((await session.request('GET', '/api/devices/cam-000000000000/days')).statusCode).toBe(404);
    expect((await web.hub.internals.web.inject({ method: 'POST', url: '/api/db/purge', payload: {} })).statusCode).toBe(401);
  });
});
