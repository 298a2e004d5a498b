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
import type { KindRuntime, MqttDeviceSink } from '../kind.js';
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
}

const OWNER = 'cameras';

export class CameraService implements KindRuntime {
  readonly store: CameraStore;
  /** What the broker authenticates and stores camera messages through. */
  readonly mqtt: MqttDeviceSink<CameraRecord>;
  private readonly committer: GroupCommitter<CameraRecord>;
  /** Builds the error waiting publishes get when their batch could not be stored (set by the broker). */
  private notStored: (waiting: number) => Error = () => new Error('not stored');

  constructor(private readonly opts: CameraServiceOptions) {
    const { db, sealer, bus, counters, storage } = opts;
    const cameras = new CameraStore(db, sealer);
    this.store = cameras;
    const closedStale = cameras.closeStalePresence(Date.now());
    if (closedStale > 0) opts.logger.info('marked cameras offline that were online when the hub last stopped', { count: closedStale });
    const writeBatch = db.transaction((items: CameraRecord[]) => {
      cameras.writeBatch(items);
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
      onError: (err, items) => {
        cameras.invalidateCaches();
        storage.failed(err, 'messages', items);
      },
    });
    const secretHash = new DeviceRegistry(db, sealer).secretHashOf(CAMERA_KIND);
    this.mqtt = {
      secretHash,
      ingest: (record: CameraRecord, done?: Done) => this.committer.add(cameras.stage(record), done),
      setNotStored: (make) => {
        this.notStored = make;
      },
    };
    bus.on('device.removed', OWNER, (e) => {
      if (e.kind === CAMERA_KIND) cameras.forget(e.deviceId);
    });
  }

  unload(): void {
    this.opts.bus.removeOwner(OWNER);
    this.committer.close();
    this.opts.counters.flush();
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
