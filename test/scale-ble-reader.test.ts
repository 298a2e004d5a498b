/**
 * The BLE scale reader running the real node-ble (and dbus-next) over a real dbus-daemon (a
 * private bus for each test file) against the BlueZ stand-in: Xiaomi adverts, GATT indications
 * (0x2A9D, split 0x2A9C), unenrolled devices, and the failures a hub meets for years: no bus, no
 * BlueZ, BlueZ restarting, the adapter unplugged, with resources checked across many recoveries.
 */
import { enrolScale } from './helpers/enrol.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { openVault, type Vault } from '../src/store/vault.js';
import { Counters } from '../src/store/counters.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import { ScaleIngest } from '../src/devices/scale/ingest.js';
import { ScaleReader, type ScaleReaderOptions } from '../src/devices/scale/ble/reader.js';
import { MemberStore } from '../src/members/store.js';
import { decodeCapture } from '../src/devices/scale/decoders/index.js';
import { eventually, privateBusAddress, startPrivateBus, startStandin, type BluezStandin, type PrivateBus } from './helpers/bluez.js';
import { tempDir } from './helpers/hub.js';
import { prng, recordTally } from './helpers/robustness.js';

const MI_SCALE = 'C8:47:8C:00:00:01';
const MI_BODY = 'C8:47:8C:00:00:02';
const GATT_WEIGHT = 'D0:00:00:00:2A:9D';
const GATT_BODY = 'D0:00:00:00:2A:9C';
const STRANGER = 'C8:47:8C:FF:FF:FF';

// Mi Scale 2 frames (61.75 kg at 2022-02-14 16:41:58): measuring, stabilized, stepped off.
const MI_MEASURING = '023e30e607020e10293a';
const MI_STABLE = '223e30e607020e10293a';
const MI_REMOVED = 'a23e30e607020e10293a';

let bus: PrivateBus;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  bus = await startPrivateBus();
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
});
afterAll(async () => {
  await bus?.stop();
});

interface Rig {
  vault: Vault;
  scales: ScaleStore;
  members: MemberStore;
  counters: Counters;
  reader: ScaleReader;
  lines: string[];
  /** Every state the reader announced (onState), in order. */
  states: string[];
  /** Battery levels read (onBattery): device id and percent. */
  batteries: [string, number][];
  stored: () => ReturnType<ScaleStore['list']>;
}

async function rig(enrol: [string, string][], overrides: Partial<ScaleReaderOptions> = {}): Promise<Rig> {
  const dir = tempDir();
  const vault = await openVault(dir.path, {}, { create: true });
  const scales = new ScaleStore(vault.db, vault.sealer);
  const members = new MemberStore(vault.db, vault.sealer);
  const counters = new Counters(vault.db);
  for (const [address, nickname] of enrol) await enrolScale(vault, address, nickname);
  const lines: string[] = [];
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(l) });
  const ingest = new ScaleIngest({ store: scales, members, logger, counters, assignToleranceKg: 2, dedup: { settleMs: 300, windowMs: 60_000, toleranceKg: 0.05, maxGroups: 256 } });
  const tick = setInterval(() => ingest.tick(), 50);
  const states: string[] = [];
  const batteries: [string, number][] = [];
  const reader = new ScaleReader({
    onState: (state) => states.push(state),
    onBattery: (deviceId, percent) => batteries.push([deviceId, percent]),
    adapter: 'hci0',
    scanWindowMs: 60_000,
    scanIntervalMs: 60_000,
    retryMinMs: 100,
    retryMaxMs: 800,
    pollMs: 100,
    callTimeoutMs: 2_000,
    gattRetryMs: 300,
    targets: () => scales.targets(),
    onMeasurement: (id, m, at) => ingest.push(id, m, at),
    logger,
    counters,
    ...overrides,
  });
  cleanups.push(async () => {
    await reader.stop();
    clearInterval(tick);
    ingest.flush();
    vault.close();
    dir.cleanup();
  });
  return { vault, scales, members, counters, reader, lines, states, batteries, stored: () => scales.list() };
}

