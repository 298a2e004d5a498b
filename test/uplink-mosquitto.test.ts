/**
 * The uplink end to end with real parts: the hub (embedded broker, real cameras over MQTT, SQLite
 * vault) sends to a real Mosquitto broker, watched by a real mqtt.js subscriber as the collector.
 * A counting TCP relay between hub and Mosquitto shows what goes over the wire while paused.
 */
import { readFileSync } from 'node:fs';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { Ajv } from 'ajv';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { ConsentStore } from '../src/consent/consent.js';
import { generateDevicePassword, hashPassword } from '../src/crypto/password.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { createLogger } from '../src/log/logger.js';
import { CATEGORIES } from '../src/metrics/categories.js';
import { PrivacyLedger } from '../src/uplink/ledger.js';
import { Outbox } from '../src/uplink/outbox.js';
import { SwitchablePrivacyGate } from '../src/uplink/privacy-gate.js';
import { verifyReport, type Report } from '../src/uplink/report.js';
import { REPORT_V2_SCHEMA_URL } from '../src/uplink/report-v2.js';
import { UplinkService } from '../src/uplink/service.js';
import { addCameraWithPassword, nextWholeSecond, tempDir } from './helpers/hub.js';
import { newDeviceId } from '../src/devices/registry.js';
import { Mosquitto, subscriber, waitFor, type Received } from './uplink-helpers.js';

