/**
 * Scales in the running hub: the BLE reader reads the enrolled scales, repeats are merged, and
 * weigh-ins are assigned and stored sealed (ingest.ts), each announced on the bus. The reader
 * follows enrolments and removals from the bus at once, wherever they were made. Without BlueZ it
 * logs why and keeps retrying; the rest of the hub is unaffected.
 */
import type { KindRuntime, KindRuntimeContext } from '../kind.js';
import { MemberStore } from '../../members/store.js';
import { ScaleIngest } from './ingest.js';
import { ScaleStore } from './store.js';
import { ScaleReader } from './ble/reader.js';

export const SCALE_KIND = 'scale';
const INGEST_TICK_MS = 1_000;
const OWNER = 'scales';

export class ScaleService implements KindRuntime {
  private readonly reader: ScaleReader;
  private readonly ingest: ScaleIngest;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: KindRuntimeContext) {
    const { db, sealer, bus } = ctx;
    const scales = new ScaleStore(db, sealer);
    const logger = ctx.logger.child({ service: 'ble' });
    const ingest = new ScaleIngest({
      store: scales,
      members: new MemberStore(db, sealer),
      logger,
      counters: ctx.counters,
      assignToleranceKg: ctx.config.scales.assignToleranceKg,
      onStored: (m) => bus.emit('measurement.stored', { deviceId: m.deviceId, measurementId: m.id, assigned: m.memberId !== null }),
    });
    this.ingest = ingest;
    const ble = ctx.config.ble;
    this.reader = new ScaleReader({
      adapter: ble.adapter,
      scanWindowMs: ble.scanWindowSeconds * 1000,
      scanIntervalMs: ble.scanIntervalSeconds * 1000,
      retryMaxMs: ble.retryMaxSeconds * 1000,
      targets: () => scales.targets(),
      onMeasurement: (deviceId, m, at) => ingest.push(deviceId, m, at),
      logger,
      counters: ctx.counters,
      onState: (state) => bus.emit('ble.reader-state', { state }),
      onBattery: (deviceId, percent, at) => {
        try {
          scales.recordBattery(deviceId, percent, at);
          bus.emit('device.status', { deviceId });
        } catch (err) {
          logger.warn('could not keep a scale battery level', { deviceId, code: (err as { code?: string }).code ?? (err as Error).name });
        }
      },
    });
    // A scale enrolled or removed anywhere (web UI, CLI) is picked up at once.
    const targetsChanged = (e: { kind: string }) => {
      if (e.kind === SCALE_KIND) this.reader.invalidateTargets();
    };
    bus.on('device.enrolled', OWNER, targetsChanged);
    bus.on('device.removed', OWNER, targetsChanged);
  }

  start(): void {
    this.timer = setInterval(() => this.ingest.tick(), INGEST_TICK_MS);
    this.timer.unref();
    this.reader.start();
  }

  async unload(): Promise<void> {
    this.ctx.bus.removeOwner(OWNER);
    if (this.timer) clearInterval(this.timer);
    await this.reader.stop();
    this.ingest.flush();
  }
}