async function standin(opts: { noAdapter?: boolean } = {}): Promise<BluezStandin> {
  const s = await startStandin(bus.address, opts);
  cleanups.push(() => s.stop());
  return s;
}

const scanning = (s: BluezStandin) => s.waitFor('discovery', (st) => st.adapter?.discovering === true);
const watching = (r: Rig, n: number) => eventually(`${n} watched device(s)`, () => r.reader.status().watchedDevices === n);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reading scales through BlueZ', () => {
  it('turns a Mi Scale 2 advert burst into one measurement and ignores unstabilized and unenrolled adverts', async () => {
    const s = await standin();
    await s.addDevice({ address: MI_SCALE, name: 'MIBFS' });
    await s.addDevice({ address: STRANGER, name: 'MIBFS' });
    const r = await rig([[MI_SCALE, 'Bathroom']]);
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    expect((await s.state()).adapter?.filter).toEqual({ Transport: 'le' });

    for (let i = 0; i < 4; i++) expect(await s.advert(MI_SCALE, { '181d': MI_MEASURING }, -60 - i)).toBe(true);
    for (let i = 0; i < 6; i++) await s.advert(MI_SCALE, { '181d': MI_STABLE }, -55);
    for (let i = 0; i < 3; i++) await s.advert(MI_SCALE, { '181d': MI_REMOVED }, -58);
    // Someone else's scale next door, in range and stabilized.
    for (let i = 0; i < 5; i++) await s.advert(STRANGER, { '181d': '2200a0e607020e10293a' }, -80);

    const [m] = await eventually('one stored weigh-in', () => (r.stored().length === 1 ? r.stored() : undefined));
    expect(m!.measurement).toMatchObject({ format: 'mi-scale-2', weightKg: 61.75, scaleTime: '2022-02-14T16:41:58', weightRemoved: false });
    await sleep(600);
    expect(r.stored()).toHaveLength(1);
    expect(r.reader.status().watchedDevices).toBe(1);
    const counts = r.counters.snapshot();
    expect(counts['ble.refused.not-stabilized']).toBe(4);
    expect(counts['ble.frames_accepted']).toBe(9);
    // The log says what happened without a weight or an address.
    const log = r.lines.join('\n');
    expect(log).toMatch(/weigh-in stored/);
    expect(log).not.toMatch(/61\.75|C8:47:8C/i);
  });

  it('refuses hostile adverts from an enrolled address one by one, and keeps reading', async () => {
    const s = await standin();
    await s.addDevice({ address: MI_BODY });
    const r = await rig([[MI_BODY, 'Bedroom']]);
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    const rand = prng(0xb1e) as () => number;
    const byte = () => Math.floor(rand() * 256);
    const valid = Buffer.from('0226e607020e10293af7019a38', 'hex');
    const N = 300;
    for (let i = 0; i < N; i++) {
      const kind = i % 3;
      const frame =
        kind === 0
          ? Buffer.from(Array.from({ length: Math.floor(rand() * 30) }, byte))
          : kind === 1
            ? Buffer.from(valid.map((b) => (rand() < 0.15 ? byte() : b)))
            : Buffer.alloc(200 + Math.floor(rand() * 400), byte());
      // Alternate the UUIDs so both advert decoders see everything.
      await s.advert(MI_BODY, { [i % 2 ? '181b' : '181d']: frame.toString('hex') });
    }
    const seen = () => Object.entries(r.counters.snapshot()).filter(([k]) => k.startsWith('ble.refused.') || k === 'ble.frames_accepted').reduce((n, [, v]) => n + v, 0);
    await eventually('every advert decoded', () => seen() === N);
    const counts = r.counters.snapshot();
    const refused = N - (counts['ble.frames_accepted'] ?? 0);
    recordTally({ surface: 'ble-adverts', tried: N, refused, accepted: N - refused, crashes: 0, dataLost: 0 });
    expect(refused).toBeGreaterThan(N / 2);
    expect(r.reader.status().state).toBe('scanning');
    // A genuine weigh-in still gets through afterwards.
    await sleep(400);
    const before = r.stored().length;
    await s.advert(MI_BODY, { '181b': '02a4e607020e10293a00006441' });
    await eventually('the genuine weigh-in', () => r.stored().some((m) => m.measurement.weightKg === 83.7));
    expect(r.stored().length).toBe(before + 1);
  });

  it('follows the scan schedule: discovers for the window at the start of every interval', async () => {
    const s = await standin();
    await s.addDevice({ address: MI_SCALE });
    const r = await rig([[MI_SCALE, 'Bathroom']], { scanWindowMs: 300, scanIntervalMs: 900 });
    r.reader.start();
    await scanning(s);
    await s.waitFor('the window closing', (st) => st.adapter?.discovering === false && st.stats.stopDiscovery === 1, 3_000);
    expect(r.reader.status().state).toBe('idle');
    await s.waitFor('the next window', (st) => st.adapter?.discovering === true && st.stats.startDiscovery === 2, 3_000);
    await s.waitFor('the third window', (st) => st.stats.startDiscovery === 3 && st.stats.stopDiscovery >= 2, 3_000);
    // Each change was announced once (what the hub's metrics follow): open, then windows and gaps.
    expect(r.states.slice(0, 5)).toEqual(['idle', 'scanning', 'idle', 'scanning', 'idle']);
    expect(r.states.every((st, i) => i === 0 || st !== r.states[i - 1])).toBe(true);
    // Adverts outside a window are not received, as with a real adapter.
    await s.waitFor('a gap', (st) => st.adapter?.discovering === false, 3_000);
    expect(await s.advert(MI_SCALE, { '181d': MI_REMOVED })).toBe(false);
  });

  it('keeps the Mi Body Composition reading that carries the impedance and assigns it', async () => {
    const s = await standin();
    await s.addDevice({ address: MI_BODY, name: 'MIBCS' });
    const r = await rig([[MI_BODY, 'Bedroom']]);
    const anna = r.members.add('Anna');
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    await s.advert(MI_BODY, { '181b': '0204e607020e10293a00009a38' }); // measuring
    await s.advert(MI_BODY, { '181b': '0224e607020e10293a00009a38' }); // stable, no impedance yet
    await s.advert(MI_BODY, { '181b': '0226e607020e10293af7019a38' }); // stable with impedance
    await s.advert(MI_BODY, { '181b': '02a6e607020e10293af7019a38' }); // stepped off
    const [m] = await eventually('one stored weigh-in', () => (r.stored().length === 1 ? r.stored() : undefined));
    expect(m!.measurement).toMatchObject({ format: 'mi-body-composition', weightKg: 72.45, impedanceOhm: 503 });
    expect(m!.memberId).toBe(anna.id);
    expect(r.scales.history(anna.id)).toHaveLength(1);
    // The weigh-in left its count-only event for the scale-usage metric.
    expect(r.vault.db.prepare("SELECT count(*) AS n, max(detail) AS d FROM events WHERE type = 'weigh_in'").get()).toEqual({ n: 1, d: null });
  });

  it('connects to a GATT scale when it advertises and stores its 0x2A9D indication', async () => {
    const s = await standin();
    // With a Battery Service (0x180F) whose Battery Level (0x2A19) reads 0x55: 85 %.
    await s.addDevice({ address: GATT_WEIGHT, uuids: ['181d', '1805', '180f'], gatt: [{ uuid: '1805', chars: [{ uuid: '2a2b', flags: ['read', 'notify'] }] }, { uuid: '181d', chars: [{ uuid: '2a9e', flags: ['read'] }, { uuid: '2a9d', flags: ['indicate'] }] }, { uuid: '180f', chars: [{ uuid: '2a19', flags: ['read', 'notify'], value: '55' }] }] });
    const r = await rig([[GATT_WEIGHT, 'Hall']], { gattRetryMs: 1_500 });
    await s.call('setConnectable', { address: GATT_WEIGHT, connectable: false });
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    // Asleep again before the connection: the failure is logged without the address, and retried
    // only after the back-off, when the scale next advertises.
    await s.advert(GATT_WEIGHT, {}, -50);
    await eventually('connection failure', () => r.counters.snapshot()['ble.gatt_connect_failed'] === 1);
    for (let i = 0; i < 5; i++) await s.advert(GATT_WEIGHT, {}, -51 - i);
    expect((await s.state()).stats.connect).toBe(1);
    const failure = r.lines.find((l) => l.includes('could not connect to a scale'))!;
    expect(failure).toMatch(/org\.bluez\.Error\.Failed \(le-connection-abort-by-local on \/org\/bluez\/hci0\/dev_<address>\)/);
    expect(failure).not.toMatch(/D0_00|D0:00/);
    await s.call('setConnectable', { address: GATT_WEIGHT, connectable: true });
    await sleep(1_600);
    await s.advert(GATT_WEIGHT, {}, -50);
    await s.waitFor('indications on', (st) => st.devices[0]!.notifying.length === 1);
    expect((await s.state()).devices[0]!.notifying).toEqual(['00002a9d-0000-1000-8000-00805f9b34fb']);
    // The battery level was read once on connecting (not subscribed to).
    await eventually('battery read', () => r.batteries.length === 1);
    const scaleId = r.scales.targets()[0]!.deviceId;
    expect(r.batteries).toEqual([[scaleId, 85]]);
    // flags 0x0E: time stamp, user 2, BMI 23.0, height 1.750 m, 70.5 kg
    expect(await s.notify(GATT_WEIGHT, '2a9d', '0e1437e807030f071e0502e600d606')).toBe(true);
    const [m] = await eventually('one stored weigh-in', () => (r.stored().length === 1 ? r.stored() : undefined));
    expect(m!.measurement).toMatchObject({ format: '2a9d', weightKg: 70.5, bmi: 23, heightM: 1.75, userId: 2, scaleTime: '2024-03-15T07:30:05' });
    // A truncated indication is refused and counted, never stored.
    await s.notify(GATT_WEIGHT, '2a9d', '0e1437e807');
    await eventually('refusal counted', () => r.counters.snapshot()['ble.refused.truncated'] === 1);
    expect(r.stored()).toHaveLength(1);
  });

  it('reassembles a 0x2A9C measurement split over two indications, and reconnects across many sleeps without leaking listeners', async () => {
    const s = await standin();
    await s.addDevice({ address: GATT_BODY, uuids: ['181b'], gatt: [{ uuid: '181b', chars: [{ uuid: '2a9c', flags: ['indicate'] }] }] });
    const r = await rig([[GATT_BODY, 'Gym']]);
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    const connected = async () => {
      await s.advert(GATT_BODY, {}, -50);
      await s.waitFor('indications on', (st) => st.devices[0]!.notifying.length === 1);
      await eventually('reader linked', () => r.reader.status().gattLinks === 1);
    };
    await connected();
    const halves = ['7e10d700e807030f071e0501581b92013016342b', '801fd700a028141e88131437d606'];
    for (const h of halves) await s.notify(GATT_BODY, '2a9c', h);
    const [m] = await eventually('one stored weigh-in', () => (r.stored().length === 1 ? r.stored() : undefined));
    // Exactly what the decoder makes of the two halves: every field of both packets.
    const decoded = decodeCapture('2a9c', halves.map((h) => Uint8Array.from(Buffer.from(h, 'hex'))));
    expect(decoded).toEqual([{ ok: true, measurement: m!.measurement }]);
    expect(m!.measurement).toMatchObject({ bodyFatPercent: 21.5, softLeanMassKg: 52, weightKg: 70.5, heightM: 1.75 });

    // The scale sleeps and wakes again and again: each time the link is undone completely.
    const listenerCounts: number[] = [];
    for (let i = 0; i < 12; i++) {
      await s.call('dropConnection', { address: GATT_BODY });
      await eventually('link released', () => r.reader.status().gattLinks === 0);
      await sleep(350); // past the reconnect back-off
      await connected();
      listenerCounts.push(r.reader.status().signalListeners);
    }
    expect(Math.max(...listenerCounts)).toBe(Math.min(...listenerCounts));
    // A half measurement cut off by the scale sleeping is refused, not stored.
    await s.notify(GATT_BODY, '2a9c', '7e10d700e807030f071e0501581b92013016342b');
    await s.call('dropConnection', { address: GATT_BODY });
    await eventually('half refused', () => r.counters.snapshot()['ble.refused.truncated'] === 1);
    expect(r.stored()).toHaveLength(1);
    const st = await s.state();
    expect(st.stats.connect).toBe(13);
  });
});

