/**
 * Presence by timer for firmware that connects once per message (Dafang, wz_mini): online while
 * its periodic messages arrive, offline after PRESENCE_GRACE report intervals of silence, on a
 * clock the test controls. Real SQLite vault, the camera runtime as the daemon builds it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DomainBus } from '../src/bus/bus.js';
import { CameraService } from '../src/devices/camera/service.js';
import { createLogger } from '../src/log/logger.js';
import { Counters } from '../src/store/counters.js';
import { StorageHealth } from '../src/store/health.js';
import { openVault } from '../src/store/vault.js';
import { adoptionMetrics, deviceHealthMetrics } from '../src/metrics/aggregate.js';
import { MetricsSource } from '../src/metrics/source.js';
import { deviceService } from './helpers/enrol.js';
import { tempDir } from './helpers/hub.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig() {
  const dir = tempDir();
  const vault = await openVault(dir.path, {}, { create: true });
  cleanups.push(() => {
    vault.close();
    dir.cleanup();
  });
  const bus = new DomainBus();
  const logger = createLogger({ level: 'error', sink: () => {} });
  let clock = Date.UTC(2026, 0, 1, 12);
  const service = new CameraService({ db: vault.db, sealer: vault.sealer, bus, logger, counters: new Counters(vault.db), storage: new StorageHealth(bus, logger), batchMaxMessages: 1, batchMaxDelayMs: 0, now: () => clock });
  cleanups.push(() => service.unload());
  const devices = deviceService(vault, bus);
  const enrol = async (profile: string, topic: string) => (await devices.enrol('camera', { nickname: `${profile} cam`, profile, topic })).device.id;
  const publish = (id: string, topic: string, payload: string) =>
    new Promise<void>((resolve, reject) => {
      const verdict = service.mqtt.interpretPublish!(id, topic, Buffer.from(payload), clock);
      if (!verdict?.ok) return reject(new Error(verdict ? verdict.reason : 'not profiled'));
      let waiting = verdict.records.length;
      if (waiting === 0) return resolve();
      for (const r of verdict.records) service.mqtt.ingest(r, (err) => (err ? reject(err) : --waiting === 0 && resolve()));
    });
  const view = (id: string) => service.store.view(id);
  return { service, enrol, publish, view, vault, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('presence by timer', () => {
  it('keeps a Dafang online while its status arrives and marks it offline after three silent intervals', async () => {
    const r = await rig();
    const id = await r.enrol('dafang', 'myhome/dafang');
    expect(r.service.mqtt.tracksConnection!(id)).toBe(false);
    await r.publish(id, 'myhome/dafang', '{"ssid":"Home","signal_level":"88%"}');
    expect(r.view(id).online).toBe(true);
    r.advance(60_000);
    await r.publish(id, 'myhome/dafang', '{"ssid":"Home","signal_level":"87%"}');
    r.advance(179_000);
    expect(r.service.checkPresence(r.now())).toBe(0);
    expect(r.view(id).online).toBe(true);
    r.advance(2_000);
    expect(r.service.checkPresence(r.now())).toBe(1);
    await new Promise((res) => setTimeout(res, 20)); // the presence record's commit
    expect(r.view(id).online).toBe(false);
    expect(r.service.checkPresence(r.now() + 600_000)).toBe(0); // marked once
    await r.publish(id, 'myhome/dafang/motion', 'ON');
    expect(r.view(id)).toMatchObject({ online: true, eventCounts: { online: 2, offline: 1, motion: 1 } });
  });

  it('leaves connection-tracked profiles to the broker', async () => {
    const r = await rig();
    const id = await r.enrol('frigate', 'frigate');
    expect(r.service.mqtt.tracksConnection!(id)).toBe(true);
    await r.publish(id, 'frigate/available', 'online');
    r.advance(3_600_000);
    expect(r.service.checkPresence(r.now())).toBe(0);
    expect(r.view(id).online).toBe(true);
  });
});

describe('aggregates over profiled cameras', () => {
  it('count a Dafang, a Frigate NVR and each camera it reports, from the same records as hearth cameras', async () => {
    const r = await rig();
    const start = r.now() - 1;
    await r.enrol('dafang', 'myhome/dafang');
    const nvr = await r.enrol('frigate', 'frigate');
    await r.publish(nvr, 'frigate/available', 'online');
    await r.publish(nvr, 'frigate/front_door/motion', 'ON');
    await r.publish(nvr, 'frigate/garden/motion', 'ON');
    r.advance(60_000);
    const input = new MetricsSource(r.vault.db).input({ start, end: r.now() + 1 });
    // The created_at of devices is wall-clock time; the window here is the test clock's.
    for (const d of input.devices) d.createdAt = start;
    expect(adoptionMetrics(input).cameras).toBe(4);
    // NVR and both of its cameras online the whole window, the Dafang never heard: 3 of 4.
    expect(deviceHealthMetrics(input).online_percent).toBe(75);
  });

  it('count as connection attempts only a camera’s own connections, not an NVR’s cameras or presence by timer', async () => {
    const r = await rig();
    const start = r.now() - 1;
    const dafang = await r.enrol('dafang', 'myhome/dafang');
    const nvr = await r.enrol('frigate', 'frigate');
    // The NVR connects (its presence is its connection's, as the broker reports it) and names two cameras.
    await new Promise<void>((res, rej) => r.service.mqtt.ingest({ kind: 'presence', deviceId: nvr, online: true, at: r.now() }, (err) => (err ? rej(err) : res())));
    await r.publish(nvr, 'frigate/front_door/motion', 'ON');
    await r.publish(nvr, 'frigate/garden/motion', 'ON');
    // The Dafang is heard, falls silent past its grace, and is heard again: two timed "online"s.
    await r.publish(dafang, 'myhome/dafang', '{"ssid":"Home","signal_level":"88%"}');
    r.advance(200_000);
    expect(r.service.checkPresence(r.now())).toBe(1);
    await new Promise((res) => setTimeout(res, 20));
    await r.publish(dafang, 'myhome/dafang', '{"ssid":"Home","signal_level":"88%"}');
    const input = new MetricsSource(r.vault.db).input({ start, end: r.now() + 1 });
    expect(input.events.filter((e) => e.type === 'online')).toHaveLength(5);
    // One real connection: the NVR's.
    expect(deviceHealthMetrics(input).connect_attempts).toBe(1);
    expect(input.devices.map((d) => d.connects).sort()).toEqual([false, false, false, true]);
  });
});
