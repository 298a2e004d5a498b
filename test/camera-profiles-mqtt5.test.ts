/**
 * Profiled cameras over MQTT 5, through the hub as it composes itself (its own MQTT 5 bridge):
 * images up to 2 MiB pass the bridge and are counted and dropped, a larger QoS 0 one is skipped
 * while it streams in, the camera stays connected, and no retained image stays in broker memory.
 * A real mqtt.js MQTT 5 client publishes as Frigate does (frigate/comms/mqtt.py: QoS 0; the
 * snapshot `<camera>/<label>/snapshot` retained, from frigate/object_processing.py).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IConnackPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_PAYLOAD_BYTES } from '../src/broker/broker.js';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { deviceService } from './helpers/enrol.js';
import { publishAcked, tempDir } from './helpers/hub.js';

const jpeg = (bytes: number) => {
  const b = Buffer.alloc(bytes, 0x5a);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
};

describe('profiled cameras over MQTT 5', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: silentLogger });
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub.stop();
    dir.cleanup();
  });

  const enrol = async (nickname: string, input: Record<string, string> = {}) => {
    const { device, shownOnce } = await deviceService(hub.internals.vault).enrol('camera', { nickname, ...input });
    return { id: device.id, password: String(shownOnce.password) };
  };
  const connect = (cam: { id: string; password: string }, opts: IClientOptions = {}) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.id, password: cam.password, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    clients.push(c);
    return new Promise<{ client: MqttClient; connack: IConnackPacket }>((resolve, reject) => {
      c.once('connect', (connack) => resolve({ client: c, connack }));
      c.once('error', reject);
    });
  };
  const retainedUnder = async (prefix: string) => {
    const persistence = (hub.internals.broker.aedes as unknown as { persistence: { createRetainedStream(p: string): AsyncIterable<{ topic: string }> } }).persistence;
    const topics: string[] = [];
    for await (const p of persistence.createRetainedStream('#')) if (p.topic.startsWith(prefix)) topics.push(p.topic);
    return topics;
  };

  it('a Frigate snapshot of 2 MiB passes, a larger QoS 0 one is skipped, the camera stays connected, nothing is retained', async () => {
    const nvr = await enrol('NVR', { profile: 'frigate', topic: 'frigate' });
    const { client, connack } = await connect(nvr, { clientId: 'frigate', will: { topic: 'frigate/available', payload: Buffer.from('offline'), qos: 1, retain: true } });
    // The CONNACK tells the camera how large a packet it may send: an image, a topic and headers.
    expect(connack.properties?.maximumPacketSize).toBeGreaterThan(IMAGE_PAYLOAD_BYTES + 'frigate/front_door/person/snapshot'.length);
    let closed = false;
    client.on('close', () => (closed = true));
    client.on('disconnect', () => (closed = true));
    await client.publishAsync('frigate/available', 'online', { qos: 0, retain: true });
    await client.publishAsync('frigate/front_door/person/snapshot', jpeg(IMAGE_PAYLOAD_BYTES), { qos: 0, retain: true });
    await client.publishAsync('frigate/front_door/car/snapshot', jpeg(IMAGE_PAYLOAD_BYTES + 512 * 1024), { qos: 0, retain: true });
    // Acknowledged after both images: they were read (or skipped) and the connection is the same one.
    await publishAcked(client, 'frigate/front_door/motion', 'ON');
    expect(closed).toBe(false);
    expect(client.connected).toBe(true);
    const counters = hub.internals.counters.snapshot();
    expect(counters['mqtt.profile_dropped.image']).toBe(1);
    expect(counters['mqtt.profile_dropped.image_too_large']).toBe(1);
    expect(counters['mqtt.bridge_refused.packet_too_large']).toBeUndefined();
    // No retained copy of anything a camera sent, images included.
    expect(await retainedUnder('frigate/')).toEqual([]);
    // Nothing of the images is stored: the motion is, on the Frigate camera's own device.
    const types = hub.internals.vault.db.prepare("SELECT e.type FROM events e JOIN devices d ON d.id = e.device_id WHERE d.id != ? AND e.type NOT IN ('online', 'offline')").all(nvr.id) as { type: string }[];
    expect(types.map((t) => t.type)).toEqual(['motion']);
    // Over the announced cap at QoS 1 the spec leaves no choice: DISCONNECT 0x95.
    const gone = new Promise<{ reasonCode?: number }>((r) => client.once('disconnect', r));
    client.publish('frigate/front_door/car/snapshot', jpeg(IMAGE_PAYLOAD_BYTES + 512 * 1024), { qos: 1 });
    expect(await gone).toMatchObject({ reasonCode: 0x95 });
  }, 30_000);

  it('over MQTT 3.1.1 too, a snapshot of exactly 2 MiB is read and dropped without a disconnect', async () => {
    const nvr = await enrol('NVR 2', { profile: 'frigate', topic: 'frigate2' });
    const { client } = await connect(nvr, { protocolVersion: 4, clientId: 'frigate2' });
    const before = hub.internals.counters.snapshot()['mqtt.profile_dropped.image'] ?? 0;
    await client.publishAsync('frigate2/garden/person/snapshot', jpeg(IMAGE_PAYLOAD_BYTES), { qos: 0, retain: true });
    await publishAcked(client, 'frigate2/garden/motion', 'ON');
    expect(hub.internals.counters.snapshot()['mqtt.profile_dropped.image']).toBe(before + 1);
    expect(await retainedUnder('frigate2/')).toEqual([]);
    await client.endAsync();
  }, 30_000);

  it('a camera on hearth’s own protocol keeps the normal cap', async () => {
    const cam = await enrol('Plain');
    const { client, connack } = await connect(cam);
    expect(connack.properties?.maximumPacketSize).toBeLessThan(64 * 1024);
    const gone = new Promise<{ reasonCode?: number }>((r) => client.once('disconnect', r));
    client.publish(`hearth/cam/${cam.id}/event`, jpeg(100_000), { qos: 0 });
    expect(await gone).toMatchObject({ reasonCode: 0x95 });
  });
});
