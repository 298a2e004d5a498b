/**
 * The daemon's side of retention: a purge shortly after start, then on a timer and when `hearth db
 * purge` asks for one through the database (store.external-change), chunked so that cameras keep their pace (retention.ts), announced on the bus with
 * `store.purged`; and a watch on the data dir's free space that warns once when it goes under the
 * threshold (`storage.disk` on the bus, one log line) and once when it recovers.
 */
import type { DomainBus } from '../bus/bus.js';
import type { HearthConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import type { Db } from './database.js';
import { diskFreeBytes } from './db-stats.js';
import { Retention, type PurgeReport } from './retention.js';

export interface RetentionServiceOptions {
  db: Db;
  config: Pick<HearthConfig, 'dataDir' | 'retention'>;
  bus: DomainBus;
  logger: Logger;
  /** First purge this long after start (the hub settles first). */
  firstPurgeMs?: number;
  /** Then one purge per interval. */
  purgeIntervalMs?: number;
  diskCheckMs?: number;
  /** Free bytes of the data dir's file system (statfs by default). */
  freeBytes?: (dir: string) => number | null;
}

const MB = 1_000_000;
const OWNER = 'retention';

export class RetentionService {
  readonly name = 'retention';
  private readonly retention: Retention;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<PurgeReport | null> | undefined;
  private stopped = false;
  private lowDisk = false;
  private lastFree: number | null = null;
  /** The last purge request (requestPurge) this service has acted on. */
  private servedRequest = 0;

  constructor(private readonly opts: RetentionServiceOptions) {
    this.retention = new Retention(opts.db);
  }

  start(): void {
    this.stopped = false;
    // `hearth db purge` beside the running hub asks through the database; the purge runs here.
    this.servedRequest = this.retention.purgeRequestedAt();
    this.opts.bus.on('store.external-change', OWNER, () => {
      const requested = this.retention.purgeRequestedAt();
      if (requested <= this.servedRequest) return;
      this.servedRequest = requested;
      this.opts.logger.info('purge asked for by hearth db purge', {});
      // After a purge already running (it started before the request), one more.
      void (this.running ?? Promise.resolve()).then(() => this.purgeNow());
    });
    const first = setTimeout(() => void this.purgeNow(), this.opts.firstPurgeMs ?? 60_000);
    const every = setInterval(() => void this.purgeNow(), this.opts.purgeIntervalMs ?? 6 * 3600_000);
    this.checkDisk();
    const disk = setInterval(() => this.checkDisk(), this.opts.diskCheckMs ?? 600_000);
    this.timers = [first, every, disk];
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.opts.bus.removeOwner(OWNER);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.running;
  }

  /** Runs a purge now unless one is running (then waits for that one). Null when it failed or the service stopped. */
  purgeNow(): Promise<PurgeReport | null> {
    return (this.running ??= this.runPurge().finally(() => (this.running = undefined)));
  }

  /** Free space as last checked and whether it is under the threshold. */
  disk(): { low: boolean; freeBytes: number | null; thresholdBytes: number } {
    return { low: this.lowDisk, freeBytes: this.lastFree, thresholdBytes: this.opts.config.retention.lowDiskMb * MB };
  }

  private async runPurge(): Promise<PurgeReport | null> {
    if (this.stopped) return null;
    const { retention } = this.opts.config;
    try {
      const r = await this.retention.purge(retention, { pause: () => new Promise<void>((resolve) => setImmediate(resolve)) });
      const durationMs = r.finishedAt - r.startedAt;
      if (r.events + r.measurements + r.ledger > 0) {
        this.opts.logger.info('purged what the retention settings no longer keep', { events: r.events, measurements: r.measurements, ledger: r.ledger, pagesReleased: r.pagesReleased, durationMs, longestChunkMs: Math.round(r.longestChunkMs) });
      }
      this.opts.bus.emit('store.purged', { events: r.events, measurements: r.measurements, ledger: r.ledger, pagesReleased: r.pagesReleased, durationMs, longestChunkMs: Math.round(r.longestChunkMs) });
      return r;
    } catch (err) {
      // A full disk or a busy file: the next interval tries again; what was purged so far stays purged.
      this.opts.logger.warn('the retention purge stopped early', { code: (err as { code?: string }).code ?? (err as Error).name });
      return null;
    }
  }

  private checkDisk(): void {
    const threshold = this.opts.config.retention.lowDiskMb * MB;
    const free = (this.opts.freeBytes ?? diskFreeBytes)(this.opts.config.dataDir);
    this.lastFree = free;
    const low = threshold > 0 && free !== null && free < threshold;
    if (low === this.lowDisk) return;
    this.lowDisk = low;
    if (low) this.opts.logger.warn('little free space left for the database', { freeMb: Math.floor((free ?? 0) / MB), thresholdMb: this.opts.config.retention.lowDiskMb });
    else this.opts.logger.info('free space for the database is back over the warning threshold', { freeMb: Math.floor((free ?? 0) / MB) });
    this.opts.bus.emit('storage.disk', { low, freeBytes: free });
  }
}
