/**
 * The embedded broker against real mqtt.js clients and real mosquitto clients over TCP.
 */
import { execFile } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword, hashPassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { createLogger } from '../src/log/logger.js';
import { tempDir, type Camera , addCameraWithPassword } from './helpers/hub.js';

const run = promisify(execFile);
const NOW = Date.now();

describe('embedded broker', () => {
  const dir = tempDir();
  const logLines: string[] = [];
  let hub: RunningHub;
  let camA: Camera;
  let camB: Camera;
  const clients: MqttClient[] = [];

  function enrol(nickname: string): Camera {
    const password = generateDevicePassword();
    const d = addCameraWithPassword(hub, nickname, password);
    return { id: d.id, username: d.id, password };
  }

  function connect(cam: Camera | { username: string; password: string }, opts: IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  }

  const counters = () => hub.internals.counters.snapshot();
  const events = (deviceId: string) => hub.internals.vault.db.prepare('SELECT type, ts FROM events WHERE device_id = ? ORDER BY id').all(deviceId) as { type: string; ts: number }[];

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: createLogger({ level: 'debug', sink: (l) => logLines.push(l) }) });
    camA = enrol('Front door');
    camB = enrol('Garden');
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub.stop();
    dir.cleanup();
  });

  it('refuses unknown devices and wrong passwords with CONNACK "not authorized"', async () => {
    await expect(connect({ username: 'cam-000000000000', password: 'x' })).rejects.toMatchObject({ code: 5 });
    await expect(connect({ username: camA.username, password: 'wrong' })).rejects.toMatchObject({ code: 5 });
    await expect(connect({ username: '', password: '' })).rejects.toMatchObject({ code: 5 });
    expect(counters()['mqtt.auth_refused']).toBeGreaterThanOrEqual(3);
    expect(counters()[`device.auth_failed:${camA.id}`]).toBe(1);
  });

  it('acknowledges a QoS 1 status only once it is committed, sealed, and marks the camera online', async () => {
    const c = await connect(camA);
    await c.publishAsync(`hearth/cam/${camA.id}/status`, JSON.stringify({ state: 'online', ssid: 'CanaryWifi', ip: '192.168.7.10', rssi: -40, model: 'M1', firmware: '1.0' }), { qos: 1, retain: true });
    const view = hub.internals.cameras.view(camA.id);
    expect(view).toMatchObject({ online: true, ssid: 'CanaryWifi', ip: '192.168.7.10', rssi: -40, model: 'M1', firmware: '1.0' });
    const raw = hub.internals.vault.db.prepare('SELECT state FROM camera_state WHERE device_id = ?').get(camA.id) as { state: Buffer };
    expect(raw.state.includes(Buffer.from('CanaryWifi'))).toBe(false);
    await c.publishAsync(`hearth/cam/${camA.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    expect(events(camA.id).map((e) => e.type)).toEqual(['online', 'motion']);
    await c.endAsync();
  });

  it('disconnects a 3.1.1 client that publishes to another camera’s topic, and counts it', async () => {
    const before = counters()['mqtt.publish_refused.topic_not_own'] ?? 0;
    const c = await connect(camA);
    const closed = new Promise((r) => c.once('close', r));
    c.publish(`hearth/cam/${camB.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    await closed;
    expect(counters()['mqtt.publish_refused.topic_not_own']).toBe(before + 1);
    expect(events(camB.id)).toEqual([]);
  });

  it('refuses invalid payloads, logging the reason but none of the payload', async () => {
    const c = await connect(camA);
    const closed = new Promise((r) => c.once('close', r));
    c.publish(`hearth/cam/${camA.id}/status`, JSON.stringify({ state: 'online', ssid: 'LeakyNet'.repeat(10) }), { qos: 1 });
    await closed;
    expect(counters()['mqtt.publish_refused.status_bad_ssid']).toBe(1);
    expect(logLines.join('\n')).toContain('status_bad_ssid');
    expect(logLines.join('\n')).not.toContain('LeakyNet');
  });

  it('grants subscriptions to the camera’s own commands only', async () => {
    const c = await connect(camA);
    const own = await c.subscribeAsync(`hearth/cam/${camA.id}/cmd/#`, { qos: 1 });
    expect(own[0]!.qos).toBe(1);
    // mqtt.js turns a SUBACK failure code into an error that carries the packet.
    const refused = await c.subscribeAsync([`hearth/cam/${camB.id}/cmd/#`, '#', `hearth/cam/${camA.id}/status`], { qos: 1 }).catch((e: { packet?: { granted: number[] } }) => e);
    expect((refused as { packet: { granted: number[] } }).packet.granted).toEqual([128, 128, 128]);
    expect(c.connected).toBe(true);
    expect(counters()['mqtt.subscribe_refused']).toBeGreaterThanOrEqual(3);
    await c.endAsync();
  });

  it('marks a camera offline when it drops off, through its Last Will or the lost connection', async () => {
    const c = await connect(camB, { will: { topic: `hearth/cam/${camB.id}/status`, payload: Buffer.from('{"state":"offline"}'), qos: 1, retain: true } });
    await c.publishAsync(`hearth/cam/${camB.id}/event`, JSON.stringify({ type: 'reboot', ts: NOW }), { qos: 1 });
    expect(hub.internals.cameras.view(camB.id).online).toBe(true);
    c.stream.destroy(); // an abrupt drop, not a clean DISCONNECT
    await expect.poll(() => hub.internals.cameras.view(camB.id).online, { timeout: 5000 }).toBe(false);
    expect(events(camB.id).map((e) => e.type)).toEqual(['online', 'reboot', 'offline']);
  });

  it('refuses a packet that announces more than the size limit before buffering it', async () => {
    const c = await connect(camA);
    const closed = new Promise((r) => c.once('close', r));
    c.publish(`hearth/cam/${camA.id}/event`, Buffer.alloc(200_000, 0x61), { qos: 1 });
    await closed;
    expect(counters()['mqtt.client_error.packet_too_large']).toBeGreaterThanOrEqual(1);
  });

  it('drops garbage that is not MQTT', async () => {
    const sock = tcpConnect(hub.mqttPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    await new Promise((r) => sock.once('close', r));
  });

  it('disconnects a camera when it is removed', async () => {
    const cam = enrol('Temporary');
    const c = await connect(cam);
    await expect.poll(() => hub.internals.broker.isOnline(cam.id)).toBe(true);
    const closed = new Promise((r) => c.once('close', r));
    hub.internals.registry.remove(cam.id);
    hub.internals.broker.disconnectDevice(cam.id);
    await closed;
    await expect(connect(cam)).rejects.toMatchObject({ code: 5 });
  });

  it('works with mosquitto_pub and mosquitto_sub unchanged', async () => {
    const cam = enrol('Porch');
    const sub = execFile('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', cam.username, '-P', cam.password, '-t', `hearth/cam/${cam.id}/cmd/#`, '-C', '1', '-W', '10']);
    let received = '';
    sub.stdout!.on('data', (d: Buffer) => (received += d.toString()));
    const subDone = new Promise<number | null>((r) => sub.once('exit', r));
    await expect.poll(() => hub.internals.broker.isOnline(cam.id), { timeout: 5000 }).toBe(true);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', cam.username, '-P', cam.password, '-q', '1', '-t', `hearth/cam/${cam.id}/event`, '-m', JSON.stringify({ type: 'motion', ts: NOW })]);
    expect(events(cam.id).map((e) => e.type)).toContain('motion');
    // The hub itself delivers a command to the camera's own command topic.
    await new Promise<void>((resolve, reject) => hub.internals.broker.aedes.publish({ cmd: 'publish', topic: `hearth/cam/${cam.id}/cmd/snapshot`, payload: Buffer.from('{}'), qos: 0, retain: false, dup: false }, (e) => (e ? reject(e) : resolve())));
    expect(await subDone).toBe(0);
    expect(received.trim()).toBe('{}');
    await expect(run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', cam.username, '-P', 'nope', '-q', '1', '-t', `hearth/cam/${cam.id}/event`, '-m', '{}'])).rejects.toMatchObject({ code: expect.any(Number) });
  });

  describe('MQTT 5 clients', () => {
    const v5: IClientOptions = { protocolVersion: 5 };

    it('refuse wrong credentials with CONNACK reason 0x87 "not authorized"', async () => {
      await expect(connect({ username: camA.username, password: 'wrong' }, v5)).rejects.toMatchObject({ code: 0x87 });
    });

    it('store a QoS 1 status, and get a negative PUBACK for a bad payload without losing the connection', async () => {
      const c = await connect(camA, v5);
      await c.publishAsync(`hearth/cam/${camA.id}/status`, JSON.stringify({ state: 'online', ssid: 'FiveNet', rssi: -51, model: 'M5', firmware: '5.0' }), { qos: 1, properties: { userProperties: { ignored: 'yes' } } });
      expect(hub.internals.cameras.view(camA.id)).toMatchObject({ ssid: 'FiveNet', rssi: -51, model: 'M5' });
      const before = counters()['mqtt.publish_refused.payload_not_json'] ?? 0;
      const refused = await c.publishAsync(`hearth/cam/${camA.id}/event`, '{not json', { qos: 1 }).then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      expect(refused).toMatchObject({ code: 0x99 });
      expect(c.connected).toBe(true);
      expect(counters()['mqtt.publish_refused.payload_not_json']).toBe(before + 1);
      await c.publishAsync(`hearth/cam/${camA.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
      expect(events(camA.id).filter((e) => e.type === 'motion').length).toBeGreaterThanOrEqual(2);
      await c.endAsync();
    });

    it('work with mosquitto_pub -V mqttv5 unchanged', async () => {
      const cam = enrol('Shed');
      await run('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(hub.mqttPort), '-u', cam.username, '-P', cam.password, '-q', '1', '-t', `hearth/cam/${cam.id}/event`, '-m', JSON.stringify({ type: 'reboot', ts: NOW })]);
      expect(events(cam.id).map((e) => e.type)).toContain('reboot');
    });
  });
});
