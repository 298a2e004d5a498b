/**
 * What the broker's hot path does differently from stock aedes/mqtt-packet, checked for sameness:
 * the one-write PUBACK gives the same bytes and still leaves in one system call per tick, camera
 * publishes are stored but never routed, and the silenced `debug` package still traces when asked.
 */
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installPubackFastPath } from '../src/broker/broker.js';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword, hashPassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { createLogger } from '../src/log/logger.js';
import { ROOT, tempDir , addCameraWithPassword } from './helpers/hub.js';

/** A socket stand-in that records each system-call-sized write (writev batches count once). */
class RecordingStream extends Writable {
  readonly calls: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.calls.push(Buffer.from(chunk));
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.calls.push(Buffer.concat(chunks.map((c) => c.chunk)));
    cb();
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('PUBACK fast path', () => {
  installPubackFastPath();

  it('writes exactly the bytes mqtt-packet encodes for an MQTT 3.1.1 PUBACK', async () => {
    for (const messageId of [1, 2, 255, 256, 4660, 65534, 65535]) {
      const out = new RecordingStream();
      mqttPacket.writeToStream({ cmd: 'puback', messageId }, out);
      await tick();
      expect(Buffer.concat(out.calls)).toEqual(mqttPacket.generate({ cmd: 'puback', messageId }));
    }
  });

  it('sends the PUBACKs released in one tick in one write', async () => {
    const out = new RecordingStream();
    for (let id = 1; id <= 50; id++) mqttPacket.writeToStream({ cmd: 'puback', messageId: id }, out);
    expect(out.calls).toHaveLength(0); // corked until the tick ends
    await tick();
    expect(out.calls).toHaveLength(1);
    expect(out.calls[0]).toHaveLength(200);
    expect(out.calls[0]!.subarray(196)).toEqual(Buffer.from([0x40, 0x02, 0x00, 50]));
  });

  it('leaves MQTT 5 acknowledgements and every other packet to the generic writer', async () => {
    const v5 = new RecordingStream();
    mqttPacket.writeToStream({ cmd: 'puback', messageId: 7, reasonCode: 0x99 } as never, v5, { protocolVersion: 5 });
    await tick();
    expect(Buffer.concat(v5.calls)).toEqual(mqttPacket.generate({ cmd: 'puback', messageId: 7, reasonCode: 0x99 } as never, { protocolVersion: 5 }));
    const other = new RecordingStream();
    mqttPacket.writeToStream({ cmd: 'pubrec', messageId: 9 }, other);
    mqttPacket.writeToStream({ cmd: 'pingresp' }, other);
    await tick();
    expect(Buffer.concat(other.calls)).toEqual(Buffer.concat([mqttPacket.generate({ cmd: 'pubrec', messageId: 9 }), mqttPacket.generate({ cmd: 'pingresp' })]));
  });

  it('refuses a PUBACK without a valid packet id the way mqtt-packet does', async () => {
    const out = new RecordingStream();
    let err: Error | undefined;
    out.on('error', (e) => (err = e));
    expect(mqttPacket.writeToStream({ cmd: 'puback' } as never, out)).toBe(false);
    await tick();
    expect(err?.message).toMatch(/messageId/i);
  });
});

describe('camera publishes end at the hub', () => {
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

  it('stores a camera publish without routing it to any subscriber, while other publishes still route', async () => {
    const password = generateDevicePassword();
    const cam = addCameraWithPassword(hub, 'Porch', password);
    const routed: string[] = [];
    // A subscription inside the broker: the one kind no camera can make, so the only way to see routing.
    await new Promise<void>((resolve) => hub.internals.broker.aedes.subscribe('#', (packet, cb) => (routed.push(packet.topic), cb()), () => resolve()));
    const client = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.id, password, reconnectPeriod: 0 });
    clients.push(client);
    await new Promise((resolve, reject) => (client.once('connect', resolve), client.once('error', reject)));
    await client.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now() }), { qos: 1 });
    await client.publishAsync(`hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', rssi: -50 }), { qos: 0 });
    await new Promise<void>((resolve) => hub.internals.broker.aedes.publish({ cmd: 'publish', topic: 'hub/internal', payload: Buffer.from('x'), qos: 0, dup: false, retain: false }, () => resolve()));
    await tick();
    const stored = hub.internals.vault.db.prepare('SELECT type FROM events WHERE device_id = ? ORDER BY id').pluck().all(cam.id);
    expect(stored).toEqual(['online', 'motion']);
    expect(routed.filter((t) => t.startsWith('hearth/'))).toEqual([]);
    expect(routed).toContain('hub/internal');
  });
});

describe('silenced debug tracing', () => {
  const probe = `
    await import(${JSON.stringify(new URL('dist/log/silent-debug.js', `file://${ROOT}/`).href)});
    const { createRequire } = await import('node:module');
    const require = createRequire(${JSON.stringify(`${ROOT}/node_modules/mqtt-packet/parser.js`)});
    const trace = require('debug')('mqtt-packet:parser');
    process.stdout.write(JSON.stringify({ silent: trace.namespace === undefined && trace.length === 0 }));
    trace('traced %s', 'field');
  `;
  const runProbe = (env: Record<string, string>) =>
    execFileSync(process.execPath, ['--input-type=module', '-e', probe], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  it('makes a disabled namespace an empty function for modules loaded afterwards', () => {
    expect(JSON.parse(runProbe({}))).toEqual({ silent: true });
  });

  it('still traces a namespace named in DEBUG', () => {
    expect(JSON.parse(runProbe({ DEBUG: 'mqtt-packet:*', DEBUG_COLORS: 'no' }))).toEqual({ silent: false });
  });

  it('is loaded before anything else by the CLI entry', () => {
    const main = execFileSync('grep', ['-m1', '^import', `${ROOT}/dist/cli/main.js`], { encoding: 'utf8' });
    expect(main.trim()).toBe("import '../log/silent-debug.js';");
  });
});
