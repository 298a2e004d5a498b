/**
 * The read side of the events table for the household's views: today's counts, a device's
 * timeline by filters, and all of a device's events for its export. Details stay sealed here; the
 * kind that sealed them opens them (CameraStore.openDetail).
 *
 * The timeline and the counts scan by receive time: the table is appended to in id order and has
 * no index by device (see event-totals.ts for why); a timeline filtered by type reads that type's
 * entries only (events_by_type_time).
 */
import type { Db } from './database.js';

/**
 * The lowest and highest event ids (0 and 0 when there are none). Two subqueries, because SQLite
 * answers a lone MIN or MAX of the key from the b-tree's ends but scans the whole table for both
 * in one SELECT (40–50 ms on a million events, on the event loop).
 */
export const EVENT_ID_BOUNDS_SQL = 'SELECT COALESCE((SELECT MIN(id) FROM events), 0) AS lo, COALESCE((SELECT MAX(id) FROM events), 0) AS hi';

/** One stored event as the store has it; `detail` still sealed. */
export interface StoredEvent {
  id: number;
  type: string;
  /** The device's own time. */
  ts: number;
  /** When the hub stored it. */
  receivedAt: number;
  detail: Buffer | null;
}

export interface TimelineFilter {
  /** Received at or after (ms since the epoch). */
  from: number;
  /** Received before (exclusive). */
  to: number;
  limit: number;
  /** Only events of this type. */
  type?: string;
}

interface EventRow {
  id: number;
  type: string;
  ts: number;
  received_at: number;
  detail: Buffer | null;
}

const toEvent = (r: EventRow): StoredEvent => ({ id: r.id, type: r.type, ts: r.ts, receivedAt: r.received_at, detail: r.detail });

export class EventLog {
  private readonly stmts;
  private readonly uncounted: string;

  /** `uncounted`: event types that are markers, not events (a camera's online/offline), left out of counts. */
  constructor(db: Db, uncounted: readonly string[] = []) {
    const timeline = 'SELECT id, type, ts, received_at, detail FROM events WHERE device_id = @id AND received_at >= @from AND received_at < @to';
    // json_each keeps one prepared statement for any number of excluded types.
    this.stmts = {
      countsSince: db.prepare('SELECT device_id, COUNT(*) AS n FROM events WHERE received_at >= @since AND type NOT IN (SELECT value FROM json_each(@uncounted)) GROUP BY device_id'),
      countOfTypeSince: db.prepare('SELECT COUNT(*) FROM events WHERE type = ? AND received_at >= ?').pluck(),
      timelineAll: db.prepare(`${timeline} ORDER BY received_at DESC, id DESC LIMIT @limit`),
      // Only that type's entries of events_by_type_time (migration 61), newest first.
      timelineOfType: db.prepare(
        'SELECT id, type, ts, received_at, detail FROM events INDEXED BY events_by_type_time WHERE type = @type AND received_at >= @from AND received_at < @to AND device_id = @id ORDER BY received_at DESC, id DESC LIMIT @limit',
      ),
      ofDevice: db.prepare('SELECT id, type, ts, received_at, detail FROM events WHERE device_id = ? ORDER BY id'),
      ofDeviceInRange: db.prepare('SELECT id, type, ts, received_at, detail FROM events WHERE id > ? AND id <= ? AND device_id = ? ORDER BY id'),
      idBounds: db.prepare(EVENT_ID_BOUNDS_SQL),
    };
    this.uncounted = JSON.stringify(uncounted);
  }

  /** Events per device received since a time, markers left out. */
  countsSince(since: number): Map<string, number> {
    return new Map((this.stmts.countsSince.all({ since, uncounted: this.uncounted }) as { device_id: string; n: number }[]).map((r) => [r.device_id, r.n]));
  }

  /** Events of one type (of every device) received since a time. */
  countOfTypeSince(type: string, since: number): number {
    return this.stmts.countOfTypeSince.get(type, since) as number;
  }

  /** A device's events by the filter, newest first. */
  timeline(deviceId: string, f: TimelineFilter): StoredEvent[] {
    const rows = (f.type ? this.stmts.timelineOfType.all({ id: deviceId, type: f.type, from: f.from, to: f.to, limit: f.limit }) : this.stmts.timelineAll.all({ id: deviceId, from: f.from, to: f.to, limit: f.limit })) as EventRow[];
    return rows.map(toEvent);
  }

  /**
   * Every event of a device, oldest first, a range of row ids at a time with the event loop's turn
   * between ranges: no statement scans the whole table (there is no index by device) and no more
   * than one range's rows are held. Each range is read whole (no statement stays open across a
   * yield, so checkpoints are never held up by the reader).
   */
  async *ofDeviceInSteps(deviceId: string, idsPerStep = 1_000): AsyncGenerator<StoredEvent[]> {
    const { lo, hi } = this.stmts.idBounds.get() as { lo: number; hi: number };
    for (let after = lo - 1; after < hi; after += idsPerStep) {
      const rows = this.stmts.ofDeviceInRange.all(after, Math.min(after + idsPerStep, hi), deviceId) as EventRow[];
      if (rows.length > 0) yield rows.map(toEvent);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Every event of a device, oldest first (one statement: for small databases and tests). */
  ofDevice(deviceId: string): StoredEvent[] {
    return (this.stmts.ofDevice.all(deviceId) as EventRow[]).map(toEvent);
  }
}
