/**
 * Forgetting a device is one use case, whichever adapter asks: the web UI's forget and
 * `hearth device remove` (another process, while the hub runs) both delete every row of the
 * device, leave none of its sealed bytes in the database file or its WAL, and disconnect it.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, publishAcked } from './helpers/hub.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

interface Enrolled {
  id: string;
  username: string;
  password: string;
}

let web: WebHub;
let session: WebSession;

beforeAll(async () => {
  web = await startWebHub();
  session = await logIn(web.hub);
});
afterAll(async () => {
  await web?.stop();
});

async function cameraWithHistory(nickname: string): Promise<{ cam: Enrolled; client: MqttClient }> {
  const res = await session.request('POST', '/api/devices/camera', { nickname });
  expect(res.statusCode).toBe(201);
  const cam = res.json() as Enrolled;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
  await publishAcked(client, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: `net-of-${nickname}`, ip: '192.168.7.23', rssi: -48, model: 'M2', firmware: '4.1' }));
  for (let i = 0; i < 20; i++) await publishAcked(client, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now(), detail: `${nickname} garden path ${i}` }));
  return { cam, client };
}

/** Every sealed value stored for the device, as the bytes on disk. */
function sealedBytes(deviceId: string): Buffer[] {
  const db = web.hub.internals.vault.db;
  const rows = [
    ...(db.prepare('SELECT nickname AS v FROM devices WHERE id = ?').all(deviceId) as { v: Buffer }[]),
    ...(db.prepare('SELECT state AS v FROM camera_state WHERE device_id = ? AND state IS NOT NULL').all(deviceId) as { v: Buffer }[]),
    ...(db.prepare('SELECT detail AS v FROM events WHERE device_id = ? AND detail IS NOT NULL').all(deviceId) as { v: Buffer }[]),
  ];
  return rows.map((r) => r.v);
}

/** Which of the values (a 24-byte run of each ciphertext is proof enough) the file or its WAL still hold. */
function foundOnDisk(values: Buffer[]): number {
  const files = ['hearth.db', 'hearth.db-wal'].map((f) => join(web.dataDir, f)).filter(existsSync).map((f) => readFileSync(f));
  return values.filter((v) => files.some((bytes) => bytes.includes(v.subarray(v.length - 24)))).length;
}

function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => (client.connected ? client.once('close', () => resolve()) : resolve()));
}

function rowsOf(deviceId: string): number {
  const db = web.hub.internals.vault.db;
  return ['devices WHERE id', 'camera_state WHERE device_id', 'events WHERE device_id', 'event_totals WHERE device_id'].reduce((n, t) => n + (db.prepare(`SELECT COUNT(*) FROM ${t} = ?`).pluck().get(deviceId) as number), 0);
}

describe('forgetting a camera', () => {
  it('from the web UI: no row, no sealed byte in the file or WAL, the camera disconnected', async () => {
    const { cam, client } = await cameraWithHistory('Porch');
    const sealed = sealedBytes(cam.id);
    expect(sealed.length).toBe(22); // nickname, state, 20 event details
    expect(foundOnDisk(sealed)).toBeGreaterThan(0); // the check can see them while they exist
    const gone = closed(client);
    const res = await session.request('DELETE', `/api/devices/${cam.id}`);
    expect(res.statusCode).toBe(200);
    await gone;
    expect(rowsOf(cam.id)).toBe(0);
    // The scrub may wait for a reader; it finishes within a few tries.
    await expect.poll(() => foundOnDisk(sealed), { timeout: 5000 }).toBe(0);
    expect((await session.request('GET', `/api/devices/${cam.id}`)).statusCode).toBe(404);
  });

  it('with `hearth device remove` while the hub runs: the same, and the hub drops its connection', async () => {
    const { cam, client } = await cameraWithHistory('Garage');
    const other = await cameraWithHistory('Attic');
    const sealed = sealedBytes(cam.id);
    const keep = sealedBytes(other.cam.id);
    // A refused login is counted under the device's id: that count goes with the device too.
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: cam.username, password: 'not-the-password', reconnectPeriod: 0 })).rejects.toThrow();
    web.hub.internals.counters.flush();
    const authCounter = web.hub.internals.vault.db.prepare('SELECT COUNT(*) FROM counters WHERE name = ?').pluck();
    expect(authCounter.get(`device.auth_failed:${cam.id}`)).toBe(1);
    const gone = closed(client);
    const res = cli(['device', 'remove', cam.id, '--data-dir', web.dataDir]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/removed/);
    await gone; // the daemon's watcher saw the removal on the bus and disconnected it
    expect(rowsOf(cam.id)).toBe(0);
    expect(authCounter.get(`device.auth_failed:${cam.id}`)).toBe(0);
    expect(foundOnDisk(sealed)).toBe(0);
    // Another camera's data is untouched and it keeps publishing.
    expect(sealedBytes(other.cam.id)).toHaveLength(keep.length);
    await publishAcked(other.client, `hearth/cam/${other.cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now() }));
    other.client.end(true);
    // The first start's admin password is not taken for a changed one when another process
    // writes: the session opened with it stays valid.
    expect((await session.request('GET', '/api/status')).statusCode).toBe(200);
    // Removing it again says there is no such device.
    expect(cli(['device', 'remove', cam.id, '--data-dir', web.dataDir]).code).toBe(1);
  });
});
