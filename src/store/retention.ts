/**
 * Retention: raw events older than `retention.eventDays` are deleted; their per-device, per-day
 * counts by type stay in `event_days`, which the writer keeps as events arrive (event-totals.ts),
 * so only events already counted there are purged (the tail is folded first). Weigh-ins and the
 * privacy ledger go after their own number of days (0 keeps them). Everything runs in small
 * chunks: each chunk is one transaction of a few hundred rows at a time until its time budget is
 * spent, then the event loop gets a turn (a camera's commit and PUBACK go between two chunks).
 *
 * secure_delete is on for every connection (database.ts): the deleted cells and freed pages are
 * overwritten as they go. Freed pages are reused by later inserts; with auto_vacuum=INCREMENTAL a
 * few hundred of them at a time are given back to the file system after a purge, between yields.
 */
import type { Db } from './database.js';
import { BulkEventDelete, DAY_MS, EventTotals } from './event-totals.js';
import { META_KEYS, MetaStore } from './meta.js';
import { truncateWal } from './scrub.js';

export { DAY_MS };

export interface RetentionPolicy {
  eventDays: number;
  /** 0: kept for ever. */
  measurementDays: number;
  /** 0: kept for ever. */
  ledgerDays: number;
}

/** What one purge did (counts and times only). */
export interface PurgeReport {
  startedAt: number;
  finishedAt: number;
  /** Raw events deleted (their counts were rolled up first). */
  events: number;
  measurements: number;
  ledger: number;
  /** Pages given back to the file system by the incremental vacuum. */
  pagesReleased: number;
  chunks: number;
  /** The longest time the event loop was held by one chunk. */
  longestChunkMs: number;
  /** The time the event loop was held in all (every chunk, vacuum step and the WAL truncation). */
  busyMs: number;
}

export interface PurgeOptions {
  /** Time budget of one chunk (one transaction) before the event loop gets a turn. */
  chunkMs?: number;
  /** Rows per statement inside a chunk. */
  rowsPerStep?: number;
  /** Pages per incremental vacuum step. */
  vacuumPagesPerStep?: number;
  /** How the event loop gets its turn between chunks; a blocking caller (the CLI) passes none. */
  pause?: () => Promise<void>;
  now?: () => number;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

type Table = 'events' | 'measurements' | 'ledger';

export class Retention {
  private readonly stmts;
  private readonly meta: MetaStore;

  constructor(private readonly db: Db) {
    const ids = 'SELECT value FROM json_each(@ids)';
    this.stmts = {
      // Only events already counted in event_days (id up to the fold mark).
      oldestEvents: db.prepare('SELECT id FROM events WHERE received_at < @cutoff AND id <= (SELECT id FROM event_totals_through) ORDER BY received_at LIMIT @limit').pluck(),
      deleteEvents: new BulkEventDelete(db, `id IN (${ids})`),
      deleteEventRun: new BulkEventDelete(db, 'id >= @lo AND id <= @hi AND received_at < @cutoff'),
      deleteMeasurements: db.prepare('DELETE FROM measurements WHERE id IN (SELECT id FROM measurements WHERE measured_at < @cutoff ORDER BY measured_at LIMIT @limit)'),
      // The ledger is appended in time order, so its oldest rows are its smallest ids.
      deleteLedger: db.prepare('DELETE FROM privacy_ledger WHERE id IN (SELECT id FROM privacy_ledger WHERE sent_at < @cutoff ORDER BY id LIMIT @limit)'),
    };
    this.meta = new MetaStore(db);
  }

