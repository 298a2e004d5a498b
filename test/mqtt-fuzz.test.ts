/**
 * Hostile MQTT input: more than 10,000 malformed or adversarial packets and payloads against the real
 * broker over TCP, while a well-behaved camera keeps publishing. The broker must stay up, refuse
 * and count every bad input, slow down password floods, and lose none of the good camera's data.
 */
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword, hashPassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { publishAcked, tempDir, type Camera , addCameraWithPassword } from './helpers/hub.js';
import { connectPacket, exchange, publishPacket } from './helpers/raw-mqtt.js';
import { prng, recordTally } from './helpers/robustness.js';

const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 20261125);
const NOW = Date.now();

interface Case {
  name: string;
  /** Bytes sent after an authenticated CONNECT. */
  bytes: Buffer;
  expect: 'refuse' | 'accept' | 'any';
}

describe('MQTT hostile input', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let fuzzer: Camera;
  let victim: Camera;
  const fuzzers: Camera[] = [];
  const tally = { surface: 'mqtt', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: silentLogger });
    const enrol = (n: string): Camera => {
      const password = generateDevicePassword();
      const d = addCameraWithPassword(hub, n, password);
      return { id: d.id, username: d.id, password };
    };
    fuzzer = enrol('Fuzzer');
    victim = enrol('Victim');
    // Same-length ids, so substituting one for another keeps every packet's byte layout.
    for (let i = 0; i < 8; i++) fuzzers.push(i === 0 ? fuzzer : enrol(`Fuzzer ${i}`));
  });

  afterAll(async () => {
    await hub.stop();
    dir.cleanup();
    recordTally(tally);
  });

  /** Runs cases with bounded concurrency; each on its own authenticated connection. */
  async function runCases(cases: Case[], waitMs = 3000, concurrency = 8): Promise<{ refused: number; accepted: number; wrong: string[] }> {
    // A camera may hold only a few connections at once: each worker connects as its own camera,
    // all of them allowed the fuzzer's topics (they publish as the fuzzer's id would).
    let refused = 0;
    let accepted = 0;
    const wrong: string[] = [];
    let next = 0;
    const worker = async (w: number) => {
      const cam = fuzzers[w]!;
      const connect = connectPacket(cam.username, cam.password);
      while (next < cases.length) {
        const c = cases[next++]!;
        const bytes = Buffer.from(c.bytes.toString('latin1').replaceAll(fuzzer.id, cam.id), 'latin1');
        const out = await exchange(hub.mqttPort, Buffer.concat([connect, fixLength(bytes, c.bytes)]), (ps) => ps.some((p) => p.cmd === 'puback' || p.cmd === 'suback'), waitMs);
        const acked = out.packets.some((p) => p.cmd === 'puback' || (p.cmd === 'suback' && (p as mqttPacket.ISubackPacket).granted.every((g) => g !== 128)));
        if (acked) accepted++;
        else refused++;
        if (c.expect === 'refuse' && acked) wrong.push(`${c.name} was accepted`);
        if (c.expect === 'accept' && !acked) wrong.push(`${c.name} was refused`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    tally.tried += cases.length;
    tally.refused += refused;
    tally.accepted += accepted;
    return { refused, accepted, wrong };
  }

  function adversarialPayloadCases(rand: () => number, n: number): Case[] {
    const own = (ch: string) => `hearth/cam/${fuzzer.id}/${ch}`;
    const makers: ((i: number) => Case)[] = [
      (i) => ({ name: `invalid utf8 ${i}`, bytes: publishPacket(own('event'), Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x80 + (i % 60), 0x7d])), expect: 'refuse' }),
      (i) => ({ name: `deep json ${i}`, bytes: publishPacket(own('event'), '{"type":"motion","ts":1,"x":' + '['.repeat(500 + (i % 1000)) + ']'.repeat(500 + (i % 1000)) + '}'), expect: 'refuse' }),
      (i) => ({ name: `huge json ${i}`, bytes: publishPacket(own('status'), JSON.stringify({ state: 'online', pad: 'x'.repeat(4100 + i) })), expect: 'refuse' }),
      (i) => ({ name: `wrong type ${i}`, bytes: publishPacket(own('status'), JSON.stringify({ state: 'online', rssi: ['-5 dBm', true, {}, [], 1e9, -1000][i % 6] })), expect: 'refuse' }),
      (i) => ({ name: `bad event ${i}`, bytes: publishPacket(own('event'), JSON.stringify([{ type: 1, ts: NOW }, { type: 'motion', ts: 'now' }, { type: 'motion', ts: -5 }, { type: 'online', ts: NOW }, { type: 'a'.repeat(64), ts: NOW }][i % 5])), expect: 'refuse' }),
      (i) => ({ name: `not json ${i}`, bytes: publishPacket(own('event'), ['', 'null', '[]', '"s"', '{', '{"a":1}{', '1e999'][i % 7]!), expect: 'refuse' }),
      (i) => ({ name: `foreign topic ${i}`, bytes: publishPacket(`hearth/cam/${victim.id}/event`, JSON.stringify({ type: 'motion', ts: NOW })), expect: 'refuse' }),
      (i) => ({ name: `other topic ${i}`, bytes: publishPacket(['hearth/cam', `hearth/cam/${fuzzer.id}`, `hearth/cam/${fuzzer.id}/cmd/x`, '$SYS/x', `hearth/cam/${fuzzer.id}/event/x`, 'x'.repeat(300)][i % 6]!, '{}'), expect: 'refuse' }),
      (i) => ({ name: `wildcard publish ${i}`, bytes: Buffer.concat([Buffer.from([0x32]), varint(2 + 17 + 2 + 2), u16(17), Buffer.from(['hearth/cam/+/even', 'hearth/cam/#/even'][i % 2]!), u16(1), Buffer.from('{}')]), expect: 'refuse' }),
      (i) => ({ name: `outside subscription ${i}`, bytes: mqttPacket.generate({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: ['#', `hearth/cam/${victim.id}/cmd/#`, 'hearth/+/+/status', '$SYS/#', `hearth/cam/${fuzzer.id}/status`][i % 5]!, qos: 1 }] }), expect: 'refuse' }),
      (i) => ({ name: `unknown fields dropped ${i}`, bytes: publishPacket(own('event'), JSON.stringify({ type: 'motion', ts: NOW - i, mac: 'aa:bb:cc:dd:ee:ff', extra: { nested: i } })), expect: 'accept' }),
    ];
    return Array.from({ length: n }, (_, i) => makers[Math.floor(rand() * makers.length)]!(i));
  }

  function mutatedPacketCases(rand: () => number, n: number): Case[] {
    const seeds = [
      publishPacket(`hearth/cam/${fuzzer.id}/event`, JSON.stringify({ type: 'motion', ts: NOW })),
      publishPacket(`hearth/cam/${fuzzer.id}/status`, JSON.stringify({ state: 'online', ssid: 'Fuzz', rssi: -50 })),
      mqttPacket.generate({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: `hearth/cam/${fuzzer.id}/cmd/#`, qos: 1 }] }),
      mqttPacket.generate({ cmd: 'pingreq' }),
      mqttPacket.generate({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a/b'] }),
    ];
    return Array.from({ length: n }, (_, i) => {
      const base = Buffer.from(seeds[Math.floor(rand() * seeds.length)]!);
      let bytes: Buffer;
      switch (i % 5) {
        case 0: // truncated
          bytes = base.subarray(0, Math.max(1, Math.floor(rand() * base.length)));
          break;
        case 1: // length field lies (too long, too short, or a 5-byte varint)
          bytes = Buffer.concat([base.subarray(0, 1), [varint(base.length * 4), varint(1), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])][i % 3]!, base.subarray(2)]);
          break;
        case 2: // random bit flips
          bytes = Buffer.from(base);
          for (let k = 0; k < 1 + Math.floor(rand() * 4); k++) bytes[Math.floor(rand() * bytes.length)]! ^= 1 << Math.floor(rand() * 8);
          break;
        case 3: // reserved or invalid header flags
          bytes = Buffer.from(base);
          bytes[0] = (bytes[0]! & 0xf0) | [0x06, 0x0f, 0x01][i % 3]!;
          break;
        default: // random garbage
          bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      }
      return { name: `mutation ${i % 5} #${i}`, bytes, expect: 'any' as const };
    });
  }

  it('refuses and counts >10,000 bad inputs while a good camera loses nothing', async () => {
    const rand = prng(SEED);
    const before = hub.internals.counters.snapshot();

    // The well-behaved camera publishes throughout.
    const good = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: victim.username, password: victim.password, reconnectPeriod: 0 });
    let stopGood = false;
    const goodAcked: number[] = [];
    let goodFailure: unknown;
    const goodLoop = (async () => {
      for (let n = 0; !stopGood; n++) {
        await publishAcked(good, `hearth/cam/${victim.id}/event`, JSON.stringify({ type: 'motion', ts: NOW - n }));
        goodAcked.push(NOW - n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })().catch((e: unknown) => (goodFailure = e));

    // Replayed corpus of cases that once mattered (kept in test/corpus/mqtt.json).
    const corpus = (JSON.parse(readFileSync(new URL('./corpus/mqtt.json', import.meta.url), 'utf8')) as { name: string; hex: string; expect: Case['expect'] }[]).map((c) => ({
      name: c.name,
      bytes: Buffer.from(c.hex.replaceAll('{ID}', Buffer.from(fuzzer.id).toString('hex')), 'hex'),
      expect: c.expect,
    }));
    const corpusRes = await runCases(corpus);
    expect(corpusRes.wrong).toEqual([]);

    const payloadRes = await runCases(adversarialPayloadCases(rand, 5200));
    expect(payloadRes.wrong).toEqual([]);
    // A mutated packet may leave the broker waiting for bytes that never come: give each a short while.
    const mutationRes = await runCases(mutatedPacketCases(rand, 3000), 150);

    // Garbage instead of a CONNECT, and CONNECTs that lie.
    const garbage: Case[] = Array.from({ length: 800 }, (_, i) => ({ name: `garbage connect ${i}`, bytes: Buffer.from(Array.from({ length: 1 + (i % 40) }, () => Math.floor(rand() * 256))), expect: 'refuse' as const }));
    let garbageRefused = 0;
    for (let i = 0; i < garbage.length; i += 40) {
      const outs = await Promise.all(garbage.slice(i, i + 40).map((g) => exchange(hub.mqttPort, g.bytes, (ps) => ps.some((p) => p.cmd === 'connack'), 3000)));
      garbageRefused += outs.filter((o) => !o.packets.some((p) => p.cmd === 'connack' && (p as mqttPacket.IConnackPacket).returnCode === 0)).length;
    }
    expect(garbageRefused).toBe(garbage.length);
    tally.tried += garbage.length;
    tally.refused += garbageRefused;

    // A wrong-password flood from one address (another host on the LAN) is slowed: most attempts
    // are turned away unchecked, while the camera itself, from its own address, is unaffected.
    const flood = 1000;
    let floodRefused = 0;
    for (let i = 0; i < flood; i += 50) {
      const outs = await Promise.all(Array.from({ length: 50 }, () => exchange(hub.mqttPort, connectPacket(victim.username, 'guess-' + Math.floor(rand() * 1e9)), (ps) => ps.some((p) => p.cmd === 'connack'), 3000, '127.0.0.66')));
      floodRefused += outs.filter((o) => !o.packets.some((p) => p.cmd === 'connack' && (p as mqttPacket.IConnackPacket).returnCode === 0)).length;
    }
    expect(floodRefused).toBe(flood);
    tally.tried += flood;
    tally.refused += floodRefused;

    stopGood = true;
    await goodLoop;
    expect(goodFailure).toBeUndefined();
    good.end(true);

    const after = hub.internals.counters.snapshot();
    const delta = (prefix: string) => Object.entries(after).filter(([k]) => k.startsWith(prefix)).reduce((n, [k, v]) => n + v - (before[k] ?? 0), 0);
    expect(delta('mqtt.auth_throttled')).toBeGreaterThan(flood / 2);
    // Every refused payload case is counted: as a refused publish or subscription, or, where the
    // packet itself is unacceptable (oversized, wildcard topic), as a client error with its reason.
    const refusalsCounted = delta('mqtt.publish_refused.') + delta('mqtt.subscribe_refused') + delta('mqtt.client_error.') + delta('mqtt.bridge_refused.');
    expect(refusalsCounted).toBeGreaterThanOrEqual(payloadRes.refused);
    expect(delta('mqtt.client_error.')).toBeGreaterThan(0);

    // The broker is still up and serving, and the good camera lost nothing.
    expect(goodAcked.length).toBeGreaterThan(20);
    const stored = new Set(hub.internals.vault.db.prepare("SELECT ts FROM events WHERE device_id = ? AND type = 'motion'").pluck().all(victim.id) as number[]);
    tally.dataLost = goodAcked.filter((ts) => !stored.has(ts)).length;
    expect(tally.dataLost).toBe(0);
    const check = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: victim.username, password: victim.password, reconnectPeriod: 0 });
    await publishAcked(check, `hearth/cam/${victim.id}/event`, JSON.stringify({ type: 'reboot', ts: NOW }));
    check.end(true);
    expect(tally.tried).toBeGreaterThanOrEqual(10_000);
    expect(mutationRes.refused + mutationRes.accepted).toBe(3000);
  }, 240_000);
});

/** Device ids all have the same length, so a substituted packet keeps its size. */
function fixLength(bytes: Buffer, original: Buffer): Buffer {
  if (bytes.length !== original.length) throw new Error('device ids differ in length');
  return bytes;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
