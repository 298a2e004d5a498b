/**
 * Presence follows the sockets: whatever a camera does around a refused publish (a non-JSON status
 * right after CONNECT, as Tasmota sends, a topic it may not use, a bad event), once its sockets are
 * gone it is offline, and its next connect and disconnect are recorded again.
 * Real aedes over TCP, raw 3.1.1 sockets, mqtt.js 3.1.1 and 5, and mosquitto_pub.
 */
import { execFile } from 'node:child_process';
import { connect as tcpConnect, type Socket } from 'node:net';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { createLogger } from '../src/log/logger.js';
import { connectPacket, publishPacket } from './helpers/raw-mqtt.js';
import { addCameraWithPassword, tempDir } from './helpers/hub.js';

const run = promisify(execFile);
const NOW = Date.now();

/** Refused publishes of each kind: [channel or topic suffix, payload]. */
const REFUSALS: { name: string; topic: (id: string, other: string) => string; payload: string }[] = [
  { name: 'non-JSON status', topic: (id) => `hearth/cam/${id}/status`, payload: 'Online' },
  { name: 'status without state', topic: (id) => `hearth/cam/${id}/status`, payload: '{"rssi":-50}' },
  { name: 'bad event type', topic: (id) => `hearth/cam/${id}/event`, payload: '{"type":"Bad Type","ts":1}' },
  { name: 'reserved event type', topic: (id) => `hearth/cam/${id}/event`, payload: JSON.stringify({ type: 'online', ts: NOW }) },
  { name: 'another camera’s topic', topic: (_id, other) => `hearth/cam/${other}/event`, payload: JSON.stringify({ type: 'motion', ts: NOW }) },
  { name: 'unknown channel', topic: (id) => `hearth/cam/${id}/telemetry`, payload: '{}' },
];

describe('presence after refused publishes', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: createLogger({ level: 'error', sink: () => {} }) });
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub.stop();
    dir.cleanup();
  });

  const enrol = (nickname: string) => addCameraWithPassword(hub, nickname);

  /** CONNECT and the refused PUBLISH in one write (a camera publishing right after connecting); resolves when the hub closed it. */
  function rawConnectAndPublish(id: string, password: string, topic: string, payload: string, extra?: (s: Socket) => void): Promise<void> {
    return new Promise((resolve) => {
      const s = tcpConnect({ port: hub.mqttPort, host: '127.0.0.1' }, () => {
        s.write(Buffer.concat([connectPacket(id, password), publishPacket(topic, payload, 1, 1)]));
        extra?.(s);
      });
      s.on('error', () => {});
      s.on('close', () => resolve());
      s.resume();
      setTimeout(() => s.destroy(), 5000).unref();
    });
  }

  const online = (id: string) => hub.internals.cameras.view(id).online;
  const presenceEvents = (id: string) =>
    (hub.internals.vault.db.prepare("SELECT type FROM events WHERE device_id = ? AND type IN ('online','offline') ORDER BY id").all(id) as { type: string }[]).map((e) => e.type);

  /** No socket left: the broker has no connection, and once the group commit has run, the store says offline. */
  async function settle(id: string): Promise<void> {
    await expect.poll(() => hub.internals.broker.isOnline(id), { timeout: 5000 }).toBe(false);
    await new Promise((r) => setTimeout(r, 100)); // records already handed to the group commit land
    await expect.poll(() => online(id), { timeout: 5000 }).toBe(false);
    expect(presenceEvents(id).at(-1) ?? 'offline').toBe('offline');
  }

  /** After any history: a fresh connect is recorded online, its disconnect offline. */
  async function presenceStillWorks(id: string, password: string): Promise<void> {
    const before = presenceEvents(id).length;
    const c = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: id, password, reconnectPeriod: 0 });
    clients.push(c);
    await new Promise((r, j) => (c.once('connect', r), c.once('error', j)));
    await expect.poll(() => online(id), { timeout: 5000 }).toBe(true);
    await c.endAsync();
    await settle(id);
    expect(presenceEvents(id).slice(before)).toEqual(['online', 'offline']);
  }

  it('records the disconnect after every refused 3.1.1 publish sent right after CONNECT (many repetitions, each kind)', async () => {
    const cam = enrol('Tasmota');
    const other = enrol('Other');
    for (const refusal of REFUSALS) {
      for (let i = 0; i < 25; i++) await rawConnectAndPublish(cam.id, cam.password, refusal.topic(cam.id, other.id), refusal.payload);
      await settle(cam.id);
      expect(hub.internals.broker.connectedDeviceIds()).not.toContain(cam.id);
    }
    // Presence alternates: never two "online" in a row with no "offline" between.
    const seq = presenceEvents(cam.id);
    for (let i = 1; i < seq.length; i++) expect(seq[i]).not.toBe(seq[i - 1]);
    await presenceStillWorks(cam.id, cam.password);
  }, 60_000);

  it('matches the sockets after concurrent connect / refuse / disconnect races', async () => {
    const cam = enrol('Racer');
    const other = enrol('Bystander');
    for (let round = 0; round < 8; round++) {
      const work: Promise<void>[] = [];
      for (const refusal of REFUSALS) work.push(rawConnectAndPublish(cam.id, cam.password, refusal.topic(cam.id, other.id), refusal.payload));
      // A socket that connects and drops at once, and one that sends a valid status and leaves.
      work.push(rawConnectAndPublish(cam.id, cam.password, `hearth/cam/${cam.id}/status`, 'Online', (s) => s.destroy()));
      work.push(
        new Promise((resolve) => {
          const s = tcpConnect({ port: hub.mqttPort, host: '127.0.0.1' }, () => {
            s.write(Buffer.concat([connectPacket(cam.id, cam.password), publishPacket(`hearth/cam/${cam.id}/status`, '{"state":"online"}', 2, 1)]));
            setTimeout(() => s.end(), round * 3);
          });
          s.on('error', () => {});
          s.on('close', () => resolve());
          s.resume();
        }),
      );
      await Promise.all(work);
      await settle(cam.id);
    }
    await presenceStillWorks(cam.id, cam.password);
  }, 60_000);

  it('keeps a connected camera online while another of its sockets is refused, and offline once both are gone', async () => {
    const cam = enrol('Overlap');
    const other = enrol('Elsewhere');
    const c = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.id, password: cam.password, reconnectPeriod: 0, protocolVersion: 5 });
    clients.push(c);
    await new Promise((r, j) => (c.once('connect', r), c.once('error', j)));
    for (const refusal of REFUSALS) await rawConnectAndPublish(cam.id, cam.password, refusal.topic(cam.id, other.id), refusal.payload);
    expect(hub.internals.broker.isOnline(cam.id)).toBe(true);
    expect(online(cam.id)).toBe(true);
    await c.endAsync();
    await settle(cam.id);
    await presenceStillWorks(cam.id, cam.password);
  }, 30_000);

  it('records presence correctly for mosquitto_pub sending a non-JSON status, again and again', async () => {
    const cam = enrol('Mosquitto');
    for (let i = 0; i < 15; i++) {
      await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(hub.mqttPort), '-V', 'mqttv311', '-u', cam.id, '-P', cam.password, '-q', '1', '-t', `hearth/cam/${cam.id}/status`, '-m', 'Online']).catch(() => undefined);
    }
    await settle(cam.id);
    await presenceStillWorks(cam.id, cam.password);
  }, 60_000);
});
