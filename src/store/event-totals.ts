/**
 * How many events of each type a device has, and when the last one arrived, without an index on
 * events by device.
 *
 * Why: an index led by the device gets one insertion point per device, so every commit dirtied
 * (and wrote to the WAL, then checkpointed) about one index page per active device and event
 * type: with 200 cameras that was most of the hub's disk writes and a third of its CPU per
 * message. The events table is now appended to in id order only (rowid and receive time).
 *
 * Instead, `event_totals` holds the counts of every event kept up to `event_totals_through.id`,
 * and `event_days` the per-device, per-day counts by type of every event ever folded (kept when
 * the retention purge deletes the raw rows: the device's counts and its activity chart are
 * all-time). The events after the mark (the tail, at most a few seconds of them) are counted
 * live, by rowid range. The tail is folded into both in set-based statements, inside the writer's
 * transaction, every FOLD_AFTER_ROWS rows or FOLD_AFTER_MS. Deleting events keeps the totals right:
 * triggers (migration 2) take a deleted counted event off its total and lower the mark when the
 * largest ids go, so a reused id can never be taken for counted.
 */
import type { Db } from './database.js';

/** A UTC day number is received_at / DAY_MS (event_days.day). */
export const DAY_MS = 86_400_000;

/** Rows the writer inserts before folding the tail (keeps live counting of the tail cheap). */
export const FOLD_AFTER_ROWS = 20_000;
/** ...or time since the last fold, so a quiet hub's tail stays short too. */
export const FOLD_AFTER_MS = 10_000;

/** The events not yet folded into the totals (a rowid range). */
const TAIL = 'SELECT device_id, type, received_at FROM events WHERE id > (SELECT id FROM event_totals_through)';

export class EventTotals {
  private readonly stmts;
  private rowsSinceFold = 0;
  private lastFoldAt = 0;

  constructor(
    db: Db,
    private readonly now: () => number = Date.now,
  ) {
    this.stmts = {
      fold: db.prepare(
        `INSERT INTO event_totals (device_id, type, n, last_received_at)
           SELECT device_id, type, COUNT(*), MAX(received_at) FROM (${TAIL}) WHERE true GROUP BY device_id, type
         ON CONFLICT (device_id, type) DO UPDATE SET n = n + excluded.n, last_received_at = MAX(last_received_at, excluded.last_received_at)`,
      ),
      foldDays: db.prepare(
        `INSERT INTO event_days (device_id, day, type, n)
           SELECT device_id, received_at / ${DAY_MS}, type, COUNT(*) FROM (${TAIL}) WHERE true GROUP BY 1, 2, 3
         ON CONFLICT (device_id, day, type) DO UPDATE SET n = n + excluded.n`,
      ),
      advance: db.prepare('UPDATE event_totals_through SET id = (SELECT COALESCE(MAX(id), 0) FROM events)'),
      // All-time: every folded event by day (purged raw rows included) plus the tail.
      countsByType: db.prepare(
        `SELECT type, SUM(n) AS n FROM (
           SELECT type, n FROM event_days WHERE device_id = @id
           UNION ALL SELECT type, 1 FROM (${TAIL}) WHERE device_id = @id
         ) GROUP BY type ORDER BY type`,
      ),
      daysOf: db.prepare(
        `SELECT day, type, SUM(n) AS n FROM (
           SELECT day, type, n FROM event_days WHERE device_id = @id AND day >= @from AND day < @to
           UNION ALL SELECT received_at / ${DAY_MS}, type, 1 FROM (${TAIL}) WHERE device_id = @id AND received_at >= @from * ${DAY_MS} AND received_at < @to * ${DAY_MS}
         ) GROUP BY day, type ORDER BY day, type`,
      ),
      lastReceivedAt: db
        .prepare(
          `SELECT MAX(at) FROM (
             SELECT MAX(last_received_at) AS at FROM event_totals WHERE device_id = @id AND n > 0
             UNION ALL SELECT MAX(received_at) FROM (${TAIL}) WHERE device_id = @id
           )`,
        )
        .pluck(),
    };
  }

  /** Folds the tail into the totals. Must run inside a write transaction. */
  fold(): void {
    this.stmts.fold.run();
    this.stmts.foldDays.run();
    this.stmts.advance.run();
    this.rowsSinceFold = 0;
    this.lastFoldAt = this.now();
  }

  /** Tells of `rows` events just inserted and folds when the tail is due. Inside a write transaction. */
  inserted(rows: number): void {
    this.rowsSinceFold += rows;
    if (this.rowsSinceFold >= FOLD_AFTER_ROWS || (this.rowsSinceFold > 0 && this.now() - this.lastFoldAt >= FOLD_AFTER_MS)) this.fold();
  }

  /** Events per type for one device since it was enrolled (purged ones included), types in order. */
  countsByType(deviceId: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.stmts.countsByType.all({ id: deviceId }) as { type: string; n: number }[]) if (r.n > 0) out[r.type] = r.n;
    return out;
  }

  /** Per-day counts by type of one device, days [fromDay, toDay) (UTC day numbers), in order. */
  days(deviceId: string, fromDay: number, toDay: number): { day: number; type: string; n: number }[] {
    return this.stmts.daysOf.all({ id: deviceId, from: fromDay, to: toDay }) as { day: number; type: string; n: number }[];
  }

  /** The event types a device has reported, in order. */
  types(deviceId: string): string[] {
    return Object.keys(this.countsByType(deviceId));
  }

  /** When the device's latest event arrived, or null if it has none. */
  lastReceivedAt(deviceId: string): number | null {
    return (this.stmts.lastReceivedAt.get({ id: deviceId }) as number | null) ?? null;
  }
}

/**
 * Deletes the events a WHERE clause picks, in the caller's write transaction, taking them off
 * `event_totals` in one grouped statement rather than a trigger per row (migration 64): what
 * deleting costs is halved. Same result as the trigger: a counted event (id at or below the mark)
 * comes off its total, and the mark follows when the largest ids go. `where` is SQL over events
 * with named parameters, used twice with the same values.
 */
export class BulkEventDelete {
  private readonly stmts;

  constructor(db: Db, where: string) {
    this.stmts = {
      takeOff: db.prepare(
        `UPDATE event_totals SET n = n - d.c
           FROM (SELECT device_id, type, COUNT(*) AS c FROM events
                  WHERE (${where}) AND id <= (SELECT id FROM event_totals_through) GROUP BY device_id, type) AS d
          WHERE event_totals.device_id = d.device_id AND event_totals.type = d.type`,
      ),
      markOn: db.prepare('INSERT INTO event_bulk_delete (active) VALUES (1)'),
      remove: db.prepare(`DELETE FROM events WHERE ${where}`),
      markOff: db.prepare('DELETE FROM event_bulk_delete'),
      lowerMark: db.prepare('UPDATE event_totals_through SET id = (SELECT COALESCE(MAX(id), 0) FROM events) WHERE id > (SELECT COALESCE(MAX(id), 0) FROM events)'),
    };
  }

  /** Runs inside a write transaction; returns the events deleted. */
  run(params: Record<string, unknown>): number {
    const { takeOff, markOn, remove, markOff, lowerMark } = this.stmts;
    takeOff.run(params);
    markOn.run();
    const n = remove.run(params).changes;
    markOff.run();
    lowerMark.run();
    return n;
  }
}
