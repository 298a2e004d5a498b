/**
 * Home Assistant on a real hub: `hearth integration add home-assistant` (the CLI beside the running
 * hub), a real mqtt.js client logging in as Home Assistant does and subscribing to
 * `homeassistant/#`, a real camera client. Follows discovery, availability and state through a
 * camera connecting, reporting, a motion start and end, dropping; the account's rules; the
 * `homeassistant/status` birth message; a removed device; the integration removed and added again
 * with names hidden; and the hub's stop seen by a second client as the bridge going offline.
 * Canary: no SSID, IP address, weight or member name in any message on the broker by default; a
 * member's weight sensor only once sharing is turned on for them, gone again when turned off or
 * when the member is forgotten.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { HUB_SERVICES } from '../src/hub/services.js';
import { createLogger } from '../src/log/logger.js';
import { HomeAssistantSettings } from '../src/integrations/home-assistant/settings.js';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import { cli, publishAcked, tempDir } from './helpers/hub.js';
import { discoveryProblems } from './helpers/ha-discovery.js';

const SSID = 'CanaryNet-5f1e';
const IP = '10.77.66.55';
const MEMBER = 'Canarymember';
/** A weight no other number in these messages has, so a leak would show. */
const WEIGHT = 73.37;

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

class HaClient {
  readonly seen: Seen[] = [];
  readonly retained = new Map<string, string>();
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const text = payload.toString('utf8');
      this.seen.push({ topic, payload: text, retain: packet.retain });
      if (text === '') this.retained.delete(topic);
      else this.retained.set(topic, text);
    });
  }
  configs(): Map<string, Record<string, unknown>> {
    const out = new Map<string, Record<string, unknown>>();
    for (const [t, p] of this.retained) if (t.endsWith('/config')) out.set(t, JSON.parse(p) as Record<string, unknown>);
    return out;
  }
  last(topic: string): string | undefined {
    return this.retained.get(topic);
  }
}

function connect(port: number, username: string, password: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, username, password, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    c.once('connect', () => resolve(c));
    c.once('error', (err) => {
      c.end(true);
      reject(err);
    });
  });
}

function subscribe(c: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => c.subscribe(filter, { qos: 1 }, (err, granted) => (err ? reject(err) : resolve(granted![0]!.qos))));
}

