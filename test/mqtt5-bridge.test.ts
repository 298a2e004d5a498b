/**
 * The MQTT 5 bridge in front of a real aedes on a real TCP port, against real mqtt.js clients
 * (3.1.1 and 5), raw sockets speaking MQTT 5 byte by byte, and mosquitto_pub/mosquitto_sub -V mqttv5.
 */
import { execFile } from 'node:child_process';
import { connect as tcpConnect, createServer, Socket, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { createMqtt5Bridge } from '../src/broker/mqtt5-bridge.js';
import { BrokerError } from '../src/broker/errors.js';
import { tempDir, addCameraWithPassword } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';
import {
  attachConnection,
  Mqtt5Bridge,
  disconnectReasonFor,
  nackReasonCode,
  PacketFramer,
  peekConnect,
  readFixedHeader,
  translateConnect,
  type BridgeRefusal,
  type NegativeAckClient,
} from '../src/broker/mqtt5-bridge.js';

const run = promisify(execFile);
const MAX_PACKET = 4096;
const GOOD = { username: 'cam', password: 'secret' };

describe('pure helpers', () => {
  const v = (level: number, name = 'MQTT') => {
    const body = Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([level, 2, 0, 60])]);
    return Buffer.concat([Buffer.from([0x10, body.length]), body]);
  };

  it('peeks the protocol level of a CONNECT and refuses anything else', () => {
    expect(peekConnect(v(4), 100)).toMatchObject({ kind: 'ok', protocolLevel: 4 });
    expect(peekConnect(v(5), 100)).toMatchObject({ kind: 'ok', protocolLevel: 5, packetBytes: v(5).length });
    expect(peekConnect(v(3, 'MQIsdp'), 100)).toMatchObject({ kind: 'ok', protocolLevel: 3 });
    expect(peekConnect(v(5).subarray(0, 7), 100)).toEqual({ kind: 'incomplete' });
    expect(peekConnect(Buffer.from([0x10]), 100)).toEqual({ kind: 'incomplete' });
    expect(peekConnect(v(6), 100)).toEqual({ kind: 'refuse', reason: 'unsupported_protocol' });
    expect(peekConnect(v(5, 'MQTX'), 100)).toEqual({ kind: 'refuse', reason: 'unsupported_protocol' });
    expect(peekConnect(Buffer.from('GET / HTTP/1.1\r\n'), 100)).toEqual({ kind: 'refuse', reason: 'not_connect' });
    expect(peekConnect(Buffer.from([0x30, 0]), 100)).toEqual({ kind: 'refuse', reason: 'not_connect' });
    expect(peekConnect(v(5), 10)).toEqual({ kind: 'refuse', reason: 'connect_too_large' });
    expect(peekConnect(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), 1e9)).toEqual({ kind: 'refuse', reason: 'malformed' });
  });

  it('reads variable-length remaining lengths', () => {
    expect(readFixedHeader(Buffer.from([0x30, 0x00]))).toEqual({ kind: 'ok', firstByte: 0x30, headerBytes: 2, remainingLength: 0 });
    expect(readFixedHeader(Buffer.from([0x30, 0xc1, 0x02]))).toEqual({ kind: 'ok', firstByte: 0x30, headerBytes: 3, remainingLength: 321 });
    expect(readFixedHeader(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]))).toMatchObject({ remainingLength: 268_435_455 });
    expect(readFixedHeader(Buffer.from([0x30, 0x80]))).toEqual({ kind: 'incomplete' });
  });

  it('frames packets across chunk boundaries and refuses one larger than the cap before it arrives', () => {
    const framer = new PacketFramer(10);
    const a = Buffer.from([0xc0, 0x00]);
    const b = Buffer.from([0x30, 0x03, 1, 2, 3]);
    expect(framer.push(Buffer.concat([a, b.subarray(0, 3)]))).toEqual([a]);
    expect(framer.push(b.subarray(3))).toEqual([b]);
    expect(new PacketFramer(10).push(Buffer.from([0x30, 0x09]))).toBe('too_large');
    expect(new PacketFramer(10).push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBe('malformed');
  });

  it('for a camera that sends images: a raised cap, and QoS 0 publishes over it skipped as they stream in', () => {
    const big = (first: number) => Buffer.concat([Buffer.from([first, 0x80, 0x80, 0x04]), Buffer.alloc(65_536, 1)]); // announces 65,536 bytes
    const ping = Buffer.from([0xc0, 0x00]);
    expect(new PacketFramer(100).push(big(0x30))).toBe('too_large'); // not raised: refused
    const framer = new PacketFramer(100);
    framer.raise(1000, true);
    expect(framer.limit).toBe(1000);
    const qos0 = big(0x31); // retained QoS 0 PUBLISH
    // Fed in pieces, the skipped bytes are never handed on; the packet after it is.
    expect(framer.push(qos0.subarray(0, 3))).toEqual([]);
    expect(framer.push(qos0.subarray(3, 30_000))).toEqual([]);
    expect(framer.push(Buffer.concat([qos0.subarray(30_000), ping]))).toEqual([ping]);
    expect(framer.discarded).toBe(1);
    const within = Buffer.concat([Buffer.from([0x30, 0xe5, 0x07]), Buffer.alloc(1000 - 3, 2)]); // 1000 bytes in all
    expect(framer.push(within.subarray(0, 500))).toEqual([]);
    expect(framer.push(within.subarray(500))).toEqual([within]);
    // QoS 1 and 2 must be answered, so over the cap they still end the connection.
    expect(framer.push(big(0x32))).toBe('too_large');
    const q2 = new PacketFramer(100);
    q2.raise(1000, true);
    expect(q2.push(big(0x34))).toBe('too_large');
  });

  it('maps a v5 CONNECT to 3.1.1 session semantics', () => {
    const base = { cmd: 'connect' as const, clientId: 'c1', keepalive: 30 };
    expect(translateConnect({ ...base, clean: true }).v4).toMatchObject({ protocolVersion: 4, clean: true, clientId: 'c1', keepalive: 30 });
    const kept = translateConnect({ ...base, clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(kept.v4.clean).toBe(false);
    expect(kept.sessionExpiryOverride).toBeUndefined();
    const notKept = translateConnect({ ...base, clean: true, properties: { sessionExpiryInterval: 3600 } });
    expect(notKept.v4.clean).toBe(true);
    expect(notKept.sessionExpiryOverride).toBe(0);
    const anon = translateConnect({ ...base, clientId: '', clean: true });
    expect(anon.v4.clientId).toBe(anon.assignedClientId);
    expect(anon.assignedClientId).toMatch(/^h5-/);
    const will = translateConnect({ ...base, will: { topic: 't', payload: Buffer.from('x'), qos: 1, retain: false, properties: { willDelayInterval: 5 } } });
    expect(will.v4.will).toEqual({ topic: 't', payload: Buffer.from('x'), qos: 1, retain: false });
  });

  it('maps refusal reasons to PUBACK reason codes', () => {
    expect(nackReasonCode('payload_not_json')).toBe(0x99);
    expect(nackReasonCode('status_bad_ssid')).toBe(0x99);
    expect(nackReasonCode('topic_not_own')).toBe(0x87);
    expect(nackReasonCode(0x97)).toBe(0x97);
    expect(nackReasonCode(0x10)).toBe(0x80); // not an error code: never a silent "success"
  });

  it('names DISCONNECT reasons from the broker’s typed codes, not from message text', () => {
    expect(disconnectReasonFor(new BrokerError('publish_refused', 'topic_not_own'), false)).toBe(0x87);
    expect(disconnectReasonFor(new BrokerError('packet_too_large'), false)).toBe(0x95);
    expect(disconnectReasonFor(new BrokerError('not_stored'), false)).toBe(0x80);
    expect(disconnectReasonFor('connection_limit', false)).toBe(0x97);
    expect(disconnectReasonFor('keepalive_timeout', false)).toBe(0x8d);
    // aedes' own errors (pinned version) are recognised in one table.
    expect(disconnectReasonFor(new Error('keep alive timeout'), false)).toBe(0x8d);
    expect(disconnectReasonFor(new Error('Client queue limit reached'), false)).toBe(0x97);
    // A message that merely reads like a refusal is not one.
    expect(disconnectReasonFor(new Error('publish refused: topic_not_own'), false)).toBeUndefined();
    expect(disconnectReasonFor(new Error('packet too large'), false)).toBeUndefined();
    expect(disconnectReasonFor(undefined, true)).toBe(0x8b);
  });
});

describe('bridge in front of aedes', () => {
  let aedes: Aedes;
  let server: Server;
  let port: number;
  const handled: { socket: Socket; stream: Duplex }[] = [];
  const refusals: BridgeRefusal[] = [];
  const stored: string[] = [];
  const clients: MqttClient[] = [];
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    aedes = await Aedes.createBroker({ heartbeatInterval: 3_600_000, connectTimeout: 5_000 });
    aedes.authenticate = (_client, username, password, cb) => {
      if (username === GOOD.username && password?.toString() === GOOD.password) return cb(null, true);
      const returnCode = username === 'banned' ? 5 : 4;
      cb(Object.assign(new Error('refused'), { returnCode }) as never, false);
    };
    // Like the hub: topics outside data/ and chat/ are refused (disconnect); data/ needs a JSON payload
    // and a bad one is refused per message where the protocol allows it.
    aedes.authorizePublish = (client, packet, cb) => {
      if (!client) return cb(new BrokerError('not_authorized'));
      if (packet.topic.startsWith('chat/')) return cb(null);
      if (!packet.topic.startsWith('data/')) return cb(new BrokerError('publish_refused', 'topic_not_own'));
      try {
        JSON.parse(packet.payload.toString());
      } catch {
        if ((client as Client & Partial<NegativeAckClient>).nackPublish?.(packet as AedesPublishPacket, 'payload_not_json')) return;
        return cb(new BrokerError('publish_refused', 'payload_not_json'));
      }
      stored.push(packet.payload.toString());
      cb(null);
    };
    aedes.authorizeSubscribe = (_client, sub, cb) => cb(null, sub.topic.startsWith('forbidden') ? null : sub);

    server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      attachConnection(
        socket,
        (stream) => {
          handled.push({ socket, stream });
          return aedes.handle(stream as never);
        },
        { maxPacketBytes: MAX_PACKET, firstPacketTimeoutMs: 500, topicAliasMaximum: 4, onRefused: (r) => refusals.push(r) },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await new Promise<void>((r) => aedes.close(() => r()));
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  function client(version: 4 | 5, opts: IClientOptions = {}): MqttClient {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { ...GOOD, protocolVersion: version, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  async function connected(version: 4 | 5, opts: IClientOptions = {}): Promise<MqttClient> {
    const c = client(version, opts);
    await new Promise<void>((resolve, reject) => {
      c.once('connect', () => resolve());
      c.once('error', reject);
      c.once('close', () => reject(new Error('closed before CONNACK')));
    });
    return c;
  }

  function connackError(version: 4 | 5, opts: IClientOptions): Promise<{ code?: number }> {
    const c = client(version, opts);
    return new Promise((resolve, reject) => {
      c.once('connect', () => reject(new Error('unexpectedly accepted')));
      c.once('error', (e) => resolve(e as { code?: number }));
    });
  }

  const nextMessage = (c: MqttClient) => new Promise<{ topic: string; payload: string }>((r) => c.once('message', (topic, payload) => r({ topic, payload: payload.toString() })));

  /** A raw MQTT 5 session: write packets, read what the bridge sends back. */
  async function rawV5(connect: Partial<Extract<Packet, { cmd: 'connect' }>> = {}) {
    const sock = tcpConnect(port, '127.0.0.1');
    sockets.add(sock);
    sock.on('error', () => {});
    const received: Packet[] = [];
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on('packet', (p: Packet) => received.push(p));
    sock.on('data', (d: Buffer) => parser.parse(d));
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    await new Promise((r) => sock.once('connect', r));
    const send = (p: Packet) => sock.write(mqttPacket.generate(p, { protocolVersion: 5 }));
    send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `raw-${Math.random()}`, clean: true, keepalive: 30, username: GOOD.username, password: Buffer.from(GOOD.password), ...connect });
    await expect.poll(() => received.find((p) => p.cmd === 'connack')).toBeTruthy();
    return { sock, send, received, closed };
  }

  it('hands a 3.1.1 connection the original socket, untouched', async () => {
    const before = handled.length;
    const c = await connected(4);
    const entry = handled[before]!;
    expect(entry.stream).toBe(entry.socket);
    expect(entry.stream).toBeInstanceOf(Socket);
    await c.publishAsync('data/a', '{"n":1}', { qos: 1 });
    expect(stored).toContain('{"n":1}');
    await c.endAsync();
  });

  it('bridges an MQTT 5 connection through a translating stream', async () => {
    const before = handled.length;
    const c = await connected(5);
    const entry = handled[before]!;
    expect(entry.stream).toBeInstanceOf(Mqtt5Bridge);
    expect(entry.stream).not.toBe(entry.socket);
    expect((entry.stream as Mqtt5Bridge).socket).toBe(entry.socket);
    expect((entry.stream as Mqtt5Bridge).remoteAddress).toBe('127.0.0.1');
    await c.endAsync();
  });

  it('refuses bad credentials with the right CONNACK code for each version', async () => {
    expect(await connackError(4, { password: 'wrong' })).toMatchObject({ code: 4 });
    expect(await connackError(5, { password: 'wrong' })).toMatchObject({ code: 0x86 });
    expect(await connackError(5, { username: 'banned' })).toMatchObject({ code: 0x87 });
    expect(await connackError(4, { username: 'banned' })).toMatchObject({ code: 5 });
  });

  it('announces what the bridge supports in the v5 CONNACK', async () => {
    const raw = await rawV5({ clientId: '' });
    const connack = raw.received.find((p) => p.cmd === 'connack') as Extract<Packet, { cmd: 'connack' }>;
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties).toMatchObject({ topicAliasMaximum: 4, maximumPacketSize: MAX_PACKET, subscriptionIdentifiersAvailable: false });
    expect(connack.properties?.assignedClientIdentifier).toMatch(/^h5-/);
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.closed;
  });

  it('publishes QoS 0 and QoS 1 from a v5 client, acknowledging QoS 1', async () => {
    const c = await connected(5);
    const reader = await connected(4);
    await reader.subscribeAsync('data/#', { qos: 1 });
    const got = nextMessage(reader);
    c.publish('data/q0', '{"q":0}', { qos: 0 });
    expect(await got).toEqual({ topic: 'data/q0', payload: '{"q":0}' });
    await c.publishAsync('data/q1', '{"q":1}', { qos: 1 }); // resolves on PUBACK, rejects on a failure code
    expect(stored).toContain('{"q":1}');
    await c.endAsync();
    await reader.endAsync();
  });

  it('delivers to a v5 subscriber, maps refused filters to 0x87, and answers UNSUBSCRIBE per topic', async () => {
    const c = await connected(5);
    const granted = await c.subscribeAsync({ 'chat/#': { qos: 1, nl: true, rap: true, rh: 1 } });
    expect(granted[0]!.qos).toBe(1);
    const refused = await c.subscribeAsync({ 'forbidden/x': { qos: 1 } }).catch((e: { packet?: { granted: number[] } }) => e);
    expect((refused as { packet: { granted: number[] } }).packet.granted).toEqual([0x87]);
    const pub = await connected(4);
    const got = nextMessage(c);
    await pub.publishAsync('chat/room', 'hello', { qos: 1 });
    expect(await got).toEqual({ topic: 'chat/room', payload: 'hello' });
    await c.unsubscribeAsync(['chat/#', 'other/#']);
    expect(c.connected).toBe(true);
    await c.endAsync();
    await pub.endAsync();
  });

  it('answers a v5 UNSUBSCRIBE with one reason code per topic, and a PINGREQ', async () => {
    const raw = await rawV5();
    raw.send({ cmd: 'unsubscribe', messageId: 7, unsubscriptions: ['a/b', 'c/d', 'e/f'] });
    raw.send({ cmd: 'pingreq' });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'unsuback')).toMatchObject({ messageId: 7, granted: [0, 0, 0] });
    await expect.poll(() => raw.received.some((p) => p.cmd === 'pingresp')).toBe(true);
    raw.sock.destroy();
  });

  it('resolves topic aliases a v5 client sets and uses', async () => {
    const reader = await connected(4);
    await reader.subscribeAsync('chat/#', { qos: 0 });
    const seen: string[] = [];
    reader.on('message', (topic, payload) => seen.push(`${topic}=${payload.toString()}`));
    const raw = await rawV5();
    raw.send({ cmd: 'publish', topic: 'chat/alias', payload: Buffer.from('one'), qos: 0, retain: false, dup: false, properties: { topicAlias: 2 } });
    raw.send({ cmd: 'publish', topic: '', payload: Buffer.from('two'), qos: 1, messageId: 3, retain: false, dup: false, properties: { topicAlias: 2 } });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'puback')).toMatchObject({ messageId: 3 });
    await expect.poll(() => seen).toEqual(['chat/alias=one', 'chat/alias=two']);
    raw.send({ cmd: 'disconnect', reasonCode: 0 });
    await raw.closed;
    await reader.endAsync();
  });

  it('resolves topic aliases from mqtt.js (autoUseTopicAlias)', async () => {
    const c = await connected(5, { autoUseTopicAlias: true });
    const reader = await connected(4);
    await reader.subscribeAsync('chat/#', { qos: 1 });
    const seen: string[] = [];
    reader.on('message', (topic) => seen.push(topic));
    await c.publishAsync('chat/auto', 'x', { qos: 1 });
    await c.publishAsync('chat/auto', 'y', { qos: 1 });
    await expect.poll(() => seen).toEqual(['chat/auto', 'chat/auto']);
    await c.endAsync();
    await reader.endAsync();
  });

  it('disconnects a v5 client that uses an unknown or out-of-range topic alias with 0x94', async () => {
    for (const [topic, alias] of [['', 3], ['chat/x', 9]] as const) {
      const before = refusals.filter((r) => r === 'topic_alias_invalid').length;
      const raw = await rawV5();
      raw.send({ cmd: 'publish', topic, payload: Buffer.from('z'), qos: 0, retain: false, dup: false, properties: { topicAlias: alias } });
      await raw.closed;
      expect(raw.received.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x94 });
      expect(refusals.filter((r) => r === 'topic_alias_invalid').length).toBe(before + 1);
    }
  });

  it('refuses one invalid payload from a v5 client with PUBACK 0x99 and keeps the connection', async () => {
    const c = await connected(5);
    let closed = false;
    c.once('close', () => (closed = true));
    const err = await c.publishAsync('data/x', 'not json', { qos: 1 }).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(err).toMatchObject({ code: 0x99 });
    expect(stored).not.toContain('not json');
    // aedes goes on reading: the next publish is processed and acknowledged on the same connection.
    await c.publishAsync('data/x', '{"after":"nack"}', { qos: 1 });
    expect(stored).toContain('{"after":"nack"}');
    c.publish('data/x', 'bad qos0', { qos: 0 }); // dropped: QoS 0 has nothing to answer with
    await c.publishAsync('data/x', '{"after":"qos0"}', { qos: 1 });
    expect(stored).not.toContain('bad qos0');
    expect(closed).toBe(false);
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('answers an invalid QoS 2 payload with PUBREC 0x99', async () => {
    const raw = await rawV5();
    raw.send({ cmd: 'publish', topic: 'data/q2', payload: Buffer.from('nope'), qos: 2, messageId: 11, retain: false, dup: false });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'pubrec')).toMatchObject({ messageId: 11, reasonCode: 0x99 });
    raw.send({ cmd: 'pingreq' });
    await expect.poll(() => raw.received.some((p) => p.cmd === 'pingresp')).toBe(true);
    raw.sock.destroy();
  });

  it('still disconnects a 3.1.1 client for an invalid payload (no negative ack in 3.1.1)', async () => {
    const c = await connected(4);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('data/x', 'not json either', { qos: 1 });
    await closed;
    expect(stored).not.toContain('not json either');
  });

  it('sends DISCONNECT 0x87 before closing a v5 client whose publish aedes refused', async () => {
    const c = await connected(5);
    const disconnect = new Promise<{ reasonCode?: number }>((r) => c.once('disconnect', r));
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('secret/topic', '{}', { qos: 1 });
    expect(await disconnect).toMatchObject({ reasonCode: 0x87 });
    await closed;
  });

  it('publishes a v5 client’s will (properties dropped) when it drops off', async () => {
    const reader = await connected(4);
    await reader.subscribeAsync('chat/will', { qos: 1 });
    const got = nextMessage(reader);
    const c = await connected(5, { will: { topic: 'chat/will', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 0, contentType: 'text/plain' } } });
    c.stream.destroy();
    expect(await got).toEqual({ topic: 'chat/will', payload: 'gone' });
    await reader.endAsync();
  });

  it('disconnects a v5 client that sends a packet over the size cap with 0x95', async () => {
    const raw = await rawV5();
    const before = refusals.filter((r) => r === 'packet_too_large').length;
    raw.send({ cmd: 'publish', topic: 'data/big', payload: Buffer.alloc(MAX_PACKET + 1, 0x61), qos: 0, retain: false, dup: false });
    await raw.closed;
    expect(raw.received.find((p) => p.cmd === 'disconnect')).toMatchObject({ reasonCode: 0x95 });
    expect(refusals.filter((r) => r === 'packet_too_large').length).toBe(before + 1);
  });

  it('refuses enhanced authentication with CONNACK 0x8C', async () => {
    const sock = tcpConnect(port, '127.0.0.1');
    sockets.add(sock);
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const received: Packet[] = [];
    parser.on('packet', (p: Packet) => received.push(p));
    sock.on('data', (d: Buffer) => parser.parse(d));
    const closed = new Promise((r) => sock.once('close', r));
    await new Promise((r) => sock.once('connect', r));
    sock.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'x', clean: true, keepalive: 30, properties: { authenticationMethod: 'SCRAM-SHA-1' } }, { protocolVersion: 5 }));
    await closed;
    expect(received).toMatchObject([{ cmd: 'connack', reasonCode: 0x8c }]);
  });

  async function refusedRaw(bytes: Buffer | undefined): Promise<void> {
    const sock = tcpConnect(port, '127.0.0.1');
    sockets.add(sock);
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.once('close', r));
    await new Promise((r) => sock.once('connect', r));
    if (bytes) sock.write(bytes);
    await closed;
  }

  it('refuses a garbage first packet, an oversized CONNECT, an unknown protocol and a silent socket', async () => {
    const handledBefore = handled.length;
    await refusedRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await refusedRaw(mqttPacket.generate({ cmd: 'pingreq' }));
    await refusedRaw(Buffer.from([0x10, 0xff, 0xff, 0x03])); // announces ~64 kB
    await refusedRaw(Buffer.from([0x10, 0x0a, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x07, 0x02, 0x00, 0x3c]));
    await refusedRaw(undefined);
    expect(refusals).toEqual(expect.arrayContaining(['not_connect', 'connect_too_large', 'unsupported_protocol', 'connect_timeout']));
    expect(refusals.filter((r) => r === 'not_connect').length).toBeGreaterThanOrEqual(2);
    expect(handled.length).toBe(handledBefore); // none of them reached aedes
  });

  it('accepts a CONNECT that arrives a byte at a time, for both protocol versions', async () => {
    for (const version of [4, 5] as const) {
      const before = handled.length;
      const sock = tcpConnect(port, '127.0.0.1');
      sockets.add(sock);
      const parser = mqttPacket.parser({ protocolVersion: version });
      const received: Packet[] = [];
      parser.on('packet', (p: Packet) => received.push(p));
      sock.on('data', (d: Buffer) => parser.parse(d));
      await new Promise((r) => sock.once('connect', r));
      const bytes = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `slow-${version}`, clean: true, keepalive: 30, username: GOOD.username, password: Buffer.from(GOOD.password) }, { protocolVersion: version });
      for (const byte of bytes) {
        sock.write(Buffer.from([byte]));
        await new Promise((r) => setTimeout(r, 2));
      }
      await expect.poll(() => received.find((p) => p.cmd === 'connack')).toMatchObject(version === 5 ? { reasonCode: 0 } : { returnCode: 0 });
      expect(handled[before]!.stream instanceof Mqtt5Bridge).toBe(version === 5);
      sock.destroy();
    }
  });

  it('drops deliveries larger than the v5 client accepts, without stalling aedes', async () => {
    const raw = await rawV5({ properties: { maximumPacketSize: 64 } });
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat/small', qos: 1 }] });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'suback')).toMatchObject({ granted: [1] });
    const pub = await connected(4);
    await pub.publishAsync('chat/small', 'x'.repeat(100), { qos: 1 });
    await pub.publishAsync('chat/small', 'fits', { qos: 1 });
    await expect.poll(() => raw.received.filter((p) => p.cmd === 'publish').map((p) => (p as { payload: Buffer }).payload.toString())).toEqual(['fits']);
    raw.sock.destroy();
    await pub.endAsync();
  });

  it('completes a QoS 2 delivery toward aedes when the v5 client refuses it with PUBREC >= 0x80', async () => {
    const raw = await rawV5();
    raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'chat/q2', qos: 2 }] });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'suback')).toMatchObject({ granted: [2] });
    const pub = await connected(4);
    await pub.publishAsync('chat/q2', 'first', { qos: 2 });
    await expect.poll(() => raw.received.find((p) => p.cmd === 'publish')).toBeTruthy();
    const first = raw.received.find((p) => p.cmd === 'publish') as { messageId: number };
    raw.send({ cmd: 'pubrec', messageId: first.messageId, reasonCode: 0x80 });
    await pub.publishAsync('chat/q2', 'second', { qos: 2 });
    await expect.poll(() => raw.received.filter((p) => p.cmd === 'publish').length).toBe(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(raw.received.filter((p) => p.cmd === 'pubrel')).toEqual([]); // the flow ended at the refusing PUBREC
    raw.sock.destroy();
    await pub.endAsync();
  });

  it('works with mosquitto_sub and mosquitto_pub -V mqttv5 unchanged', async () => {
    const sub = execFile('mosquitto_sub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(port), '-u', GOOD.username, '-P', GOOD.password, '-t', 'chat/mosq', '-q', '1', '-C', '1', '-W', '10']);
    let out = '';
    sub.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => sub.once('exit', r));
    // Wait until the subscription is in place: the broker then forwards to it.
    await expect.poll(() => Object.values((aedes as unknown as { clients: Record<string, Client> }).clients).some((c) => Object.keys((c as Client & { subscriptions: object }).subscriptions).includes('chat/mosq')), { timeout: 5000 }).toBe(true);
    await run('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(port), '-u', GOOD.username, '-P', GOOD.password, '-q', '1', '-t', 'chat/mosq', '-m', 'from-mosquitto']);
    await run('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(port), '-u', GOOD.username, '-P', GOOD.password, '-q', '1', '-t', 'data/m', '-m', '{"m":5}']);
    expect(await exited).toBe(0);
    expect(out.trim()).toBe('from-mosquitto');
    expect(stored).toContain('{"m":5}');
    await expect(run('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(port), '-u', GOOD.username, '-P', 'nope', '-q', '1', '-t', 'data/m', '-m', '{}'])).rejects.toMatchObject({
      code: expect.any(Number),
    });
  });
});