describe('the BlueZ stand-in', () => {
  it("publishes BlueZ's object tree through ObjectManager, with InterfacesAdded and InterfacesRemoved", async () => {
    const s = await standin();
    const dbus = (await import('dbus-next')).default;
    const client = dbus.systemBus();
    cleanups.push(() => client.disconnect());
    const root = await client.getProxyObject('org.bluez', '/');
    const om = root.getInterface('org.freedesktop.DBus.ObjectManager');
    const added: string[] = [];
    const removed: [string, string[]][] = [];
    om.on('InterfacesAdded', (path: string) => added.push(path));
    om.on('InterfacesRemoved', (path: string, names: string[]) => removed.push([path, names]));
    await sleep(100); // the match rules are in place
    await s.addDevice({ address: MI_SCALE, uuids: ['181d'] });
    const objects = (await om.GetManagedObjects()) as Record<string, Record<string, Record<string, { value: unknown }>>>;
    expect(objects['/org/bluez/hci0']!['org.bluez.Adapter1']!.Powered!.value).toBe(true);
    expect(objects['/org/bluez/hci0/dev_C8_47_8C_00_00_01']!['org.bluez.Device1']!.UUIDs!.value).toEqual(['0000181d-0000-1000-8000-00805f9b34fb']);
    await s.call('removeAdapter');
    await eventually('signals', () => added.length === 1 && removed.length === 2);
    expect(added).toEqual(['/org/bluez/hci0/dev_C8_47_8C_00_00_01']);
    expect(removed).toEqual([
      ['/org/bluez/hci0/dev_C8_47_8C_00_00_01', ['org.bluez.Device1']],
      ['/org/bluez/hci0', ['org.bluez.Adapter1']],
    ]);
  });
});

