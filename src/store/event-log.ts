/**
 * The read side of the events table for the household's views: today's counts, a device's
 * timeline by filters, and all of a device's events for its export. Details stay sealed here; the
 * kind that sealed them opens them (CameraStore.openDetail).
 *
 * The timeline and the counts scan by receive time: the table is appended to in id order and has
 * no index by device (see event-totals.ts for why).
 */
import type { Db } from './database.js';

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
      timelineOfType: db.prepare(`${timeline} AND type = @type ORDER BY received_at DESC, id DESC LIMIT @limit`),
      ofDevice: db.prepare('SELECT id, type, ts, received_at, detail FROM events WHERE device_id = ? ORDER BY id'),
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

  /** Every event of a device, oldest first (its export). */
  ofDevice(deviceId: string): StoredEvent[] {
    return (this.stmts.ofDevice.all(deviceId) as EventRow[]).map(toEvent);
  }
}
