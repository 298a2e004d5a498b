/**
 * Cameras in the running hub: what the broker hands over (statuses, events, presence) is staged,
 * committed in groups (a PUBACK only after the commit) and announced on the bus as ids, kinds and
 * times. A camera removed anywhere (web, CLI) has its cached state dropped here.
 */
import type { DomainBus } from '../../bus/bus.js';
import type { Counters } from '../../store/counters.js';
import type { Db } from '../../store/database.js';
import { GroupCommitter, type Done } from '../../store/group-commit.js';
import type { StorageHealth } from '../../store/health.js';
import type { Logger } from '../../log/logger.js';
import type { Sealer } from '../../crypto/sealer.js';
import { DeviceRegistry } from '../registry.js';
import type { KindRuntime, MqttDeviceSink, PublishVerdict } from '../kind.js';
import { ChildCameras } from './children.js';
import { CameraProfileStore } from './profile-store.js';
import { FIRMWARE_PROFILES, interpretPublish, maySubscribe, PRESENCE_GRACE, type CameraBinding, type ProfileItem } from './profiles/index.js';
import { CameraStore, type CameraRecord } from './store.js';

export const CAMERA_KIND = 'camera';

export interface CameraServiceOptions {
  db: Db;
  sealer: Sealer;
  bus: DomainBus;
  logger: Logger;
  counters: Counters;
  storage: StorageHealth;
  batchMaxMessages: number;
  batchMaxDelayMs: number;
  /** The clock for presence by timer (tests pass their own). */
  now?: () => number;
}

/** How often cameras that connect once per message are checked for silence. */
const PRESENCE_CHECK_MS = 10_000;

const OWNER = 'cameras';

export class CameraService implements KindRuntime {
  readonly store: CameraStore;
  /** What the broker authenticates and stores camera messages through. */
  readonly mqtt: MqttDeviceSink<CameraRecord>;
  private readonly committer: GroupCommitter<CameraRecord>;
  /** Builds the error waiting publishes get when their batch could not be stored (set by the broker). */
  private notStored: (waiting: number) => Error = () => new Error('not stored');
  private readonly profiles: CameraProfileStore;
  /** Each camera's firmware binding (null: hearth's own protocol), read once, dropped on enrol/remove. */
  private readonly bindings = new Map<string, CameraBinding | null>();
  /** When each camera whose presence is timed was last heard from, and whether it was marked gone. */
  private readonly heard = new Map<string, { at: number; gone: boolean }>();
  private presenceTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** The cameras an NVR reports, each a device of its own. */
  readonly children: ChildCameras;

  constructor(private readonly opts: CameraServiceOptions) {
    const { db, sealer, bus, counters, storage } = opts;
    this.now = opts.now ?? Date.now;
    this.profiles = new CameraProfileStore(db, sealer);
    this.children = new ChildCameras(db, sealer, 'cam', CAMERA_KIND);
    const cameras = new CameraStore(db, sealer);
    this.store = cameras;
    // Before serving: details sealed before they were bound to their camera, once (store.ts).
    const bound = cameras.bindEventDetailsOnce();
    if (bound) opts.logger.info('sealed the stored event details with their camera as well (once)', { events: bound });
    const closedStale = cameras.closeStalePresence(Date.now());
    if (closedStale > 0) opts.logger.info('marked cameras offline that were online when the hub last stopped', { count: closedStale });
    const writeBatch = db.transaction((items: CameraRecord[]) => {
      const dropped = cameras.writeBatch(items);
      if (dropped > 0) counters.increment('mqtt.publish_dropped.device_removed', dropped);
      counters.writePending();
    });
    this.committer = new GroupCommitter<CameraRecord>({
      maxItems: opts.batchMaxMessages,
      maxDelayMs: opts.batchMaxDelayMs,
      commit: (items) => {
        writeBatch.immediate(items);
        counters.committed();
        announce(bus, items);
        storage.succeeded();
      },
      callbackError: (_err, waiting) => this.notStored(waiting),
      settled: (items) => cameras.release(items),
      committed: (items, seconds) => bus.emit('store.batch-committed', { items, seconds }),
      onError: (err, items) => {
        cameras.invalidateCaches();
        storage.failed(err, 'messages', items);
      },
    });
    const secretHash = new DeviceRegistry(db, sealer).secretHashOf(CAMERA_KIND);
    this.mqtt = {
      secretHash,
      ingest: (record: CameraRecord, done?: Done) => {
        // An NVR's presence is its cameras' presence too.
        if (record.kind === 'presence' && this.binding(record.deviceId)?.profile === 'frigate') {
          for (const child of this.children.childrenOf(record.deviceId)) this.committer.add({ ...record, deviceId: child });
        }
        this.committer.add(cameras.stage(record), done);
      },
      setNotStored: (make) => {
        this.notStored = make;
      },
      interpretPublish: (deviceId, topic, payload, at) => this.interpret(deviceId, topic, payload, at),
      authorizeSubscribe: (deviceId, filter) => {
        const binding = this.binding(deviceId);
        return binding ? maySubscribe(binding, filter) : undefined;
      },
      tracksConnection: (deviceId) => {
        const binding = this.binding(deviceId);
        return !binding || FIRMWARE_PROFILES[binding.profile].presence === 'connection';
      },
      acceptsImages: (deviceId) => this.binding(deviceId) !== undefined,
    };
    bus.on('device.removed', OWNER, (e) => {
      if (e.kind !== CAMERA_KIND) return;
      cameras.forget(e.deviceId);
      this.children.forget(e.deviceId);
      this.bindings.delete(e.deviceId);
      this.heard.delete(e.deviceId);
    });
    bus.on('device.enrolled', OWNER, (e) => {
      if (e.kind === CAMERA_KIND) this.bindings.delete(e.deviceId);
    });
  }

