/**
 * The collector's held acknowledgements (src/collector/ordered-acks.ts) against a real Mosquitto:
 * several messages in flight on one connection while their PUBACKs wait, PUBACKs only in the order
 * of the PUBLISHes, and nothing acknowledged across a reconnect. What the broker delivers again to
 * the session after a disconnect shows which PUBACKs it got.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderedAcks } from '../src/collector/ordered-acks.js';
import { tempDir } from './helpers/hub.js';
import { Mosquitto } from './uplink-helpers.js';

const TOPIC = 'hearth/v1/reports/acks';

describe('held, ordered PUBACKs on a real broker', () => {
  const dir = tempDir('hearth-acks-');
  let mosquitto: Mosquitto;
  let publisher: MqttClient;

  beforeAll(async () => {
    mosquitto = await Mosquitto.start(dir.path, { globalLines: ['max_queued_messages 0'] });
    publisher = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await publisher?.endAsync();
    await mosquitto?.stop();
    dir.cleanup();
  });

  /** A subscriber session as the collector opens it; every message's release function is kept. */
  async function session(clientId: string) {
    const got: { body: string; release: () => void }[] = [];
    let acks: OrderedAcks | undefined;
    const client = mqtt.connect(mosquitto.url, {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: { sessionExpiryInterval: 3600, receiveMaximum: 64 },
      reconnectPeriod: 0,
      customHandleAcks: (_topic, message, packet, done) => {
        got.push({ body: message.toString(), release: acks!.hold(packet.messageId!) });
        done(0);
      },
    });
    acks = new OrderedAcks(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(TOPIC, { qos: 1 });
    return { client, acks, got };
  }

  const waitFor = async (check: () => boolean, what: string) => {
    const until = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const bodies = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `m${from + i}`);

  it('keeps many messages in flight on one connection and acknowledges only from the head, in order', async () => {
    const s1 = await session('acks-order');
    for (const body of bodies(10)) await publisher.publishAsync(TOPIC, body, { qos: 1 });
    // Ten messages arrive with no PUBACK sent: one connection carries them all.
    await waitFor(() => s1.got.length === 10, 'ten messages in flight');
    expect(s1.got.map((g) => g.body)).toEqual(bodies(10));
    expect(s1.acks.held).toBe(10);
    // Released out of order, all but the first: none may be acknowledged yet.
    for (const g of s1.got.slice(1).reverse()) g.release();
    expect(s1.acks.held).toBe(10);
    await s1.client.endAsync();

    // The broker got no PUBACK: it delivers all ten again to the session.
    const s2 = await session('acks-order');
    await waitFor(() => s2.got.length === 10, 'ten messages again');
    expect(s2.got.map((g) => g.body)).toEqual(bodies(10));
    // Now the first five in order, then the rest: every PUBACK goes.
    for (const g of s2.got.slice(0, 5)) g.release();
    expect(s2.acks.held).toBe(5);
    for (const g of s2.got.slice(5)) g.release();
    expect(s2.acks.held).toBe(0);
    await new Promise((r) => setTimeout(r, 200)); // the PUBACKs reach the broker
    await s2.client.endAsync();

    const s3 = await session('acks-order');
    await publisher.publishAsync(TOPIC, 'after', { qos: 1 });
    await waitFor(() => s3.got.length >= 1, 'the next message');
    expect(s3.got.map((g) => g.body)).toEqual(['after']); // nothing of the ten came back
    s3.got[0]!.release();
    await new Promise((r) => setTimeout(r, 200));
    await s3.client.endAsync();
  });

  it('acknowledges nothing on a new connection for messages of the one before', async () => {
    const s1 = await session('acks-reconnect');
    for (const body of bodies(3, 100)) await publisher.publishAsync(TOPIC, body, { qos: 1 });
    await waitFor(() => s1.got.length === 3, 'three messages');
    const stale = s1.got.map((g) => g.release);
    // The network connection drops (the client reconnects on its own, same session).
    s1.client.options.reconnectPeriod = 50;
    s1.client.stream.destroy();
    await waitFor(() => s1.got.length === 6, 'the three delivered again on the new connection');
    expect(s1.got.slice(3).map((g) => g.body)).toEqual(bodies(3, 100));
    // Releasing the old connection's messages sends nothing (their ids may mean other messages now).
    for (const r of stale) r();
    expect(s1.acks.held).toBe(3);
    for (const g of s1.got.slice(3)) g.release();
    expect(s1.acks.held).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    await s1.client.endAsync();

    const s2 = await session('acks-reconnect');
    await new Promise((r) => setTimeout(r, 300));
    expect(s2.got).toEqual([]); // all three were acknowledged once, on the connection that held them
    await s2.client.endAsync();
  });
});