describe('bridge when the broker shuts down', () => {
  it('tells v5 clients the server is shutting down (0x8B)', async () => {
    const aedes = await Aedes.createBroker({ heartbeatInterval: 3_600_000 });
    const server = createServer((socket) => {
      socket.on('error', () => {});
      attachConnection(socket, (stream) => aedes.handle(stream as never), { maxPacketBytes: MAX_PACKET });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const c = mqtt.connect(`mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    c.on('error', () => {});
    await new Promise((r) => c.once('connect', r));
    const disconnect = new Promise<{ reasonCode?: number }>((r) => c.once('disconnect', r));
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await new Promise<void>((r) => aedes.close(() => r()));
    expect(await disconnect).toMatchObject({ reasonCode: 0x8b });
    await closed;
    await new Promise<void>((r) => server.close(() => r()));
  });
});

describe('bridge in front of the hub broker', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const refusals: BridgeRefusal[] = [];
  const clients: MqttClient[] = [];
  const NOW = Date.now();

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    const attach = createMqtt5Bridge({ maxPacketBytes: config.mqtt.maxPayloadBytes + 512, onRefused: (r) => refusals.push(r) });
    hub = await startHub(config, { env: {}, logger: silentLogger, attachConnection: attach });
  });

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub.stop();
    dir.cleanup();
  });

  const enrol = (nickname: string) => addCameraWithPassword(hub, nickname);

  function connect(username: string, password: string, protocolVersion: 4 | 5): Promise<MqttClient> {
    const c = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username, password, protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(c);
    return new Promise((resolve, reject) => {
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  }

  const events = (id: string) => (hub.internals.vault.db.prepare('SELECT type FROM events WHERE device_id = ? ORDER BY id').all(id) as { type: string }[]).map((e) => e.type);
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: number }) => e);

  it('refuses a wrong secret over MQTT 5 with 0x87 and stores a valid event', async () => {
    const cam = enrol('Hall');
    await expect(connect(cam.id, 'wrong', 5)).rejects.toMatchObject({ code: 0x87 });
    const c = await connect(cam.id, cam.password, 5);
    await c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    expect(events(cam.id)).toContain('motion');
    await c.endAsync();
  });

  it('answers refused v5 publishes with a negative PUBACK and keeps the camera connected', async () => {
    const cam = enrol('Yard');
    const other = enrol('Shed');
    const c = await connect(cam.id, cam.password, 5);
    expect(await failure(c.publishAsync(`hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: 'x'.repeat(80) }), { qos: 1 }))).toMatchObject({ code: 0x99 });
    expect(await failure(c.publishAsync(`hearth/cam/${cam.id}/event`, 'not json', { qos: 1 }))).toMatchObject({ code: 0x99 });
    expect(await failure(c.publishAsync(`hearth/cam/${other.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 }))).toMatchObject({ code: 0x87 });
    expect(events(other.id)).toEqual([]);
    await c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    expect(events(cam.id)).toEqual(['online', 'motion']);
    expect(c.connected).toBe(true);
    expect(hub.internals.broker.isOnline(cam.id)).toBe(true);
    const counts = hub.internals.counters.snapshot();
    expect(counts['mqtt.publish_refused.status_bad_ssid']).toBe(1);
    expect(counts['mqtt.publish_refused.topic_not_own']).toBe(1);
    await c.endAsync();
  });

  it('acknowledges in the order published when a refusal is interleaved with stored events (QoS 1, MQTT 5)', async () => {
    const cam = enrol('Porch');
    const c = await connect(cam.id, cam.password, 5);
    const order: { id: number; code: number }[] = [];
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback') order.push({ id: p.messageId!, code: (p as { reasonCode?: number }).reasonCode ?? 0 });
    });
    const ids: number[] = [];
    c.on('packetsend', (p) => {
      if (p.cmd === 'publish') ids.push(p.messageId!);
    });
    // Sent back to back: stored, refused, stored, refused, stored. The refusal is decided at once,
    // the stored ones only after their batch commits: the acknowledgements must still come in order.
    const sends = [
      c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 }),
      c.publishAsync(`hearth/cam/${cam.id}/event`, 'not json', { qos: 1 }),
      c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'sound', ts: NOW }), { qos: 1 }),
      c.publishAsync(`hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: 'x'.repeat(80) }), { qos: 1 }),
      c.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'reboot', ts: NOW }), { qos: 1 }),
    ];
    await Promise.allSettled(sends);
    expect(order.map((o) => o.id)).toEqual(ids);
    expect(order.map((o) => o.code)).toEqual([0, 0x99, 0, 0x99, 0]);
    recordTally({ surface: 'mqtt5-interleaved-refusal', tried: 5, refused: 2, accepted: 3, crashes: 0, dataLost: 0 });
    expect(events(cam.id)).toEqual(['online', 'motion', 'sound', 'reboot']);
    expect(c.connected).toBe(true);
    await c.endAsync();
  });

  it('names the refusal in the negative PUBACK’s Reason String, unless the client asked for none', async () => {
    const cam = enrol('Reasons');
    const other = enrol('Neighbour');
    const reasonOf = async (requestProblemInformation: boolean | undefined, topic: string, payload: string) => {
      const sock = tcpConnect(hub.mqttPort, '127.0.0.1');
      sock.on('error', () => {});
      const received: Packet[] = [];
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (p: Packet) => received.push(p));
      sock.on('data', (d: Buffer) => parser.parse(d));
      await new Promise((r) => sock.once('connect', r));
      const send = (p: Packet) => sock.write(mqttPacket.generate(p, { protocolVersion: 5 }));
      const properties = requestProblemInformation === undefined ? undefined : { requestProblemInformation };
      send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `r-${Math.random()}`, clean: true, keepalive: 30, username: cam.id, password: Buffer.from(cam.password), ...(properties && { properties }) });
      await expect.poll(() => received.find((p) => p.cmd === 'connack')).toBeTruthy();
      send({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: 7, retain: false, dup: false });
      await expect.poll(() => received.find((p) => p.cmd === 'puback')).toBeTruthy();
      sock.destroy();
      const ack = received.find((p) => p.cmd === 'puback') as { reasonCode?: number; properties?: { reasonString?: string } };
      return { code: ack.reasonCode, reasonString: ack.properties?.reasonString };
    };
    expect(await reasonOf(undefined, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: 12 }))).toEqual({ code: 0x99, reasonString: 'event_ts_out_of_range' });
    expect(await reasonOf(true, `hearth/cam/${other.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }))).toEqual({ code: 0x87, reasonString: 'topic_not_own' });
    expect(await reasonOf(true, `hearth/cam/${cam.id}/status`, 'Online')).toEqual({ code: 0x99, reasonString: 'payload_not_json' });
    expect(await reasonOf(false, `hearth/cam/${cam.id}/status`, 'Online')).toEqual({ code: 0x99, reasonString: undefined });
  });

  it('refuses a connection over the per-camera limit as "server unavailable" / "quota exceeded", not as bad credentials', async () => {
    const cam = enrol('Busy');
    const open: MqttClient[] = [];
    for (let i = 0; i < 4; i++) open.push(await connect(cam.id, cam.password, 4));
    await expect(connect(cam.id, cam.password, 4)).rejects.toMatchObject({ code: 3 });
    await expect(connect(cam.id, cam.password, 5)).rejects.toMatchObject({ code: 0x97 });
    // The right secret over the limit is not a failed guess: the camera is not slowed down for it.
    await open.pop()!.endAsync();
    await expect.poll(() => hub.internals.broker.isOnline(cam.id)).toBe(true);
    const again = await connect(cam.id, cam.password, 5);
    expect(again.connected).toBe(true);
    for (const c of [...open, again]) await c.endAsync();
  });

  it('still disconnects a 3.1.1 camera for the same refusal', async () => {
    const cam = enrol('Porch');
    const c = await connect(cam.id, cam.password, 4);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.publish(`hearth/cam/${cam.id}/event`, 'not json', { qos: 1 });
    await closed;
    expect(refusals).toEqual([]);
  });
});