describe('when Bluetooth is missing or goes away', () => {
  it('says the bus is absent, backs off, and starts reading once a bus and BlueZ appear', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-nobus-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    process.env.DBUS_SYSTEM_BUS_ADDRESS = privateBusAddress(dir);
    const r = await rig([[MI_SCALE, 'Bathroom']], { retryMaxMs: 400 });
    r.reader.start();
    await eventually('seven retries', () => r.lines.filter((l) => l.includes('Bluetooth unavailable')).length >= 7, 10_000);
    const warnings = r.lines.filter((l) => l.includes('Bluetooth unavailable'));
    expect(warnings[0]).toMatch(/^WARN Bluetooth unavailable: the system D-Bus is not reachable \(ENOENT\); retrying in 0\.1s/);
    expect(warnings[1]).toMatch(/retrying in 0\.2s/);
    expect(warnings[2]).toMatch(/retrying in 0\.4s/);
    expect(warnings[3]).toMatch(/retrying in 0\.4s/);
    // The same reason again and again: a warning for the first five attempts, then quieter.
    expect(warnings.slice(0, 7).map((l) => l.split(' ')[0])).toEqual(['WARN', 'WARN', 'WARN', 'WARN', 'WARN', 'DEBUG', 'DEBUG']);
    expect(r.reader.status()).toMatchObject({ state: 'unavailable', reason: 'the system D-Bus is not reachable (ENOENT)' });

    const lateBus = await startPrivateBus({ dir });
    cleanups.push(() => lateBus.stop());
    await eventually('BlueZ missing reported', () => r.lines.some((l) => l.includes('Bluetooth unavailable: BlueZ is not running')), 10_000);
    const s = await startStandin(lateBus.address);
    cleanups.push(() => s.stop());
    await s.addDevice({ address: MI_SCALE });
    await s.waitFor('discovery', (st) => st.adapter?.discovering === true);
    await watching(r, 1);
    expect(r.lines.some((l) => l.startsWith('INFO Bluetooth available again'))).toBe(true);
    await s.advert(MI_SCALE, { '181d': MI_REMOVED });
    await eventually('stored', () => r.stored().length === 1);
  });

  it('names a missing or powered-off adapter', async () => {
    const s = await standin({ noAdapter: true });
    const r = await rig([[MI_SCALE, 'Bathroom']], { adapter: 'hci0' });
    r.reader.start();
    await eventually('adapter missing reported', () => r.lines.some((l) => l.includes('Bluetooth unavailable: adapter hci0 not found (BlueZ has no adapter)')));
    await s.call('addAdapter');
    await scanning(s);
    await s.call('setPowered', { powered: false });
    await eventually('powered off reported', () => r.lines.some((l) => l.includes('Bluetooth unavailable: adapter hci0 is powered off')));
    await s.call('setPowered', { powered: true });
    await scanning(s);
  });

  it('recovers from BlueZ being killed and restarted, again and again, with bounded resources', async () => {
    let s = await startStandin(bus.address);
    cleanups.push(() => s.stop()); // whichever instance is current
    await s.addDevice({ address: MI_SCALE });
    const r = await rig([[MI_SCALE, 'Bathroom']]);
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    const baseline = { listeners: r.reader.status().signalListeners, handles: process.getActiveResourcesInfo().length };
    const weights = ['2200a0e607020e10293a', '2264a0e607020e10293a', '22c8a0e607020e10293a'];
    for (let round = 0; round < 10; round++) {
      await s.kill();
      await eventually('BlueZ loss reported', () => r.reader.status().state === 'unavailable');
      s = await startStandin(bus.address);
      await s.addDevice({ address: MI_SCALE });
      await scanning(s);
      await watching(r, 1);
      expect(r.reader.status().signalListeners).toBe(baseline.listeners);
      if (round < weights.length) {
        // Each restart, a new weigh-in still gets through (different weights, so not repeats).
        await s.advert(MI_SCALE, { '181d': weights[round]!.replace(/^22/, 'a2') });
        await eventually(`weigh-in ${round + 1}`, () => r.stored().length === round + 1);
      }
    }
    const status = r.reader.status();
    expect(status.state).toBe('scanning');
    expect(status.sessionsOpened).toBe(11);
    expect(r.states.filter((st) => st === 'unavailable')).toHaveLength(10);
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(baseline.handles + 2);
    const log = r.lines.join('\n');
    expect(log).toMatch(/Bluetooth unavailable: (BlueZ is not running \(no org\.bluez on the system bus\)|BlueZ restarted)/);
  });

  it('recovers when the adapter is unplugged and plugged back in', async () => {
    const s = await standin();
    await s.addDevice({ address: MI_SCALE });
    const r = await rig([[MI_SCALE, 'Bathroom']]);
    r.reader.start();
    await scanning(s);
    await watching(r, 1);
    for (let i = 0; i < 3; i++) {
      await s.call('removeAdapter');
      await eventually('adapter loss reported', () => r.reader.status().state === 'unavailable');
      expect(r.reader.status().reason).toMatch(/adapter hci0 (disappeared|not found)/);
      await sleep(300);
      await s.call('addAdapter');
      await s.addDevice({ address: MI_SCALE });
      await scanning(s);
      await watching(r, 1);
    }
    await s.advert(MI_SCALE, { '181d': MI_REMOVED });
    await eventually('stored after replug', () => r.stored().length === 1);
  });
});
