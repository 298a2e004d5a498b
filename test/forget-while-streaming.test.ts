/**
 * Forgetting a camera while it and another camera stream QoS 1 events into a real hub (real
 * aedes over TCP, real mqtt.js clients): the removal and the write batches do not race. The other
 * camera keeps its connection and every event the hub acknowledged to it is stored; the store
 * stays healthy; nothing of the forgotten camera is left.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { createLogger } from '../src/log/logger.js';
import { addCameraWithPassword, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

describe('forget while cameras stream', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const lines: string[] = [];

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' }, env: { HEARTH_BLE_ENABLED: 'false', HEARTH_MQTT_EVENTS_PER_SECOND: '100000' } });
    hub = await startHub(config, { env: {}, logger: createLogger({ level: 'warn', sink: (l) => lines.push(l) }) });
  });

  afterAll(async () => {
    await hub?.stop();
    dir.cleanup();
  });

  /** Publishes QoS 1 events as fast as they are acknowledged until stopped; counts the acknowledged ones. */
  function stream(client: MqttClient, id: string) {
    let acked = 0;
    let failed = 0;
    let running = true;
    const loops = Array.from({ length: 8 }, async () => {
      while (running && client.connected) {
        try {
          await client.publishAsync(`hearth/cam/${id}/event`, JSON.stringify({ type: 'motion', ts: Date.now(), detail: 'zone a' }), { qos: 1 });
          acked++;
        } catch {
          failed++;
          return;
        }
      }
    });
    return {
      get acked() {
        return acked;
      },
      get failed() {
        return failed;
      },
      stop: async () => {
        running = false;
        // A publish in flight when its camera was disconnected never settles: do not wait for it.
        await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
      },
    };
  }

  it('keeps the other camera connected with all its acknowledged events stored, and the store healthy', async () => {
    const kept = addCameraWithPassword(hub, 'Kept');
    const connect = (c: { id: string; password: string }) => mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: c.id, password: c.password, clientId: c.id, reconnectPeriod: 0 });
    const keptClient = await connect(kept);
    let keptClosed = false;
    keptClient.on('close', () => (keptClosed = true));
    const healthChanges: boolean[] = [];
    hub.ctx.bus.on('storage.changed', 'test', (e) => healthChanges.push(e.healthy));
    const b = stream(keptClient, kept.id);
    const db = hub.internals.vault.db;
    // Several cameras forgotten in turn, each while it streams, while the kept one streams throughout.
    for (let round = 0; round < 5; round++) {
      const gone = addCameraWithPassword(hub, `Doomed ${round}`);
      const goneClient = await connect(gone);
      const a = stream(goneClient, gone.id);
      await new Promise((r) => setTimeout(r, 150 + round * 37));
      expect(await hub.ctx.services.devices.forget(gone.id)).toBe(true);
      await a.stop();
      goneClient.end(true);
      expect(a.acked).toBeGreaterThan(0);
      expect(db.prepare('SELECT COUNT(*) FROM events WHERE device_id = ?').pluck().get(gone.id)).toBe(0);
      expect(db.prepare('SELECT COUNT(*) FROM camera_state WHERE device_id = ?').pluck().get(gone.id)).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 200));
    await b.stop();
    expect(b.acked).toBeGreaterThan(50);
    expect(b.failed).toBe(0);
    // The forgotten cameras' connections were closed under them; nothing else went wrong.
    expect(lines.filter((l) => l.includes(kept.id))).toEqual([]);
    expect(lines.filter((l) => !/client connection error .*reason=protocol_error/.test(l))).toEqual([]);
    expect(keptClosed).toBe(false);
    expect(healthChanges).toEqual([]);
    expect(hub.ctx.services.storage.status().healthy).toBe(true);
    expect(db.prepare('SELECT COUNT(*) FROM events WHERE device_id = ? AND type = ?').pluck().get(kept.id, 'motion')).toBeGreaterThanOrEqual(b.acked);
    expect(hub.internals.counters.snapshot()['mqtt.publish_failed.store'] ?? 0).toBe(0);
    recordTally({ surface: 'forget-while-streaming', tried: b.acked, refused: 0, accepted: b.acked, crashes: 0, dataLost: 0 });
    await keptClient.endAsync();
  }, 60_000);

  it('leaves nothing of a camera forgotten while it alone streams (its newest ids deleted first are not handed out again)', async () => {
    const connect = (c: { id: string; password: string }) => mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: c.id, password: c.password, clientId: c.id, reconnectPeriod: 0 });
    const db = hub.internals.vault.db;
    for (let round = 0; round < 5; round++) {
      const gone = addCameraWithPassword(hub, `Alone ${round}`);
      const client = await connect(gone);
      const a = stream(client, gone.id);
      await new Promise((r) => setTimeout(r, 120 + round * 41));
      expect(await hub.ctx.services.devices.forget(gone.id)).toBe(true);
      await a.stop();
      client.end(true);
      expect(db.prepare('SELECT COUNT(*) FROM events WHERE device_id = ?').pluck().get(gone.id)).toBe(0);
    }
    expect(db.prepare('SELECT COUNT(*) FROM pragma_foreign_key_check').pluck().get()).toBe(0);
  }, 60_000);
});
