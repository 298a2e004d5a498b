/**
 * The event `type` is kept in plaintext (the hub counts by it), so a camera may only report the
 * types on the allow-list: anything else is refused with a reason and never reaches the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword } from '../src/crypto/password.js';
import { KNOWN_EVENT_TYPES, parseEvent } from '../src/devices/camera/protocol.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { addCameraWithPassword, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

const NOW = Date.now();
const b = (v: unknown) => Buffer.from(JSON.stringify(v));
const SMUGGLED = ['ssid_homenet_pw_hunter2', 'x', 'motion2', 'motionx', 'reboot_', 'weigh_in', 'ssid_up'];

describe('event type allow-list', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const tally = { surface: 'event-type', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: silentLogger });
  });
  afterAll(async () => {
    await hub.stop();
    dir.cleanup();
    recordTally(tally);
  });

  it('accepts each known type and refuses any other well-formed one', () => {
    for (const type of KNOWN_EVENT_TYPES) expect(parseEvent(b({ type, ts: NOW }), 4096, NOW).ok).toBe(true);
    for (const type of SMUGGLED) expect(parseEvent(b({ type, ts: NOW }), 4096, NOW)).toEqual({ ok: false, reason: 'event_unknown_type' });
  });

  it('refuses an unknown type over MQTT 5 with its reason, and the string never reaches the database', async () => {
    const password = generateDevicePassword();
    const cam = addCameraWithPassword(hub, 'Smuggler', password);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.id, password, protocolVersion: 5, reconnectPeriod: 0 });
    const reasons: string[] = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && (p.reasonCode ?? 0) >= 0x80) reasons.push(String(p.properties?.reasonString));
    });
    for (const type of SMUGGLED) await c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type, ts: NOW }), { qos: 1 }).catch(() => {});
    await c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    expect(reasons).toEqual(SMUGGLED.map(() => 'event_unknown_type'));
    await c.endAsync();
    await hub.stop();
    const raw = Buffer.concat(['hearth.db', 'hearth.db-wal'].map((f) => { try { return readFileSync(join(dir.path, f)); } catch { return Buffer.alloc(0); } }));
    expect(raw.includes('ssid_homenet_pw_hunter2')).toBe(false);
    expect(raw.includes('motion')).toBe(true); // the known one was stored
    tally.tried += SMUGGLED.length + 1;
    tally.refused += reasons.length;
    tally.accepted += 1;
  });
});
