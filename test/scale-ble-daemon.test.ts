/**
 * The compiled daemon reading a scale over a private system bus (real dbus-daemon, BlueZ
 * stand-in, real node-ble), with the scale and member enrolled through the CLI; the daemon without
 * a scale, which leaves Bluetooth closed; and without any bus, which says why and keeps serving
 * everything else. BlueZ crashing and the
 * adapter being unplugged under the daemon are in ble-churn.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { cli, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';
import { eventually, startPrivateBus, startStandin } from './helpers/bluez.js';

const SCALE = 'C8:47:8C:12:34:56';
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function json<T>(args: string[], dataDir: string): T {
  const res = cli([...args, '--json', '--data-dir', dataDir]);
  if (res.code !== 0) throw new Error(`${args.join(' ')} failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}

describe('the daemon reads enrolled scales', () => {
  it('stores a Mi Body Composition weigh-in that member history and scale measurements show', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const bus = await startPrivateBus();
    cleanups.push(() => bus.stop());
    const bluez = await startStandin(bus.address);
    cleanups.push(() => bluez.stop());
    await bluez.addDevice({ address: SCALE, name: 'MIBCS' });

    expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
    json(['device', 'add', 'scale', SCALE.toLowerCase(), 'Bathroom scale'], dir.path);
    json(['member', 'add', 'Ingrid'], dir.path);

    const daemon: DaemonHandle = await startDaemon(dir.path, [], { DBUS_SYSTEM_BUS_ADDRESS: bus.address, HEARTH_BLE_SCAN_WINDOW: '5', HEARTH_BLE_SCAN_INTERVAL: '5', HEARTH_GPIO_ENABLED: 'false' });
    cleanups.push(() => daemon.stop());
    await bluez.waitFor('discovery', (s) => s.adapter?.discovering === true, 15_000);
    // The reader looks for enrolled devices about once a second while discovering.
    await new Promise((r) => setTimeout(r, 1500));
    await bluez.advert(SCALE, { '181b': '0204e607020e10293a00009a38' });
    for (let i = 0; i < 3; i++) await bluez.advert(SCALE, { '181b': '0226e607020e10293af7019a38' });
    await bluez.advert(SCALE, { '181b': '02a6e607020e10293af7019a38' });

    const history = await eventually(
      'the weigh-in in member history',
      () => {
        const h = json<{ member: { name: string }; measurements: { weightKg: number; impedanceOhm: number; assignment: string }[] }>(['member', 'history', 'ingrid'], dir.path);
        return h.measurements.length > 0 ? h : undefined;
      },
      15_000,
      300,
    );
    expect(history.member.name).toBe('Ingrid');
    expect(history.measurements).toHaveLength(1);
    expect(history.measurements[0]).toMatchObject({ weightKg: 72.45, impedanceOhm: 503, assignment: 'auto' });
    const all = json<{ member: string; weightKg: number; format: string }[]>(['scale', 'measurements'], dir.path);
    expect(all).toEqual([expect.objectContaining({ member: 'Ingrid', weightKg: 72.45, format: 'mi-body-composition' })]);

    // Nothing personal in the daemon's log: no weight, no address, no member name.
    await eventually('the weigh-in logged', () => daemon.output().includes('weigh-in stored'));
    const out = daemon.output();
    expect(out).toMatch(/reading Bluetooth scales/);
    expect(out).not.toMatch(/72\.45|C8:47:8C|Ingrid/i);

    // A scale enrolled while the daemon runs is read without a restart.
    const SECOND = 'C8:47:8C:65:43:21';
    await bluez.addDevice({ address: SECOND, name: 'MI_SCALE' });
    json(['device', 'add', 'scale', SECOND, 'Guest bathroom'], dir.path);
    await new Promise((r) => setTimeout(r, 2500));
    await bluez.advert(SECOND, { '181d': 'a23e30e607020e10293a' }); // 61.75 kg, stepped off
    await eventually('weigh-in from the new scale', () => json<{ weightKg: number }[]>(['scale', 'measurements'], dir.path).some((m) => m.weightKg === 61.75), 15_000, 300);

    // A GATT scale with a Battery Service: its level (0x2A19 = 0x4B, 75 %) is read on connecting
    // and kept; the device's details show it.
    const GATT = 'D0:00:00:00:00:0B';
    await bluez.addDevice({ address: GATT, uuids: ['181d', '180f'], gatt: [{ uuid: '181d', chars: [{ uuid: '2a9d', flags: ['indicate'] }] }, { uuid: '180f', chars: [{ uuid: '2a19', flags: ['read'], value: '4b' }] }] });
    const gattId = json<{ id: string }>(['device', 'add', 'scale', GATT, 'Hall scale'], dir.path).id;
    expect(json<{ battery: number | null }>(['device', 'show', gattId], dir.path).battery).toBeNull();
    await new Promise((r) => setTimeout(r, 2500));
    await bluez.advert(GATT, {}, -50);
    const shown = await eventually('the battery level kept', () => {
      const d = json<{ battery: number | null; batteryAt: number | null }>(['device', 'show', gattId], dir.path);
      return d.battery !== null ? d : undefined;
    }, 15_000, 300);
    expect(shown.battery).toBe(75);
    expect(shown.batteryAt).toBeGreaterThan(Date.now() - 60_000);
    expect(await daemon.stop()).toBe(0);
  });

  it('without a scale, leaves Bluetooth closed; with one but no system bus, says why, keeps retrying and keeps serving', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
    const daemon = await startDaemon(dir.path, [], { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(dir.path, 'no-such-bus')}`, HEARTH_BLE_RETRY_MAX: '2', HEARTH_GPIO_ENABLED: 'false' });
    cleanups.push(() => daemon.stop());
    await eventually('no scale reported', () => daemon.output().includes('no scale enrolled; Bluetooth stays closed until one is'), 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(daemon.output()).not.toMatch(/Bluetooth unavailable/);
    // Enrolling a scale (the CLI, a separate process) wakes the reader, which now tries the bus.
    json(['device', 'add', 'scale', SCALE, 'Bathroom scale'], dir.path);
    await eventually('two retries logged', () => (daemon.output().match(/Bluetooth unavailable/g) ?? []).length >= 2, 10_000);
    expect(daemon.output()).toMatch(/WARN Bluetooth unavailable: the system D-Bus is not reachable \(ENOENT\); retrying in 1s/);
    const health = await fetch(`http://127.0.0.1:${daemon.httpPort}/api/health`);
    expect(health.status).toBe(200);
    expect(await daemon.stop()).toBe(0);
  });
});
