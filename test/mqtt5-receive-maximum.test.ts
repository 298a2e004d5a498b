/**
 * MQTT 5: a CONNECT with Receive Maximum 0 is a protocol error (3.1.2.11.3); the hub answers
 * CONNACK 0x82 and closes, and counts it. A valid Receive Maximum still connects.
 */
import { connect as tcp } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { addCameraWithPassword, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

describe('MQTT 5 Receive Maximum', () => {
  const dir = tempDir();
  let hub: RunningHub;
  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: silentLogger });
  });
  afterAll(async () => {
    await hub.stop();
    dir.cleanup();
  });

  it('refuses 0 with a protocol error and accepts 1', async () => {
    const password = generateDevicePassword();
    const cam = addCameraWithPassword(hub, 'Receiver', password);
    // mqtt-packet will not write a Receive Maximum of 0; write 1 and patch the property's value.
    const connect = (receiveMaximum: number) => {
      const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: 'rm', keepalive: 30, username: cam.id, password: Buffer.from(password), properties: { receiveMaximum: 1 } });
      const at = bytes.indexOf(Buffer.from([0x21, 0x00, 0x01]));
      bytes.writeUInt16BE(receiveMaximum, at + 1);
      return bytes;
    };
    const raw = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const s = tcp({ port: hub.mqttPort, host: '127.0.0.1' }, () => s.write(connect(0)));
      s.on('data', (d) => chunks.push(d));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', () => {});
      setTimeout(() => s.destroy(), 5000).unref();
    });
    expect(raw[0]).toBe(0x20); // CONNACK
    expect(raw[3]).toBe(0x82); // protocol error
    expect(hub.internals.counters.snapshot()['mqtt.bridge_refused.receive_maximum_zero']).toBeGreaterThanOrEqual(1);
    const one = await new Promise<Buffer>((resolve) => {
      const s = tcp({ port: hub.mqttPort, host: '127.0.0.1' }, () => s.write(connect(1)));
      s.once('data', (d) => {
        s.destroy();
        resolve(d);
      });
      s.on('error', () => {});
    });
    expect(one[0]).toBe(0x20);
    expect(one[3]).toBe(0x00);
    recordTally({ surface: 'mqtt5-connect', tried: 2, refused: 1, accepted: 1, crashes: 0, dataLost: 0 });
  });
});
