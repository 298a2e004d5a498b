/**
 * The device use cases, for every kind and every adapter (web UI, CLI): enrol a device and forget
 * one. Each does its store work in one transaction, scrubs what a removal leaves in the file, and
 * emits its domain event. Also turns other processes' writes into device events: the CLI enrolls
 * or removes while the daemon runs, the daemon's bus hears `device.enrolled` / `device.removed`.
 */
import type { DomainBus } from '../bus/bus.js';
import type { ChangeOrigin } from '../bus/events.js';
import type { PasswordHashing } from '../crypto/password.js';
import type { Sealer } from '../crypto/sealer.js';
import type { Db } from '../store/database.js';
import { truncateWalBlocking, truncateWalSoon } from '../store/scrub.js';
import { lastRemovalSeq, removalsSince, removeDeviceInSteps } from '../store/device-removal.js';
import { EnrolmentError, type DeviceDetails, type DeviceKindPlugin, type DeviceView, type EnrolmentInput } from './kind.js';
import { deleteDeviceCounters, storedDeviceRefusal, type DeviceRefusal } from '../store/counters.js';
import { DEVICE_KINDS } from './kinds.js';
import { DeviceRegistry, newDeviceId, type DeviceRecord } from './registry.js';

export interface EnrolledDevice {
  device: DeviceRecord;
  /** Shown to the household once (credentials); empty for kinds without any. */
  shownOnce: Record<string, unknown>;
}

export interface DeviceServiceOptions {
  db: Db;
  sealer: Sealer;
  bus: DomainBus;
  passwords: PasswordHashing;
  /** A device's last refused input; by default as stored (the daemon adds what it has not yet written). */
  lastRefusal?: (deviceId: string) => DeviceRefusal | null;
  /** How a removal's WAL scrub runs: in the background (daemon) or before returning (CLI). */
  scrub?: 'background' | 'blocking';
  kinds?: readonly DeviceKindPlugin[];
}

const OWNER = 'devices';

export class DeviceService {
  readonly registry: DeviceRegistry;
  readonly kinds: readonly DeviceKindPlugin[];
  /** Devices as this process last saw them, to tell other processes' enrolments and removals. */
  private known: Map<string, string> | undefined;
  /** The removal log's last entry this process has seen, and the removals it made itself (announced already). */
  private removalsSeen = 0;
  private readonly removedHere = new Set<string>();

  constructor(private readonly opts: DeviceServiceOptions) {
    this.registry = new DeviceRegistry(opts.db, opts.sealer);
    this.kinds = opts.kinds ?? DEVICE_KINDS;
  }

  kind(kind: string): DeviceKindPlugin | undefined {
    return this.kinds.find((k) => k.kind === kind);
  }

  /** Enrols a device of a registered kind from the adapter's input; throws EnrolmentError with a reason. */
  async enrol(kind: string, input: EnrolmentInput): Promise<EnrolledDevice> {
    const plugin = this.kind(kind);
    if (!plugin) throw new EnrolmentError(`unknown device kind; one of ${this.kinds.map((k) => k.kind).join(', ')}`);
    const { db, sealer } = this.opts;
    const deviceId = newDeviceId(plugin.idPrefix);
    const prepared = await plugin.prepareEnrolment(input, { store: { db, sealer }, passwords: this.opts.passwords, deviceId });
    const device = db
      .transaction(() => {
        if (prepared.lookupTag !== undefined && this.registry.hasLookupTag(prepared.lookupTag)) {
          throw new EnrolmentError(prepared.duplicateMessage ?? `this ${plugin.label} is already enrolled`, 'conflict');
        }
        const d = this.registry.add(plugin.kind, deviceId, prepared.nickname, { secretHash: prepared.secretHash, lookupTag: prepared.lookupTag });
        prepared.writeRows?.({ db, sealer }, deviceId);
        return d;
      })
      .immediate();
    this.known?.set(device.id, device.kind);
    this.opts.bus.emit('device.enrolled', { deviceId: device.id, kind: device.kind, origin: 'local' });
    return { device, shownOnce: prepared.shownOnce?.(device.id) ?? {} };
  }

  /**
   * Deletes a device and everything stored about it. Its events go in short steps with the event
   * loop's turn between them, never one scan of the whole events table (store/device-removal.ts).
   */
  async forget(deviceId: string): Promise<boolean> {
    const { db } = this.opts;
    const kind = this.registry.kindOf(deviceId);
    if (kind === undefined) return false;
    const blocking = this.opts.scrub === 'blocking';
    // A short sleep between steps lets another process (the daemon, when the CLI forgets) commit.
    const removed = await removeDeviceInSteps(db, deviceId, blocking ? { pause: () => new Promise((resolve) => setTimeout(resolve, 4)) } : {});
    if (!removed) return false;
    deleteDeviceCounters(db, deviceId);
    this.known?.delete(deviceId);
    if (this.known) this.removedHere.add(deviceId);
    if (blocking) truncateWalBlocking(db);
    else truncateWalSoon(db);
    this.opts.bus.emit('device.removed', { deviceId, kind, origin: 'local' });
    return true;
  }

  list(kind?: string): DeviceRecord[] {
    return this.registry.list(kind);
  }

  get(deviceId: string): DeviceRecord | undefined {
    return this.registry.get(deviceId);
  }

  exists(deviceId: string): boolean {
    return this.registry.exists(deviceId);
  }

  /** A device's decrypted details, by its kind, and its last refused input. */
  details(device: DeviceRecord): DeviceView {
    const plugin = this.kind(device.kind);
    const details: DeviceDetails = plugin ? plugin.details({ db: this.opts.db, sealer: this.opts.sealer }, device.id) : { online: null, lastSeen: null, eventCounts: {}, fields: {} };
    const lastRefusal = this.opts.lastRefusal ? this.opts.lastRefusal(device.id) : storedDeviceRefusal(this.opts.db, device.id);
    return { ...details, lastRefusal };
  }

  /**
   * Follows other processes' writes (the daemon calls this once): on `store.external-change` the
   * device list is compared with the last one and each difference becomes a device event.
   */
  followExternalChanges(): void {
    this.known = this.registry.idsWithKinds();
    this.removalsSeen = lastRemovalSeq(this.opts.db);
    this.opts.bus.on('store.external-change', OWNER, () => this.diffDevices('external'));
  }

  stopFollowing(): void {
    this.opts.bus.removeOwner(OWNER);
    this.known = undefined;
  }

  private diffDevices(origin: ChangeOrigin): void {
    const before = this.known;
    if (!before) return;
    const now = this.registry.idsWithKinds();
    this.known = now;
    const removed = new Map<string, string>();
    for (const [deviceId, kind] of before) if (!now.has(deviceId)) removed.set(deviceId, kind);
    // Also those enrolled and removed again between two looks (in neither list), from the removal
    // log; not those this process removed itself (announced already).
    for (const r of removalsSince(this.opts.db, this.removalsSeen)) {
      this.removalsSeen = r.seq;
      if (this.removedHere.delete(r.deviceId)) removed.delete(r.deviceId);
      else if (!now.has(r.deviceId)) removed.set(r.deviceId, r.kind);
    }
    for (const [deviceId, kind] of removed) this.opts.bus.emit('device.removed', { deviceId, kind, origin });
    for (const [deviceId, kind] of now) if (!before.has(deviceId)) this.opts.bus.emit('device.enrolled', { deviceId, kind, origin });
  }
}
