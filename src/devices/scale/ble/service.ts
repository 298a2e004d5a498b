/**
 * The BLE scale reader as a hub service: reads the enrolled scales, merges repeats, assigns and
 * stores weigh-ins. Without BlueZ it logs why and keeps retrying; the rest of the hub is unaffected.
 */
import type { HubContext, HubService } from '../../../hub/hub.js';
import { MemberStore } from '../../../members/store.js';
import { ScaleIngest } from '../ingest.js';
import { ScaleStore } from '../store.js';
import { ScaleReader } from './reader.js';

const INGEST_TICK_MS = 1_000;

export function scaleReaderService(ctx: HubContext): HubService | undefined {
  if (!ctx.config.ble.enabled) return undefined;
  let reader: ScaleReader | undefined;
  let ingest: ScaleIngest | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'ble-scales',
    start() {
      const { db, sealer } = ctx.vault;
      const scales = new ScaleStore(db, sealer);
      const logger = ctx.logger.child({ service: 'ble' });
      const ingestNow = new ScaleIngest({
        store: scales,
        members: new MemberStore(db, sealer),
        logger,
        counters: ctx.counters,
        assignToleranceKg: ctx.config.scales.assignToleranceKg,
      });
      ingest = ingestNow;
      const ble = ctx.config.ble;
      const readerNow = new ScaleReader({
        adapter: ble.adapter,
        scanWindowMs: ble.scanWindowSeconds * 1000,
        scanIntervalMs: ble.scanIntervalSeconds * 1000,
        retryMaxMs: ble.retryMaxSeconds * 1000,
        targets: () => scales.targets(),
        onMeasurement: (deviceId, m, at) => ingestNow.push(deviceId, m, at),
        logger,
        counters: ctx.counters,
      });
      reader = readerNow;
      // A scale enrolled or removed through the CLI is picked up without waiting for the next scan.
      ctx.watcher.onExternalChange(() => readerNow.invalidateTargets());
      timer = setInterval(() => ingestNow.tick(), INGEST_TICK_MS);
      timer.unref();
      readerNow.start();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await reader?.stop();
      ingest?.flush();
    },
  };
}