describe('Home Assistant over MQTT discovery, on a real hub', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let port: number;
  let ha: HaClient;
  let haPassword: string;
  let hubId: string;
  let cam: { id: string; password: string };
  let memberId: string;
  let scaleId: string;
  const clients: MqttClient[] = [];
  /** Everything any client of this test saw, for the canary. */
  const everything: Seen[] = [];

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: createLogger({ level: 'error', sink: () => {} }), services: HUB_SERVICES });
    port = hub.mqttPort;
    const enrolled = await hub.ctx.services.devices.enrol('camera', { nickname: 'Front door' });
    cam = { id: enrolled.device.id, password: String(enrolled.shownOnce.password) };
    memberId = hub.ctx.services.members.add(MEMBER).id;
    scaleId = (await hub.ctx.services.devices.enrol('scale', { address: 'C8:47:8C:00:00:51', nickname: 'Bathroom' })).device.id;
  }, 30_000);

  /** A weigh-in as the scale's ingest stores it (unassigned), then given to the member as the web UI does. */
  function weighIn(weightKg: number, measuredAt = Date.now()): void {
    const stored = new ScaleStore(hub.ctx.services.vault.db, hub.ctx.services.vault.sealer).record({ deviceId: scaleId, measuredAt, measurement: { ...emptyMeasurement('mi-scale-2', 'kg'), weightKg, weightReported: weightKg } }, { memberId: null, reason: 'no-members' });
    expect(hub.ctx.services.members.assignWeighIn(stored.id, memberId)).toBe('ok');
  }

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await hub?.stop();
    dir.cleanup();
  });

  async function haConnect(password = haPassword): Promise<HaClient> {
    const c = await connect(port, 'homeassistant', password);
    clients.push(c);
    const h = new HaClient(c);
    c.on('message', (topic, payload, packet) => everything.push({ topic, payload: payload.toString('utf8'), retain: packet.retain }));
    expect(await subscribe(c, 'homeassistant/#')).toBe(1);
    expect(await subscribe(c, 'hearth/ha/#')).toBe(1);
    return h;
  }

  it('is off until added: the homeassistant account cannot log in', async () => {
    await expect(connect(port, 'homeassistant', 'anything-at-all')).rejects.toThrow();
  });

  it('`integration add home-assistant --json` shows the credential once; Home Assistant logs in and gets every config', async () => {
    const res = cli(['integration', 'add', 'home-assistant', '--json', '--data-dir', dir.path]);
    expect(res.code, res.stderr).toBe(0);
    const shown = JSON.parse(res.stdout) as { username: string; password: string };
    expect(shown.username).toBe('homeassistant');
    haPassword = shown.password;
    hubId = new HomeAssistantSettings(hub.ctx.services.vault.db).hubId()!;
    expect(hubId).toMatch(/^[0-9a-f]{8}$/);
    // The running hub follows the CLI's write (its database watcher) and publishes, retained.
    ha = await haConnect();
    await expect.poll(() => ha.configs().size, { timeout: 10_000 }).toBe(2 + 4);
    const configs = ha.configs();
    const uniqueIds = [...configs.values()].map((c) => c.unique_id);
    expect(new Set(uniqueIds).size).toBe(uniqueIds.length);
    for (const [topic, config] of configs) {
      expect(discoveryProblems(topic, config), topic).toEqual([]);
      expect(config.availability_mode).toBe('all');
      expect((config.availability as { topic: string }[])[0]!.topic).toBe(`hearth/ha/${hubId}/hearth_${hubId}/availability`);
    }
    const motion = configs.get(`homeassistant/binary_sensor/${cam.id}/motion/config`)!;
    expect(motion.device).toMatchObject({ name: 'Front door', via_device: `hearth_${hubId}`, identifiers: [`hearth_${hubId}_${cam.id}`] });
    expect(ha.last(`hearth/ha/${hubId}/hearth_${hubId}/availability`)).toBe('online');
    expect(JSON.parse(ha.last(`hearth/ha/${hubId}/hearth_${hubId}/state`)!)).toEqual({ upstream: 'off', reports_sent_today: 0 });
    expect(JSON.parse(ha.last(`hearth/ha/${hubId}/${cam.id}/state`)!)).toMatchObject({ connected: 'OFF', motion: 'OFF' });
    // Everything is kept retained: a Home Assistant that connects later gets it all at once, each
    // message marked retained (the first client may have seen them live, depending on timing).
    const late = await haConnect();
    await expect.poll(() => late.configs().size, { timeout: 10_000 }).toBe(2 + 4);
    expect(late.seen.every((m) => m.retain || m.payload === '')).toBe(true);
  });

  it('follows a camera connecting, reporting, a motion start and end, and dropping', async () => {
    const state = () => JSON.parse(ha.last(`hearth/ha/${hubId}/${cam.id}/state`) ?? '{}') as Record<string, unknown>;
    const availability = () => ha.last(`hearth/ha/${hubId}/${cam.id}/availability`);
    const camera = await connect(port, cam.id, cam.password);
    clients.push(camera);
    await expect.poll(() => state().connected, { timeout: 10_000 }).toBe('ON');
    expect(availability()).toBe('online');
    await publishAcked(camera, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: SSID, ip: IP, rssi: -61 }));
    await expect.poll(() => state().rssi, { timeout: 10_000 }).toBe(-61);
    expect(typeof state().last_seen).toBe('string');
    await publishAcked(camera, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now() }));
    await expect.poll(() => state().motion, { timeout: 10_000 }).toBe('ON');
    await publishAcked(camera, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion_end', ts: Date.now() }));
    await expect.poll(() => state().motion, { timeout: 10_000 }).toBe('OFF');
    camera.end(true);
    await expect.poll(() => state().connected, { timeout: 10_000 }).toBe('OFF');
    expect(availability()).toBe('offline');
  });

  it("keeps Home Assistant's account to its topics: no camera topics, publishes only to homeassistant/status", async () => {
    // A refused filter gets SUBACK 0x80 (mqtt.js reports it as a subscribe error); the connection stays.
    await expect(subscribe(ha.client, `hearth/cam/${cam.id}/status`)).rejects.toThrow(/Subscribe error/);
    await expect(subscribe(ha.client, '#')).rejects.toThrow(/Subscribe error/);
    expect(ha.client.connected).toBe(true);
    const other = await connect(port, 'homeassistant', haPassword);
    clients.push(other);
    const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));
    other.publish(`homeassistant/sensor/x/y/config`, '{"state_topic":"a"}', { qos: 1 });
    await closed;
    await expect(connect(port, 'homeassistant', 'wrong-password-xyz')).rejects.toThrow();
  });

  it('re-sends every config when Home Assistant says online on homeassistant/status', async () => {
    const before = ha.seen.filter((m) => m.topic.endsWith('/config')).length;
    await publishAcked(ha.client, 'homeassistant/status', 'online');
    await expect.poll(() => ha.seen.filter((m) => m.topic.endsWith('/config')).length - before, { timeout: 10_000 }).toBe(6);
  });

  it('clears a removed device with empty retained configs', async () => {
    const extra = await hub.ctx.services.devices.enrol('camera', { nickname: 'Shed' });
    const id = extra.device.id;
    await expect.poll(() => [...ha.configs().keys()].filter((t) => t.includes(id)).length, { timeout: 10_000 }).toBe(4);
    hub.ctx.services.devices.forget(id);
    await expect.poll(() => [...ha.configs().keys()].filter((t) => t.includes(id)).length, { timeout: 10_000 }).toBe(0);
    const cleared = ha.seen.filter((m) => m.topic.includes(id) && m.topic.endsWith('/config') && m.payload === '');
    expect(cleared.length).toBe(4);
    // A client subscribing afresh gets no retained config for it either.
    const fresh = await haConnect();
    await expect.poll(() => fresh.configs().size, { timeout: 10_000 }).toBe(6);
    expect([...fresh.configs().keys()].some((t) => t.includes(id))).toBe(false);
  });

  it('`integration remove` clears every config and closes the account; adding it again with names hidden works with the new password only', async () => {
    const closed = new Promise<void>((resolve) => ha.client.once('close', () => resolve()));
    const res = cli(['integration', 'remove', 'home-assistant', '--data-dir', dir.path]);
    expect(res.code, res.stderr).toBe(0);
    await closed;
    expect(ha.configs().size).toBe(0);
    const old = haPassword;
    const again = cli(['integration', 'add', 'home-assistant', '--json', '--hide-names', '--data-dir', dir.path]);
    expect(again.code, again.stderr).toBe(0);
    haPassword = (JSON.parse(again.stdout) as { password: string }).password;
    await expect(connect(port, 'homeassistant', old)).rejects.toThrow();
    await expect.poll(() => new HomeAssistantSettings(hub.ctx.services.vault.db).shareNames()).toBe(false);
    ha = await haConnect();
    await expect.poll(() => ha.configs().size, { timeout: 10_000 }).toBe(6);
    await expect.poll(() => [...ha.configs().values()].map((c) => (c.device as { name: string }).name).filter((n) => n === `Camera ${cam.id}`).length, { timeout: 10_000 }).toBe(4);
    expect(JSON.stringify([...ha.retained.values()])).not.toContain('Front door');
  });

  it('canary: no SSID, IP address, weight or member name in any message', async () => {
    // A member's weigh-in, with sharing off (the default): nothing about it reaches the broker.
    weighIn(WEIGHT);
    await publishAcked(ha.client, 'homeassistant/status', 'online');
    await expect.poll(() => ha.seen.filter((m) => m.topic.endsWith('/config')).length, { timeout: 10_000 }).toBeGreaterThan(6);
    expect(everything.length).toBeGreaterThan(20);
    const all = JSON.stringify(everything);
    for (const canary of [SSID, IP, MEMBER, String(WEIGHT), memberId]) expect(all).not.toContain(canary);
  });

  it("shares a member's weight only once turned on for them; off, or forgetting them, takes it out of the broker", async () => {
    const config = `homeassistant/sensor/${memberId}/weight/config`;
    const state = `hearth/ha/${hubId}/${memberId}/state`;
    const res = cli(['integration', 'share-weight', memberId, 'on', '--data-dir', dir.path]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/unencrypted/);
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(true);
    const sensor = ha.configs().get(config)!;
    expect(discoveryProblems(config, sensor)).toEqual([]);
    // Names are hidden at this point (added again with --hide-names): the member is named by id.
    expect(sensor).toMatchObject({ device_class: 'weight', unit_of_measurement: 'kg', state_topic: state, device: { name: `Member ${memberId}`, via_device: `hearth_${hubId}` } });
    await expect.poll(() => ha.last(state), { timeout: 10_000 }).toBeDefined();
    expect(JSON.parse(ha.last(state)!)).toMatchObject({ weight: WEIGHT });
    // A new weigh-in given to them: the sensor follows.
    weighIn(74.1, Date.now() + 1000);
    await expect.poll(() => (JSON.parse(ha.last(state) ?? '{}') as { weight?: number }).weight, { timeout: 10_000 }).toBe(74.1);
    expect(JSON.stringify(ha.seen)).not.toContain(MEMBER);
    // Off: the config and the retained weight are emptied; a client subscribing afresh gets neither.
    expect(cli(['integration', 'share-weight', memberId, 'off', '--data-dir', dir.path]).code).toBe(0);
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(false);
    expect(ha.last(state)).toBeUndefined();
    const fresh = await haConnect();
    await expect.poll(() => fresh.configs().size, { timeout: 10_000 }).toBe(6);
    expect([...fresh.retained.keys()].some((t) => t.includes(memberId))).toBe(false);
    // On again, then the member is forgotten: the same.
    expect(cli(['integration', 'share-weight', memberId, 'on', '--data-dir', dir.path]).code).toBe(0);
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(true);
    expect(hub.ctx.services.members.forget(memberId)).toBe(true);
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(false);
    expect(ha.last(state)).toBeUndefined();
    expect(new HomeAssistantSettings(hub.ctx.services.vault.db).weightSharedMembers()).toEqual([]);
    // Unknown members and bad states are refused by the CLI.
    expect(cli(['integration', 'share-weight', memberId, 'on', '--data-dir', dir.path]).code).toBe(1);
    expect(cli(['integration', 'share-weight', 'mem-000000000000', 'maybe', '--data-dir', dir.path]).code).not.toBe(0);
  });

  it("gives a scale a battery sensor once the scale reported its level, following it; removing the scale clears it", async () => {
    const config = `homeassistant/sensor/${scaleId}/battery/config`;
    const state = `hearth/ha/${hubId}/${scaleId}/state`;
    expect(ha.configs().has(config)).toBe(false);
    // What the scale service does when the BLE reader read the level (test/scale-ble-daemon.test.ts reads it over GATT).
    const scales = new ScaleStore(hub.ctx.services.vault.db, hub.ctx.services.vault.sealer);
    scales.recordBattery(scaleId, 64, Date.now());
    hub.ctx.bus.emit('device.status', { deviceId: scaleId });
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(true);
    expect(discoveryProblems(config, ha.configs().get(config)!)).toEqual([]);
    await expect.poll(() => ha.last(state), { timeout: 10_000 }).toBe(JSON.stringify({ battery: 64 }));
    scales.recordBattery(scaleId, 63, Date.now());
    hub.ctx.bus.emit('device.status', { deviceId: scaleId });
    await expect.poll(() => ha.last(state), { timeout: 10_000 }).toBe(JSON.stringify({ battery: 63 }));
    await hub.ctx.services.devices.forget(scaleId);
    await expect.poll(() => ha.configs().has(config), { timeout: 10_000 }).toBe(false);
    expect(ha.last(state)).toBeUndefined();
  });

  it("the hub's stop marks the bridge offline for a client still connected (its last will)", async () => {
    const second = await haConnect();
    const topic = `hearth/ha/${hubId}/hearth_${hubId}/availability`;
    await expect.poll(() => second.last(topic), { timeout: 10_000 }).toBe('online');
    await hub.stop();
    await expect.poll(() => second.seen.filter((m) => m.topic === topic).at(-1)?.payload, { timeout: 10_000 }).toBe('offline');
  });
});