  start(): void {
    this.presenceTimer = setInterval(() => this.checkPresence(this.now()), PRESENCE_CHECK_MS);
    this.presenceTimer.unref();
  }

  /**
   * Cameras that connect once per message (no will, never an "offline") are online while their
   * periodic reports arrive, and offline once PRESENCE_GRACE report intervals passed in silence.
   */
  checkPresence(now: number): number {
    let marked = 0;
    for (const [deviceId, h] of this.heard) {
      const binding = this.binding(deviceId);
      const interval = binding ? FIRMWARE_PROFILES[binding.profile].reportIntervalMs : undefined;
      if (h.gone || interval === undefined || now - h.at <= interval * PRESENCE_GRACE) continue;
      h.gone = true;
      this.mqtt.ingest({ kind: 'presence', deviceId, online: false, at: now });
      marked++;
    }
    return marked;
  }

  private binding(deviceId: string): CameraBinding | undefined {
    let b = this.bindings.get(deviceId);
    if (b === undefined) {
      b = this.profiles.bindingOf(deviceId) ?? null;
      this.bindings.set(deviceId, b);
    }
    return b ?? undefined;
  }

  /** A publish under the camera's firmware profile, as records; undefined for hearth's protocol. */
  private interpret(deviceId: string, topic: string, payload: Buffer, at: number): PublishVerdict<CameraRecord> | undefined {
    const binding = this.binding(deviceId);
    if (!binding) return undefined;
    const verdict = interpretPublish(binding, topic, payload);
    if (!verdict.ok) return verdict;
    if (verdict.dropped) this.opts.counters.increment(`mqtt.profile_dropped.${verdict.dropped}`);
    if (FIRMWARE_PROFILES[binding.profile].presence === 'timer') this.heard.set(deviceId, { at, gone: false });
    const records: CameraRecord[] = [];
    for (const item of verdict.items) {
      const target = item.kind === 'event' && item.source !== undefined ? this.childFor(deviceId, item.source, at, records) : deviceId;
      records.push(toRecord(target, item, at));
    }
    return { ok: true, records };
  }

  /** The device an NVR's camera is, created (and announced, and online) on first sight; the NVR itself past the limit. */
  private childFor(parentId: string, name: string, at: number, records: CameraRecord[]): string {
    let child: ReturnType<ChildCameras['resolve']>;
    try {
      child = this.children.resolve(parentId, name);
    } catch (err) {
      // The device could not be written (the database busy or failing): kept on the NVR this time.
      this.opts.logger.warn('could not add a camera reported by an NVR', { deviceId: parentId, error: (err as Error).name });
      child = undefined;
    }
    if (!child) {
      this.opts.counters.increment('mqtt.profile_children_refused');
      return parentId;
    }
    if (child.created) {
      this.opts.bus.emit('device.enrolled', { deviceId: child.id, kind: CAMERA_KIND, origin: 'local' });
      records.push({ kind: 'presence', deviceId: child.id, online: true, at });
    }
    return child.id;
  }

  unload(): void {
    if (this.presenceTimer) clearInterval(this.presenceTimer);
    this.opts.bus.removeOwner(OWNER);
    this.committer.close();
    this.opts.counters.flush();
  }
}

function toRecord(deviceId: string, item: ProfileItem, at: number): CameraRecord {
  switch (item.kind) {
    case 'status':
      return { kind: 'status', deviceId, status: { state: 'online', ...item.status }, at };
    case 'event':
      return { kind: 'event', deviceId, event: item.detail === undefined ? { type: item.type, ts: at } : { type: item.type, ts: at, detail: item.detail }, at };
    case 'presence':
      return { kind: 'presence', deviceId, online: item.online, at };
  }
}

/** Tells the bus what was stored: kind, device and time, no values. Skipped when nobody listens. */
function announce(bus: DomainBus, items: readonly CameraRecord[]): void {
  const presence = bus.watched('device.presence');
  const status = bus.watched('device.status');
  const event = bus.watched('device.event');
  if (!presence && !status && !event) return;
  for (const item of items) {
    switch (item.kind) {
      case 'presence':
        if (presence) bus.emit('device.presence', { deviceId: item.deviceId, online: item.online, at: item.at });
        break;
      case 'status':
        if (status) bus.emit('device.status', { deviceId: item.deviceId, at: item.at });
        break;
      case 'event':
        if (event) bus.emit('device.event', { deviceId: item.deviceId, eventType: item.event.type, at: item.at });
        break;
    }
  }
}
