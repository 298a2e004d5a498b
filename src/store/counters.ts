/**
 * Durable operational counters (refused inputs, auth failures...). Increments are kept in memory
 * and written in the same transaction as the next ingest batch (or on flush), so counting costs
 * no extra write on the hot path.
 */
import type { Db } from './database.js';

/** A device's last refused input: the hub's reason code, when (Unix ms), and how many so far. */
export interface DeviceRefusal {
  reason: string;
  at: number;
  count: number;
}

/** Refused logins of an enrolled device: the broker counts them, the metrics read them. */
export const DEVICE_AUTH_FAILED_PREFIX = 'device.auth_failed:';

export function deviceAuthFailedCounter(deviceId: string): string {
  return `${DEVICE_AUTH_FAILED_PREFIX}${deviceId}`;
}

/** Removes the counters kept under a device's id (its forget transaction calls this). */
export function deleteDeviceCounters(db: Db, deviceId: string): void {
  db.prepare('DELETE FROM counters WHERE name = ?').run(deviceAuthFailedCounter(deviceId));
}

export class Counters {
  private readonly deltas = new Map<string, number>();
  /** Refusals per device since the last write: the latest reason and time, and how many. */
  private readonly refusals = new Map<string, DeviceRefusal>();
  private written = 0;
  private readonly upsert;
  private readonly readAll;
  private readonly upsertRefusal;
  private readonly readRefusal;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value');
    this.readAll = db.prepare('SELECT name, value FROM counters');
    // Only for a device that still exists (the CLI may have removed it meanwhile).
    this.upsertRefusal = db.prepare(
      `INSERT INTO device_refusals (device_id, reason, at, count) SELECT @id, @reason, @at, @count WHERE EXISTS (SELECT 1 FROM devices WHERE id = @id)
       ON CONFLICT(device_id) DO UPDATE SET reason = excluded.reason, at = excluded.at, count = count + excluded.count`,
    );
    this.readRefusal = db.prepare('SELECT reason, at, count FROM device_refusals WHERE device_id = ?');
  }

  increment(name: string, by = 1): void {
    this.deltas.set(name, (this.deltas.get(name) ?? 0) + by);
  }

  /**
   * Notes that an input of an enrolled device was refused, for the household to see; written with
   * the counters, so a flood of refusals costs no write of its own. `reason` is a fixed code.
   */
  noteRefusal(deviceId: string, reason: string, at: number): void {
    const pending = this.refusals.get(deviceId);
    if (pending) {
      pending.reason = reason;
      pending.at = at;
      pending.count++;
    } else this.refusals.set(deviceId, { reason, at, count: 1 });
  }

  /** The device's last refusal, stored or pending; null if it never had one. */
  lastRefusal(deviceId: string): DeviceRefusal | null {
    const stored = readDeviceRefusal(this.readRefusal, deviceId);
    const pending = this.refusals.get(deviceId);
    if (!pending) return stored;
    return { reason: pending.reason, at: pending.at, count: pending.count + (stored?.count ?? 0) };
  }

  /**
   * Writes pending increments inside the caller's transaction. They are forgotten only when
   * `committed()` is called, so a rolled-back batch does not lose counts.
   */
  writePending(): void {
    for (const [name, value] of this.deltas) this.upsert.run(name, value);
    for (const [id, r] of this.refusals) this.upsertRefusal.run({ id, reason: r.reason, at: r.at, count: r.count });
    this.written = this.deltas.size + this.refusals.size;
  }

  /** The transaction holding the last writePending() committed. */
  committed(): void {
    if (this.written > 0) {
      this.deltas.clear();
      this.refusals.clear();
    }
    this.written = 0;
  }

  /** Writes pending increments in a transaction of their own; a failure keeps them for later. */
  flush(): void {
    if (this.deltas.size === 0 && this.refusals.size === 0) return;
    this.db.transaction(() => this.writePending())();
    this.committed();
  }

  /** Stored values plus what is not written yet. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.readAll.all() as { name: string; value: number }[]) out[row.name] = row.value;
    for (const [name, value] of this.deltas) out[name] = (out[name] ?? 0) + value;
    return out;
  }
}

/** A device's stored last refusal (for readers without the daemon's pending ones: the CLI). */
export function storedDeviceRefusal(db: Db, deviceId: string): DeviceRefusal | null {
  return readDeviceRefusal(db.prepare('SELECT reason, at, count FROM device_refusals WHERE device_id = ?'), deviceId);
}

function readDeviceRefusal(stmt: { get(id: string): unknown }, deviceId: string): DeviceRefusal | null {
  const row = stmt.get(deviceId) as DeviceRefusal | undefined;
  return row ? { reason: row.reason, at: row.at, count: row.count } : null;
}
