/**
 * A household sees why its camera's messages are refused: each camera's last refusal (reason code,
 * time, count; never the payload) is stored with it and shown by `hearth device show` and in the
 * API's device object, and goes when the device is removed. Real hub, real mqtt.js 3.1.1 and 5
 * clients over TCP, the compiled CLI.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDevicePassword, hashPassword } from '../src/crypto/password.js';
import { storedDeviceRefusal } from '../src/store/counters.js';
import { addCameraWithPassword, cli } from './helpers/hub.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

describe('last refusal per device', () => {
  let web: WebHub;
  let session: WebSession;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    web = await startWebHub();
    session = await logIn(web.hub);
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await web.stop();
  });

  function enrol(nickname: string) {
    const hub = web.hub;
    const password = generateDevicePassword();
    const d = addCameraWithPassword(hub, nickname, password);
    return { id: d.id, password };
  }

  async function connect(id: string, password: string, protocolVersion: 4 | 5): Promise<MqttClient> {
    const c = mqtt.connect(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: id, password, protocolVersion, reconnectPeriod: 0 });
    c.on('error', () => {});
    clients.push(c);
    await new Promise((r, j) => (c.once('connect', r), c.once('error', j)));
    return c;
  }

  const apiDevice = async (id: string) => (await session.request('GET', `/api/devices/${id}`)).json().device as { lastRefusal: unknown };

  it('starts with none', async () => {
    const cam = enrol('Quiet');
    expect((await apiDevice(cam.id)).lastRefusal).toBeNull();
  });

  it('keeps the latest reason and time and counts every refusal, with no payload in it', async () => {
    const cam = enrol('Chatty');
    const c5 = await connect(cam.id, cam.password, 5);
    const before = Date.now();
    await c5.publishAsync(`hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: 'SecretNet'.repeat(5) }), { qos: 1 }).catch(() => undefined);
    await c5.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: 5 }), { qos: 1 }).catch(() => undefined);
    // The daemon shows it at once (pending and stored together)...
    const shown = (await apiDevice(cam.id)).lastRefusal as { reason: string; at: number; count: number };
    expect(shown).toEqual({ reason: 'event_ts_out_of_range', at: expect.any(Number), count: 2 });
    expect(shown.at).toBeGreaterThanOrEqual(before);
    // ...a 3.1.1 refusal (disconnect) adds to it...
    const c4 = await connect(cam.id, cam.password, 4);
    const closed = new Promise((r) => c4.once('close', r));
    c4.publish(`hearth/cam/${cam.id}/status`, 'Online', { qos: 1 });
    await closed;
    expect(await apiDevice(cam.id)).toMatchObject({ lastRefusal: { reason: 'payload_not_json', count: 3 } });
    // ...and once written, another process (the CLI) reads the same.
    web.hub.internals.counters.flush();
    expect(storedDeviceRefusal(web.hub.internals.vault.db, cam.id)).toMatchObject({ reason: 'payload_not_json', count: 3 });
    const res = cli(['device', 'show', cam.id, '--json', '--data-dir', web.dataDir]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ id: cam.id, lastRefusal: { reason: 'payload_not_json', count: 3, at: expect.any(Number) } });
    expect(res.stdout).not.toContain('SecretNet');
    const text = cli(['device', 'show', cam.id, '--data-dir', web.dataDir]);
    expect(text.stdout).toMatch(/lastRefusal: .*payload_not_json/);
    await c5.endAsync();
  });

  it('counts a wrong secret for the camera whose id was used', async () => {
    const cam = enrol('Guessed');
    await expect(connect(cam.id, 'not-the-secret', 4)).rejects.toMatchObject({ code: 5 });
    expect(await apiDevice(cam.id)).toMatchObject({ lastRefusal: { reason: 'wrong_secret', count: 1 } });
  });

  it('goes with the device when it is removed', async () => {
    const cam = enrol('Leaving');
    const c5 = await connect(cam.id, cam.password, 5);
    await c5.publishAsync(`hearth/cam/${cam.id}/event`, '{}', { qos: 1 }).catch(() => undefined);
    web.hub.internals.counters.flush();
    expect(storedDeviceRefusal(web.hub.internals.vault.db, cam.id)).toMatchObject({ reason: 'event_bad_type' });
    expect(web.hub.internals.registry.remove(cam.id)).toBe(true);
    expect(storedDeviceRefusal(web.hub.internals.vault.db, cam.id)).toBeNull();
    expect(web.hub.internals.vault.db.prepare('SELECT COUNT(*) FROM device_refusals WHERE device_id = ?').pluck().get(cam.id)).toBe(0);
  });
});