  /**
   * Deletes what the policy no longer keeps, chunk by chunk, yielding between chunks; records and
   * returns what it did. Safe beside the ingest path on the same connection: every chunk is a
   * complete synchronous transaction.
   */
  async purge(policy: RetentionPolicy, opts: PurgeOptions = {}): Promise<PurgeReport> {
    const now = opts.now ?? Date.now;
    const chunkMs = opts.chunkMs ?? 8;
    const limit = opts.rowsPerStep ?? 1_000;
    const pause = opts.pause ?? yieldToLoop;
    const startedAt = now();
    const report: PurgeReport = { startedAt, finishedAt: startedAt, events: 0, measurements: 0, ledger: 0, pagesReleased: 0, chunks: 0, longestChunkMs: 0, busyMs: 0 };
    /** Counts a chunk or vacuum step: the time it held the event loop. */
    const held = (ms: number) => {
      report.longestChunkMs = Math.max(report.longestChunkMs, ms);
      report.busyMs += ms;
    };
    const cutoffs: [Table, number][] = [['events', startedAt - policy.eventDays * DAY_MS]];
    if (policy.measurementDays > 0) cutoffs.push(['measurements', startedAt - policy.measurementDays * DAY_MS]);
    if (policy.ledgerDays > 0) cutoffs.push(['ledger', startedAt - policy.ledgerDays * DAY_MS]);

    // Count the tail into event_days first, so the old events in it can go too.
    const totals = new EventTotals(this.db);
    this.db.transaction(() => totals.fold()).immediate();
    for (const [table, cutoff] of cutoffs) {
      for (;;) {
        const t0 = performance.now();
        const { deleted, more } = this.db
          .transaction(() => {
            let n = 0;
            for (;;) {
              const step = this.step(table, cutoff, limit);
              n += step;
              if (step < limit) return { deleted: n, more: false };
              if (performance.now() - t0 >= chunkMs) return { deleted: n, more: true };
            }
          })
          .immediate();
        report[table] += deleted;
        report.chunks++;
        held(performance.now() - t0);
        if (!more) break;
        await pause();
      }
    }

    if (report.events + report.measurements + report.ledger > 0) {
      report.pagesReleased = await this.releaseFreePages(opts.vacuumPagesPerStep ?? 256, pause, held);
      const t0 = performance.now();
      truncateWal(this.db); // the old copies of the zeroed pages leave the WAL; retried by the next purge when a reader holds it
      report.busyMs += performance.now() - t0;
    }
    report.finishedAt = now();
    this.meta.write(META_KEYS.lastPurge, Buffer.from(JSON.stringify(report)));
    return report;
  }

  /**
   * Asks the daemon running on this database to purge now (it sees the write through its database
   * watcher): one tiny write instead of a second writer contending with its commits. Returns the
   * time of the request; the daemon's report has a startedAt at or after it.
   */
  requestPurge(at = Date.now()): number {
    this.meta.write(META_KEYS.purgeRequestedAt, Buffer.from(String(at), 'utf8'));
    return at;
  }

  /** When a purge was last asked for with requestPurge, or 0. */
  purgeRequestedAt(): number {
    const v = Number(this.meta.read(META_KEYS.purgeRequestedAt)?.toString('utf8'));
    return Number.isFinite(v) && v > 0 ? v : 0;
  }

  /** The last purge's report, or null when none ran on this database. */
  lastPurge(): PurgeReport | null {
    const raw = this.meta.read(META_KEYS.lastPurge);
    if (!raw) return null;
    try {
      return JSON.parse(raw.toString('utf8')) as PurgeReport;
    } catch {
      return null;
    }
  }

  private step(table: Table, cutoff: number, limit: number): number {
    if (table === 'events') {
      const ids = this.stmts.oldestEvents.all({ cutoff, limit }) as number[];
      if (ids.length === 0) return 0;
      // Ids grow with receive time, so the oldest events are nearly always one run of ids: deleted
      // as a range (read in row order, no list to look up one by one: 15–20 % less time held).
      // Any other old event inside that run goes too (it is counted: ids up to the fold mark).
      // A clock that jumped scatters them; then the list.
      let lo = ids[0]!;
      let hi = lo;
      for (const id of ids) {
        if (id < lo) lo = id;
        else if (id > hi) hi = id;
      }
      if (hi - lo < 2 * ids.length) return this.stmts.deleteEventRun.run({ lo, hi, cutoff });
      return this.stmts.deleteEvents.run({ ids: JSON.stringify(ids) });
    }
    if (table === 'measurements') return this.stmts.deleteMeasurements.run({ cutoff, limit }).changes;
    return this.stmts.deleteLedger.run({ cutoff, limit }).changes;
  }

  /** Gives free pages back to the file system a few at a time (only with auto_vacuum=INCREMENTAL). */
  private async releaseFreePages(perStep: number, pause: () => Promise<void>, took: (ms: number) => void): Promise<number> {
    if ((this.db.pragma('auto_vacuum', { simple: true }) as number) !== 2) return 0;
    let released = 0;
    for (;;) {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free === 0) return released;
      const t0 = performance.now();
      this.db.pragma(`incremental_vacuum(${perStep})`);
      took(performance.now() - t0);
      released += Math.min(free, perStep);
      if (free <= perStep) return released;
      await pause();
    }
  }
}

const INCREMENTAL = 2;

/**
 * Switches a database made before auto_vacuum=INCREMENTAL was set (database.ts sets it on new
 * files) with the one VACUUM that needs; the daemon runs it once at start, before it serves, so no
 * camera waits on it. Returns whether it ran.
 */
export function enableIncrementalVacuumOnce(db: Db): boolean {
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === INCREMENTAL) return false;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  truncateWal(db);
  return true;
}

/** Per-day event counts of one device, all-time (purged days included), from the roll-ups and the tail. */
export function rolledUpDays(db: Db, deviceId: string, fromDay: number, toDay: number): { day: number; type: string; n: number }[] {
  return new EventTotals(db).days(deviceId, fromDay, toDay);
}
