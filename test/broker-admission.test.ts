/**
 * Abuse from the LAN against the broker's resources: socket floods, a camera's connection cap under
 * simultaneous connects, subscription and session growth, event floods and password-check
 * starvation. The pure limiters are checked with a clock of their own; then each hole is tried
 * against the real broker over TCP, and the attempts go into the suite's hostile-input totals.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionAdmission, EventBudget, SubscriptionCap, VerifyBusyError, VerifyQueue, admissionOptions, sessionId } from '../src/broker/admission.js';
import { loadConfig } from '../src/config/config.js';
import { generateDevicePassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { addCameraWithPassword, tempDir } from './helpers/hub.js';
import { connectPacket, exchange } from './helpers/raw-mqtt.js';
import { recordTally } from './helpers/robustness.js';

const fakeSocket = (remoteAddress: string) => {
  const s = { remoteAddress, destroyed: false, destroy: () => (s.destroyed = true) };
  return s as unknown as Socket & { destroyed: boolean };
};

describe('admission limits (pure)', () => {
  it('caps waiting sockets per source once the pool is half full, counting an IPv6 /64 as one source', () => {
    const a = new ConnectionAdmission(admissionOptions(10, { maxWaitingPerSource: 3 }));
    for (let i = 0; i < 4; i++) expect(a.admit(fakeSocket(`10.0.0.${i + 1}`)).ok).toBe(true);
    const results = Array.from({ length: 10 }, (_, i) => a.admit(fakeSocket(`2001:db8:1:2::${(i + 1).toString(16)}`)).ok);
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(a.admit(fakeSocket('2001:db8:1:3::1')).ok).toBe(true); // another /64
  });

  it('closes the longest-waiting idle socket for a newcomer, and keeps slots only cameras can hold', () => {
    const a = new ConnectionAdmission(admissionOptions(10, { maxWaitingPerSource: 100 }));
    expect(a.opts.reservedForDevices).toBe(2);
    const socks = Array.from({ length: 8 }, (_, i) => fakeSocket(`10.0.0.${i + 1}`));
    const tickets = socks.map((s) => {
      const r = a.admit(s);
      if (!r.ok) throw new Error('refused');
      return r.ticket;
    });
    a.checking(tickets[0]!); // sent CONNECT: not the first to go
    const newcomer = a.admit(fakeSocket('10.0.0.99'));
    expect(newcomer.ok && newcomer.evicted?.socket).toBe(socks[1]);
    expect(socks[1]!.destroyed).toBe(true);
    expect(a.waitingCount).toBe(8);
    // Cameras authenticate into the reserved slots; the waiting pool stays at 8.
    expect(a.reserveDevice(tickets[0]!, 'cam-a')).toBe(true);
    a.authenticate(tickets[0]!);
    expect(a.authenticatedCount).toBe(1);
    expect(a.waitingCount).toBe(7);
  });

  it('holds a camera slot before the password check and gives it back on failure or close', () => {
    const a = new ConnectionAdmission(admissionOptions(100, { maxConnectionsPerDevice: 2 }));
    const t = () => {
      const r = a.admit(fakeSocket('10.0.0.1'));
      if (!r.ok) throw new Error('refused');
      return r.ticket;
    };
    const [t1, t2, t3] = [t(), t(), t()];
    expect(a.reserveDevice(t1, 'cam-a')).toBe(true);
    expect(a.reserveDevice(t2, 'cam-a')).toBe(true);
    expect(a.reserveDevice(t3, 'cam-a')).toBe(false);
    a.releaseDevice(t2);
    expect(a.reserveDevice(t3, 'cam-a')).toBe(true);
    a.close(t1);
    a.close(t1);
    const t4 = t();
    expect(a.reserveDevice(t4, 'cam-a')).toBe(true);
    expect(a.reserveDevice(t(), 'cam-a')).toBe(false);
  });

  it('counts filters of one SUBSCRIBE before any is added, and restored ones', () => {
    const cap = new SubscriptionCap(4);
    const client = { subscriptions: { 'a/1': {}, 'a/2': {} } };
    expect(['a/3', 'a/4', 'a/5', 'a/1'].map((t) => cap.admit(client, t))).toEqual([true, true, false, true]);
    cap.removed(client, ['a/3']);
    expect(cap.admit(client, 'a/5')).toBe(true);
  });

  it('keeps one persistent session per camera whatever client id it sends', () => {
    expect(sessionId('cam-a', 'x', false)).toBe(sessionId('cam-a', 'y', false));
    expect(sessionId('cam-a', 'x', true)).not.toBe(sessionId('cam-a', 'y', true));
    expect(sessionId('cam-a', 'x', false)).not.toBe(sessionId('cam-b', 'x', false));
  });

  it('limits a camera to its event rate and its daily quota', () => {
    let now = Date.UTC(2026, 0, 1);
    const b = new EventBudget({ perSecond: 2, burst: 5, perDay: 20 }, () => now);
    const first = Array.from({ length: 8 }, () => b.take('cam-a'));
    expect(first.filter((v) => v.ok)).toHaveLength(5);
    expect(first[7]).toEqual({ ok: false, reason: 'event_rate_limited' });
    expect(b.take('cam-b').ok).toBe(true); // per camera
    let stored = 5;
    for (let i = 0; i < 100; i++) {
      now += 1000;
      if (b.take('cam-a').ok) stored++;
    }
    expect(stored).toBe(20);
    expect(b.take('cam-a')).toEqual({ ok: false, reason: 'event_quota_exceeded' });
    now += 25 * 3_600_000;
    expect(b.take('cam-a').ok).toBe(true);
  });

  it('serves password checks round-robin by source and puts known cameras first', async () => {
    const order: string[] = [];
    const gates: (() => void)[] = [];
    const q = new VerifyQueue({ concurrency: 1, maxWaiting: 8, recentMs: 60_000 });
    const job = (name: string) => () =>
      new Promise<boolean>((resolve) => {
        order.push(name);
        gates.push(() => resolve(true));
      });
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 2; i++) for (const s of ['A', 'B', 'C']) all.push(q.submit('cam-x', s, job(`${s}${i}`)));
    q.succeeded('cam-ok', 'D');
    all.push(q.submit('cam-ok', 'D', job('D0')));
    while (gates.length > 0 || order.length < 7) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    await Promise.all(all);
    // A0 was already running; the known camera jumps the line; then one per source in turn.
    expect(order).toEqual(['A0', 'D0', 'B0', 'C0', 'A1', 'B1', 'C1']);
  });
});

describe('broker under abuse', () => {
  const dir = tempDir();
  let hub: RunningHub;
  const tally = { surface: 'mqtt-admission', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };
  const enrol = (n: string) => {
    const password = generateDevicePassword();
    const d = addCameraWithPassword(hub, n, password);
    return { id: d.id, password };
  };
  const counters = () => hub.internals.counters.snapshot();

  beforeAll(async () => {
    const config = loadConfig({
      flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '0.0.0.0', 'http-host': '127.0.0.1' },
      env: { HEARTH_MQTT_EVENTS_PER_SECOND: '10' },
    });
    hub = await startHub(config, { env: {}, logger: silentLogger });
  });

  afterAll(async () => {
    await hub.stop();
    dir.cleanup();
    recordTally(tally);
  });

  const mqttConnect = (id: string, password: string, extra: mqtt.IClientOptions = {}): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const c = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: id, password, reconnectPeriod: 0, connectTimeout: 20_000, ...extra });
      c.once('connect', () => resolve(c));
      c.once('error', (err) => {
        c.end(true);
        reject(err);
      });
      c.once('close', () => reject(new Error('closed')));
    });

  const idleSocket = (from: string): Promise<Socket> =>
    new Promise((resolve) => {
      const s = tcpConnect({ port: hub.mqttPort, host: '127.0.0.1', localAddress: from }, () => resolve(s));
      s.on('error', () => {});
    });

  it('lets a camera in while idle sockets from many addresses fill the broker, and caps each address', async () => {
    const cam = enrol('Flooded');
    const flood: Socket[] = [];
    for (let a = 0; a < 60; a++) flood.push(...(await Promise.all(Array.from({ length: 12 }, () => idleSocket(`127.0.3.${a + 1}`)))));
    const stillOpen = () => flood.filter((s) => !s.destroyed && s.readyState === 'open');
    // 60 addresses × at most 8 waiting each, and the waiting pool holds at most 500 − 100 (the
    // hub's closes reach these sockets a moment later).
    await expect.poll(() => stillOpen().length, { timeout: 15_000 }).toBeLessThanOrEqual(400);
    const open = stillOpen();
    const c = await mqttConnect(cam.id, cam.password);
    expect(c.connected).toBe(true);
    tally.tried += flood.length + 1;
    tally.refused += flood.length - open.length;
    tally.accepted += 1;
    await c.endAsync();
    for (const s of flood) s.destroy();
    expect(counters()['mqtt.source_limit'] ?? 0).toBeGreaterThan(0);
  });

  it('accepts no more than four simultaneous connections of one camera', async () => {
    const cam = enrol('Racer');
    const outs = await Promise.all(
      Array.from({ length: 12 }, () =>
        // Each socket is held open for 5 s whatever it gets, so all twelve overlap.
        exchange(hub.mqttPort, connectPacket(cam.id, cam.password), () => false, 5_000),
      ),
    );
    const accepted = outs.filter((o) => o.packets.some((p) => p.cmd === 'connack' && (p as mqttPacket.IConnackPacket).returnCode === 0)).length;
    expect(accepted).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(4);
    tally.tried += 12;
    tally.accepted += accepted;
    tally.refused += 12 - accepted;
  });

  it('caps the filters a camera may subscribe to, and keeps one persistent session per camera', async () => {
    const cam = enrol('Subscriber');
    const c = await mqttConnect(cam.id, cam.password, { clean: false, clientId: 'sub-0' });
    const filters = Array.from({ length: 60 }, (_, i) => `hearth/cam/${cam.id}/cmd/f${i}`);
    // mqtt.js reports a SUBACK with any refused filter as an error; read the SUBACK itself.
    const suback = new Promise<mqttPacket.ISubackPacket>((resolve) => c.on('packetreceive', (p) => p.cmd === 'suback' && resolve(p)));
    c.subscribe(filters, { qos: 1 }, () => {});
    const ok = (await suback).granted.filter((g) => g !== 128).length;
    expect(ok).toBe(16);
    await c.endAsync();
    tally.tried += 60;
    tally.accepted += ok;
    tally.refused += 60 - ok;
    // Twenty more clean=false sessions under fresh client ids leave one session behind, not 21.
    for (let i = 1; i <= 20; i++) {
      const again = await mqttConnect(cam.id, cam.password, { clean: false, clientId: `sub-${i}` });
      // The session's 16 restored filters count: a new one is refused, a held one is granted.
      const acks: number[][] = [];
      again.on('packetreceive', (p) => p.cmd === 'suback' && acks.push(p.granted as number[]));
      again.subscribe(`hearth/cam/${cam.id}/cmd/x${i}`, { qos: 1 }, () => {});
      await again.subscribeAsync(`hearth/cam/${cam.id}/cmd/f0`, { qos: 1 });
      expect(acks).toEqual([[128], [1]]);
      await again.endAsync();
    }
    tally.tried += 20;
    const persistence = hub.internals.broker.aedes.persistence as unknown as { countOffline(): Promise<{ clientsCount: number }>; subscriptionsByClient(c: { id: string }): Promise<unknown[]> };
    const offline = await persistence.countOffline();
    expect(offline.clientsCount).toBe(1);
    expect(await persistence.subscriptionsByClient({ id: sessionId(cam.id, 'any', false) })).toHaveLength(16);
  });

  it('refuses a camera\'s events over its rate with a reason, counts them, and keeps the connection', async () => {
    const cam = enrol('Chatty');
    const c = await mqttConnect(cam.id, cam.password, { protocolVersion: 5 });
    const topic = `hearth/cam/${cam.id}/event`;
    const before = counters()['mqtt.publish_refused.event_rate_limited'] ?? 0;
    const refusals: string[] = [];
    // The PUBACK's reason string says why (mqtt.js' error carries only the reason code).
    c.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && (p.reasonCode ?? 0) >= 0x80) refusals.push(`${p.reasonCode}:${p.properties?.reasonString}`);
    });
    await Promise.all(
      Array.from(
        { length: 400 },
        () =>
          new Promise<void>((resolve) => {
            c.publish(topic, JSON.stringify({ type: 'motion' }), { qos: 1 }, () => resolve());
          }),
      ),
    );
    expect(c.connected).toBe(true);
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set([`${0x97}:event_rate_limited`])); // quota exceeded
    expect((counters()['mqtt.publish_refused.event_rate_limited'] ?? 0) - before).toBe(refusals.length);
    expect(hub.internals.counters.lastRefusal(cam.id)?.reason).toBe('event_rate_limited');
    tally.tried += 400;
    tally.refused += refusals.length;
    tally.accepted += 400 - refusals.length;
    await c.endAsync();
  });

  it('lets a camera\'s first login through while sixty addresses flood its account with wrong passwords', async () => {
    const cam = enrol('Starved');
    const attempts: Promise<unknown>[] = [];
    for (let a = 0; a < 60; a++) {
      for (let i = 0; i < 5; i++) {
        attempts.push(exchange(hub.mqttPort, connectPacket(cam.id, `wrong-${a}-${i}-xxxxxxxxxxxxxxxx`), (ps) => ps.some((p) => p.cmd === 'connack'), 60_000, `127.0.4.${a + 1}`));
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // the flood is queued before the camera comes
    // It waits its turn behind at most one check per flooding source (a bound, not a speed claim).
    const c = await mqttConnect(cam.id, cam.password, { connectTimeout: 90_000 });
    expect(c.connected).toBe(true);
    await c.endAsync();
    const outs = (await Promise.all(attempts)) as Awaited<ReturnType<typeof exchange>>[];
    const refused = outs.filter((o) => !o.packets.some((p) => p.cmd === 'connack' && (p as mqttPacket.IConnackPacket).returnCode === 0)).length;
    expect(refused).toBe(300);
    tally.tried += 301;
    tally.refused += refused;
    tally.accepted += 1;
  }, 120_000);
});

describe('password-check queue when full', () => {
  it('gives a newcomer a place taken from the source with the longest line', async () => {
    const q = new VerifyQueue({ concurrency: 1, maxWaiting: 4, recentMs: 60_000 });
    const never = () => new Promise<boolean>(() => {});
    const flood = Array.from({ length: 5 }, () => q.submit('cam-x', 'A', never).catch((e: unknown) => e));
    // A0 runs, A1..A4 wait: the queue is full.
    const camera = q.submit('cam-y', 'B', never).catch((e: unknown) => e);
    expect(await flood[4]).toBeInstanceOf(VerifyBusyError); // A's newest gave its place up
    expect(q.size).toBe(5);
    void camera;
  });
});