/** Forwards TCP to Mosquitto and counts every byte the hub sends. */
class CountingRelay {
  bytesFromHub = 0;
  readonly open = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  async start(targetPort: number): Promise<void> {
    this.server = createServer((hubSide) => {
      this.open.add(hubSide);
      const upstream = tcpConnect(targetPort, '127.0.0.1');
      hubSide.on('data', (d: Buffer) => (this.bytesFromHub += d.length));
      hubSide.pipe(upstream).pipe(hubSide);
      const close = () => {
        this.open.delete(hubSide);
        hubSide.destroy();
        upstream.destroy();
      };
      hubSide.on('close', close).on('error', close);
      upstream.on('close', close).on('error', close);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

describe('uplink to a real Mosquitto broker', () => {
  const dir = tempDir('hearth-uplink-e2e-');
  const brokerDir = tempDir('hearth-mosquitto-');
  const relay = new CountingRelay();
  const gate = new SwitchablePrivacyGate();
  const sends: { start: string[]; end: [string, boolean][] } = { start: [], end: [] };
  const devices: MqttClient[] = [];
  let mosquitto: Mosquitto;
  let hub: RunningHub;
  let uplink: UplinkService;
  let collector: { client: MqttClient; received: Received[] };
  const validate = new Ajv({ strict: true }).compile(JSON.parse(readFileSync(REPORT_V2_SCHEMA_URL, 'utf8')));

  const CANARIES = {
    nickname: 'Canary Nursery Cam',
    scaleNickname: 'Canary Bathroom Scale',
    ssid: 'CanaryNet-7f3a9',
    ip: '10.77.13.42',
    weight: '83.70',
    mac: 'C4:7C:8D:6A:11:22',
    detail: 'canary-detail-5b1e',
  };
  let cameraId = '';
  let scaleId = '';

  const parsed = (r: Received) => JSON.parse(r.payload.toString('utf8')) as Report;
  const receivedIds = () => collector.received.map((r) => parsed(r).id);

  beforeAll(async () => {
    mosquitto = await Mosquitto.start(brokerDir.path);
    await relay.start(mosquitto.port);
    collector = await subscriber(mosquitto.url, 'collector-test');
    const config = loadConfig({
      flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' },
      // 20 questions of ε 1 a day: every category has answers in the first windows.
      env: { HEARTH_UPLINK_URL: `mqtt://127.0.0.1:${relay.port}`, HEARTH_UPLINK_DAILY_EPSILON: '20', HEARTH_UPLINK_QUESTIONS_PER_DAY: '20' },
    });
    hub = await startHub(config, {
      env: {},
      logger: createLogger({ level: 'error', sink: () => {} }),
      services: [
        (ctx) =>
          (uplink = new UplinkService({
            db: ctx.services.vault.db,
            sealer: ctx.services.vault.sealer,
            sodium: ctx.services.vault.sodium,
            config: ctx.config,
            logger: ctx.logger,
            gate,
            hooks: [{ onSendStart: (id) => sends.start.push(id), onSendEnd: (id, ok) => sends.end.push([id, ok]) }],
            backoff: { initialMs: 100, maxMs: 800 },
            checkIntervalMs: 200,
          })),
      ],
    });
    const consent = new ConsentStore(hub.internals.vault.db);
    for (const c of CATEGORIES) consent.set(c, true, Date.now() - 1000);

    // A camera connects to the hub and reports its network and an event with free text.
    const password = generateDevicePassword();
    cameraId = addCameraWithPassword(hub, CANARIES.nickname, password).id;
    const cam = mqtt.connect(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cameraId, password, reconnectPeriod: 0 });
    devices.push(cam);
    await new Promise<void>((resolve, reject) => cam.once('connect', () => resolve()).once('error', reject));
    await cam.publishAsync(`hearth/cam/${cameraId}/status`, JSON.stringify({ state: 'online', ssid: CANARIES.ssid, ip: CANARIES.ip, model: 'Canary-X1' }), { qos: 1 });
    await cam.publishAsync(`hearth/cam/${cameraId}/event`, JSON.stringify({ type: 'activation', ts: Date.now(), detail: CANARIES.detail }), { qos: 1 });
    await cam.publishAsync(`hearth/cam/${cameraId}/event`, JSON.stringify({ type: 'connect_failed', ts: Date.now(), detail: `wifi ${CANARIES.ssid}` }), { qos: 1 });

    // A scale weigh-in as the scale reader stores it: the weight and address sealed, the type in clear.
    const { db, sealer } = hub.internals.vault;
    scaleId = hub.internals.registry.add('scale', newDeviceId('scale'), CANARIES.scaleNickname).id;
    const res = db.prepare("INSERT INTO events (device_id, type, ts, received_at) VALUES (?, 'weigh_in', ?, ?)").run(scaleId, Date.now(), Date.now());
    db.prepare('UPDATE events SET detail = ? WHERE id = ?').run(
      sealer.sealJson('bodyMetrics', `event:${res.lastInsertRowid}:detail`, { weightKg: CANARIES.weight, address: CANARIES.mac }),
      res.lastInsertRowid,
    );
    await waitFor(() => (db.prepare("SELECT COUNT(*) FROM events WHERE type IN ('activation', 'connect_failed', 'online')").pluck().get() as number) === 3, 10_000, 'camera events stored');
  });

  afterAll(async () => {
    for (const d of devices) d.end(true);
    await hub?.stop();
    collector?.client.end(true);
    await relay.stop();
    await mosquitto?.stop();
    dir.cleanup();
    brokerDir.cleanup();
  });

  it('delivers signed, schema-valid reports that carry no canary, no device id and no address', async () => {
    await waitFor(() => uplink.client!.isConnected, 10_000, 'uplink connected');
    await nextWholeSecond(); // windows close on whole seconds
    const closed = uplink.closeNow()!;
    expect(closed.outcomes.map((o) => o.status)).toEqual(['queued', 'queued', 'queued']);
    await waitFor(() => collector.received.length === 3, 10_000, 'three reports');

    const pubkey = uplink.reporter.keys.publicKey;
    for (const msg of collector.received) {
      const report = parsed(msg);
      expect(msg.topic).toBe(`hearth/v1/reports/${uplink.reporter.pseudonym}`);
      expect(validate(report)).toBe(true);
      expect(verifyReport(hub.internals.vault.sodium, report, pubkey)).toBe(true);
      const text = msg.payload.toString('latin1');
      for (const canary of [...Object.values(CANARIES), cameraId, scaleId, 'Canary', '83.7', '10.77', 'c47c8d6a1122']) {
        expect(text.toLowerCase()).not.toContain(canary.toLowerCase());
      }
    }
    expect(new Set(receivedIds()).size).toBe(3);

    // The ledger holds exactly the bytes that arrived, recorded at sending time.
    const ledger = new PrivacyLedger(hub.internals.vault.db).list();
    expect(ledger.map((e) => e.payload.toString('base64')).sort()).toEqual(collector.received.map((r) => r.payload.toString('base64')).sort());
    expect(new Outbox(hub.internals.vault.db).size()).toBe(0);
    // The send indicator saw every report start and end successfully.
    await waitFor(() => sends.end.length === 3, 2000, 'send hooks');
    expect(sends.start.sort()).toEqual(receivedIds().sort());
    expect(sends.end.every(([, ok]) => ok)).toBe(true);
  });

  it('sends nothing of a category while its consent is off', async () => {
    collector.received.length = 0;
    new ConsentStore(hub.internals.vault.db).set('device-health', false, Date.now());
    await nextWholeSecond();
    const closed = uplink.closeNow()!;
    expect(closed.outcomes.find((o) => o.category === 'device-health')!.status).toBe('consent-off');
    await waitFor(() => collector.received.length === 2, 10_000, 'two reports');
    await new Promise((r) => setTimeout(r, 300));
    expect(collector.received.map((r) => parsed(r).category).sort()).toEqual(['adoption', 'scale-usage']);
  });

  it('while the privacy switch is paused, no byte goes upstream and reports queue; they go out on resume', async () => {
    collector.received.length = 0;
    gate.setPaused(true);
    await waitFor(() => relay.open.size === 0, 5000, 'uplink connection closed');
    const before = relay.bytesFromHub;
    await nextWholeSecond();
    const first = uplink.closeNow()!.outcomes;
    await nextWholeSecond();
    const held = [...first, ...uplink.closeNow()!.outcomes].filter((o) => o.status === 'queued');
    expect(held.length).toBeGreaterThanOrEqual(2); // memoized answers go out even once the day's budget is spent
    await new Promise((r) => setTimeout(r, 800)); // several scheduler ticks and backoff periods
    expect(relay.bytesFromHub).toBe(before);
    expect(relay.open.size).toBe(0);
    expect(collector.received).toHaveLength(0);
    expect(new Outbox(hub.internals.vault.db).size()).toBe(held.length);
    gate.setPaused(false);
    await waitFor(() => collector.received.length === held.length, 10_000, 'queued reports after resume');
    expect(new Outbox(hub.internals.vault.db).size()).toBe(0);
  });

  it('sends nothing from the outbox that this hub did not make: forged, unsigned or off-schema entries are dropped', async () => {
    collector.received.length = 0;
    const { db, sodium } = hub.internals.vault;
    const topic = `hearth/v1/reports/${uplink.reporter.pseudonym}`;
    const insert = db.prepare('INSERT INTO report_outbox (id, category, topic, payload, created_at) VALUES (?, ?, ?, ?, ?)');
    // Genuine in shape but signed by another key.
    const stranger = sodium.crypto_sign_keypair();
    const forged = { v: 1, id: 'c0ffee00-0000-4000-8000-000000000001', hub: uplink.reporter.pseudonym, key: Buffer.from(stranger.publicKey).toString('base64'), category: 'adoption', window: { start: 1, end: 2 }, metrics: { activations: 0, cameras: 1, scales: 0 }, privacy: { mechanism: 'discrete-laplace', epsilon: 0.5, bounds: { activations: 5, cameras: 16, scales: 4 } } };
    const { canonicalBytes } = await import('../src/uplink/canonical.js');
    const signed = { ...forged, signature: Buffer.from(sodium.crypto_sign_detached(canonicalBytes(forged), stranger.privateKey)).toString('base64') };
    insert.run(forged.id, 'adoption', topic, canonicalBytes(signed), Date.now());
    // Off-schema, carrying a canary.
    insert.run('c0ffee00-0000-4000-8000-000000000002', 'adoption', topic, Buffer.from(JSON.stringify({ ...signed, id: 'c0ffee00-0000-4000-8000-000000000002', ssid: CANARIES.ssid })), Date.now());
    await nextWholeSecond();
    const genuine = uplink.closeNow()!.outcomes.filter((o) => o.status === 'queued').map((o) => (o as { reportId: string }).reportId);
    await waitFor(() => collector.received.length === genuine.length && new Outbox(db).size() === 0, 10_000, 'genuine reports only');
    await new Promise((r) => setTimeout(r, 300));
    expect(receivedIds().sort()).toEqual(genuine.sort());
    const ledgerText = new PrivacyLedger(db).list().map((e) => e.payload.toString('utf8')).join('\n');
    expect(ledgerText).not.toContain('c0ffee00');
    expect(ledgerText).not.toContain(CANARIES.ssid);
  });

  it('keeps reports while Mosquitto is down and delivers each exactly once after it returns', async () => {
    collector.received.length = 0;
    const ledgerBefore = new PrivacyLedger(hub.internals.vault.db).size();
    await mosquitto.stop();
    await waitFor(() => !uplink.client!.isConnected, 5000, 'uplink noticed the broker is gone');
    const queuedIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      await nextWholeSecond(); // reconnect attempts fail meanwhile
      for (const o of uplink.closeNow()!.outcomes) if (o.status === 'queued') queuedIds.push(o.reportId);
    }
    expect(queuedIds.length).toBeGreaterThanOrEqual(3);
    expect(new Outbox(hub.internals.vault.db).size()).toBe(queuedIds.length);
    expect(new PrivacyLedger(hub.internals.vault.db).size()).toBe(ledgerBefore); // nothing sent, nothing recorded

    await mosquitto.resume();
    await waitFor(() => collector.received.length >= queuedIds.length, 20_000, 'all reports after the broker returned');
    await new Promise((r) => setTimeout(r, 1000)); // room for any duplicate to show up
    expect(receivedIds().sort()).toEqual([...queuedIds].sort());
    expect(new Outbox(hub.internals.vault.db).size()).toBe(0);
    expect(new PrivacyLedger(hub.internals.vault.db).size()).toBe(ledgerBefore + queuedIds.length);
  });
});
