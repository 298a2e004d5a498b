/**
 * The shape of the tree, checked: no import circles (type imports included), no upward import
 * from a device kind or a store into the composition root or the adapters, no SQL in the
 * adapters; the domain bus keeps its promises; a new device kind needs only its plugin.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DomainBus } from '../src/bus/bus.js';
import type { DomainEvent } from '../src/bus/events.js';
import { DomainBus as Bus } from '../src/bus/bus.js';
import { inlinePasswordHashing } from '../src/crypto/password.js';
import { EnrolmentError, type DeviceKindPlugin } from '../src/devices/kind.js';
import { DEVICE_KINDS } from '../src/devices/kinds.js';
import { DeviceService } from '../src/devices/service.js';
import { sealedColumn } from '../src/store/sealed-columns.js';
import { openVault } from '../src/store/vault.js';
import { tempDir } from './helpers/hub.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative imports of a module (static, dynamic and type-only), as source paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g), ...text.matchAll(/(?:^|\n)\s*import\s+'(\.[^']+)'/g), ...text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]!);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const rel = (f: string) => relative(SRC, f);

describe('the module graph', () => {
  const graph = new Map(sourceFiles().map((f) => [f, importsOf(f)]));

  it('has no import circles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (n: string) => {
      state.set(n, 'open');
      stack.push(n);
      for (const d of graph.get(n) ?? []) {
        if (state.get(d) === 'open') cycles.push(stack.slice(stack.indexOf(d)).concat(d).map(rel).join(' -> '));
        else if (!state.has(d)) visit(d);
      }
      stack.pop();
      state.set(n, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('imports downward only: kinds, stores and services never reach the composition root or the adapters', () => {
    const upward: string[] = [];
    const lower = ['devices/', 'members/', 'consent/', 'metrics/', 'integrations/', 'store/', 'crypto/', 'bus/', 'uplink/', 'text/', 'log/', 'config/', 'hw/'];
    const upper = ['hub/', 'web/', 'cli/'];
    for (const [file, deps] of graph) {
      if (!lower.some((l) => rel(file).startsWith(l))) continue;
      for (const d of deps) if (upper.some((u) => rel(d).startsWith(u))) upward.push(`${rel(file)} -> ${rel(d)}`);
    }
    expect(upward).toEqual([]);
  });

  it('keeps SQL out of the adapters (web UI and CLI call services and stores)', () => {
    const withSql = sourceFiles()
      .filter((f) => rel(f).startsWith('web/') || rel(f).startsWith('cli/'))
      .filter((f) => /\.prepare\(|\.exec\(\s*['`]|\b(SELECT|INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b/.test(readFileSync(f, 'utf8')));
    expect(withSql.map(rel)).toEqual([]);
  });
});

describe('the domain bus', () => {
  it('removes everything an owner subscribed, isolates a failing listener, and stamps times', () => {
    const failures: string[] = [];
    const bus = new DomainBus((_err, event, owner) => failures.push(`${owner}:${event.type}`), () => 1234);
    const got: DomainEvent[] = [];
    bus.on('device.removed', 'a', () => {
      throw new Error('listener bug');
    });
    bus.on('device.removed', 'b', (e) => got.push(e));
    bus.onAny('b', (e) => got.push(e));
    expect(bus.watched('device.removed')).toBe(true);
    bus.emit('device.removed', { deviceId: 'cam-0123456789ab', kind: 'camera', origin: 'local' });
    expect(failures).toEqual(['a:device.removed']);
    expect(got).toEqual([
      { type: 'device.removed', deviceId: 'cam-0123456789ab', kind: 'camera', origin: 'local', at: 1234 },
      { type: 'device.removed', deviceId: 'cam-0123456789ab', kind: 'camera', origin: 'local', at: 1234 },
    ]);
    expect(bus.removeOwner('b')).toBe(2);
    expect(bus.removeOwner('a')).toBe(1);
    expect(bus.listenerCount()).toBe(0);
    expect(bus.watched('device.removed')).toBe(false);
  });

  it('lets a listener unsubscribe itself while an event is delivered', () => {
    const bus = new Bus();
    const calls: string[] = [];
    const off = bus.on('storage.changed', 'x', () => {
      calls.push('first');
      off();
    });
    bus.on('storage.changed', 'x', () => calls.push('second'));
    bus.emit('storage.changed', { healthy: false, problem: 'SQLITE_FULL' });
    bus.emit('storage.changed', { healthy: true, problem: null });
    expect(calls).toEqual(['first', 'second', 'second']);
  });

  it('delivers an event to the listeners there were when it was emitted, whoever subscribes meanwhile', () => {
    const bus = new Bus();
    const calls: string[] = [];
    let added = false;
    bus.on('storage.changed', 'x', () => {
      calls.push('first');
      if (added) return;
      added = true;
      bus.on('storage.changed', 'y', () => calls.push('late'));
      bus.onAny('y', () => calls.push('late any'));
    });
    bus.emit('storage.changed', { healthy: false, problem: 'SQLITE_FULL' });
    expect(calls).toEqual(['first']);
    bus.emit('storage.changed', { healthy: true, problem: null });
    expect(calls).toEqual(['first', 'first', 'late', 'late any']);
  });
});

describe('device kinds as plugins', () => {
  it('every registered kind has a distinct name and id prefix, and declares its sealed columns', () => {
    expect(new Set(DEVICE_KINDS.map((k) => k.kind)).size).toBe(DEVICE_KINDS.length);
    expect(new Set(DEVICE_KINDS.map((k) => k.idPrefix)).size).toBe(DEVICE_KINDS.length);
    for (const k of DEVICE_KINDS) expect(k.sealedColumns.length).toBeGreaterThan(0);
  });

  it('a new kind is its plugin alone: enrolled, described, found by its lookup tag and forgotten by the same use cases', async () => {
    const dir = tempDir();
    const vault = await openVault(dir.path, {}, { create: true });
    try {
      // A doorbell kind that keeps its own sealed row in an existing table shape would need a
      // migration of its own; this one keeps only what the registry holds.
      const doorbell: DeviceKindPlugin = {
        kind: 'doorbell',
        idPrefix: 'bell',
        label: 'doorbell',
        enrolmentFields: { nickname: 'a name', serial: 'the serial number' },
        enrolmentArgs: ['serial', 'nickname'],
        enrolmentSummary: 'enrol a doorbell',
        describeEnrolment: (id) => [`doorbell enrolled: ${id}`],
        sealedColumns: [sealedColumn({ table: 'devices', column: 'nickname', keyColumns: ['id'], purpose: 'deviceNickname', aad: (r) => `device:${String(r.id)}:nickname` })],
        async prepareEnrolment(input, { store }) {
          if (typeof input.serial !== 'string' || !/^[A-Z0-9]{6}$/.test(input.serial)) throw new EnrolmentError('the serial is six capital letters or digits');
          return { nickname: String(input.nickname), lookupTag: `bell:${store.sealer.blindIndex('deviceIndex', input.serial)}`, duplicateMessage: 'that doorbell is enrolled already' };
        },
        details: () => ({ online: null, lastSeen: null, eventCounts: {}, fields: { chime: 'ding' } }),
      };
      const bus = new DomainBus();
      const events: string[] = [];
      bus.onAny('test', (e) => events.push(e.type));
      const devices = new DeviceService({ db: vault.db, sealer: vault.sealer, bus, passwords: inlinePasswordHashing(vault.sodium), scrub: 'blocking', kinds: [...DEVICE_KINDS, doorbell] });
      const { device } = await devices.enrol('doorbell', { nickname: 'Front door', serial: 'AB12CD' });
      expect(device.id).toMatch(/^bell-[0-9a-f]{12}$/);
      expect(devices.details(device).fields).toEqual({ chime: 'ding' });
      await expect(devices.enrol('doorbell', { nickname: 'Again', serial: 'AB12CD' })).rejects.toMatchObject({ kind: 'conflict', message: 'that doorbell is enrolled already' });
      await expect(devices.enrol('doorbell', { nickname: 'Bad', serial: 'x' })).rejects.toThrow(/six capital/);
      await expect(devices.enrol('toaster', {})).rejects.toThrow(/unknown device kind/);
      expect(devices.list('doorbell').map((d) => d.nickname)).toEqual(['Front door']);
      expect(await devices.forget(device.id)).toBe(true);
      expect(await devices.forget(device.id)).toBe(false);
      expect(events).toEqual(['device.enrolled', 'device.removed']);
    } finally {
      vault.close();
      dir.cleanup();
    }
  });

  /** The daemon's and the CLI's connections to one database, closed after `work`. */
  async function twoProcesses(work: (sides: { daemonSide: Awaited<ReturnType<typeof openVault>>; cliSide: Awaited<ReturnType<typeof openVault>> }) => Promise<void>): Promise<void> {
    const dir = tempDir();
    const daemonSide = await openVault(dir.path, {}, { create: true });
    const cliSide = await openVault(dir.path, {});
    try {
      await work({ daemonSide, cliSide });
    } finally {
      cliSide.close();
      daemonSide.close();
      dir.cleanup();
    }
  }

  it('another process enrolling or removing a device becomes device events on the daemon side', async () => {
    await twoProcesses(async ({ daemonSide, cliSide }) => {
      const bus = new DomainBus();
      const seen: string[] = [];
      bus.onAny('test', (e) => seen.push(`${e.type}${'origin' in e ? `:${e.origin}` : ''}`));
      const daemon = new DeviceService({ db: daemonSide.db, sealer: daemonSide.sealer, bus, passwords: inlinePasswordHashing(daemonSide.sodium) });
      daemon.followExternalChanges();
      const cli = new DeviceService({ db: cliSide.db, sealer: cliSide.sealer, bus: new DomainBus(), passwords: inlinePasswordHashing(cliSide.sodium), scrub: 'blocking' });
      const { device } = await cli.enrol('scale', { address: 'C8:47:8C:00:00:42', nickname: 'Hall' });
      bus.emit('store.external-change', {});
      await cli.forget(device.id);
      bus.emit('store.external-change', {});
      // The device service hears the change first (it subscribed first) and says what it was.
      expect(seen).toEqual(['device.enrolled:external', 'store.external-change', 'device.removed:external', 'store.external-change']);
      daemon.stopFollowing();
      expect(bus.listenerCount('devices')).toBe(0);
    });
  });

  it('a device enrolled and removed by another process between two of the daemon’s looks is still announced as removed, once', async () => {
    await twoProcesses(async ({ daemonSide, cliSide }) => {
      const bus = new DomainBus();
      const seen: string[] = [];
      bus.on('device.removed', 'test', (e) => seen.push(`${e.deviceId}:${e.kind}:${e.origin}`));
      const daemon = new DeviceService({ db: daemonSide.db, sealer: daemonSide.sealer, bus, passwords: inlinePasswordHashing(daemonSide.sodium), scrub: 'blocking' });
      daemon.followExternalChanges();
      const cli = new DeviceService({ db: cliSide.db, sealer: cliSide.sealer, bus: new DomainBus(), passwords: inlinePasswordHashing(cliSide.sodium), scrub: 'blocking' });
      // Enrolled and removed with no look in between: the daemon never had it in its list.
      const { device: brief } = await cli.enrol('scale', { address: 'C8:47:8C:00:00:43', nickname: 'Brief' });
      await cli.forget(brief.id);
      bus.emit('store.external-change', {});
      expect(seen).toEqual([`${brief.id}:scale:external`]);
      // A removal the daemon made itself is announced by it (local), not again from the log.
      const { device: own } = await daemon.enrol('scale', { address: 'C8:47:8C:00:00:44', nickname: 'Own' });
      await daemon.forget(own.id);
      bus.emit('store.external-change', {});
      bus.emit('store.external-change', {});
      expect(seen).toEqual([`${brief.id}:scale:external`, `${own.id}:scale:local`]);
      daemon.stopFollowing();
    });
  });
});
