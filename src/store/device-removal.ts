/**
 * Removing a device and everything stored about it without holding the event loop for a scan of
 * the whole events table.
 *
 * The events table has no index by device (event-totals.ts says why), so both a plain
 * `DELETE FROM events WHERE device_id = ?` and the foreign key's ON DELETE CASCADE from `devices`
 * scan every event in one statement: hundreds of milliseconds on a large database, while no camera
 * can commit. Instead the device's events are deleted range by range of row ids (each range a
 * short transaction, the loop gets its turn between them); then, in one transaction with foreign
 * key enforcement off (so SQLite does not scan events for children that are already gone), the
 * few events that arrived meanwhile (a short id range), the device's rows in every other table
 * that references `devices`, and the device itself go. secure_delete is on, as everywhere.
 */
import type { Db } from './database.js';
import { EVENT_ID_BOUNDS_SQL } from './event-log.js';
import { BulkEventDelete } from './event-totals.js';

export interface StepOptions {
  /** Row ids of the first step (one transaction); later steps are sized to take about stepMs. */
  idsPerStep?: number;
  /** Time one step should take: the range of ids grows or shrinks towards it (a busy camera's rows are dense, a quiet one's sparse). */
  stepMs?: number;
  /** How the event loop gets its turn between steps (setImmediate in the daemon, a short sleep in the CLI). */
  pause?: () => Promise<void>;
}

interface Reference {
  table: string;
  column: string;
  onDelete: string;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Every table column that references devices(id), as the schema declares it. */
export function referencesToDevices(db: Db): Reference[] {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  const out: Reference[] = [];
  for (const table of tables) {
    for (const fk of db.prepare('SELECT "table" AS parent, "from" AS col, on_delete FROM pragma_foreign_key_list(?)').all(table) as { parent: string; col: string; on_delete: string }[]) {
      if (fk.parent === 'devices') out.push({ table, column: fk.col, onDelete: fk.on_delete.toUpperCase() });
    }
  }
  return out;
}

/** How long a removal stays in device_removals (a daemon reads them within seconds). */
const REMOVALS_KEPT_MS = 7 * 86_400_000;

/** Removals written after `afterSeq` (by any process), oldest first. */
export function removalsSince(db: Db, afterSeq: number): { seq: number; deviceId: string; kind: string }[] {
  return db.prepare('SELECT seq, device_id AS deviceId, kind FROM device_removals WHERE seq > ? ORDER BY seq').all(afterSeq) as { seq: number; deviceId: string; kind: string }[];
}

/** The newest removal's sequence number (0 when none). */
export function lastRemovalSeq(db: Db): number {
  return db.prepare('SELECT COALESCE(MAX(seq), 0) FROM device_removals').pluck().get() as number;
}

/** Deletes the device and every row that belongs to it, in steps; false when there was no such device. */
export async function removeDeviceInSteps(db: Db, deviceId: string, opts: StepOptions = {}): Promise<boolean> {
  let step = opts.idsPerStep ?? 2_000;
  const stepMs = opts.stepMs ?? 8;
  const pause = opts.pause ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  const exists = db.prepare('SELECT 1 FROM devices WHERE id = ?').pluck();
  if (exists.get(deviceId) === undefined) return false;

  const bounds = db.prepare(EVENT_ID_BOUNDS_SQL).get() as { lo: number; hi: number };
  const deleteRange = new BulkEventDelete(db, 'id > @after AND id <= @through AND device_id = @device');
  let through = bounds.lo - 1;
  while (through < bounds.hi) {
    const to = Math.min(through + step, bounds.hi);
    const t0 = performance.now();
    db.transaction(() => deleteRange.run({ after: through, through: to, device: deviceId })).immediate();
    const took = performance.now() - t0;
    through = to;
    if (took < stepMs / 2) step = Math.min(step * 2, 100_000);
    else if (took > stepMs * 1.5) step = Math.max(Math.floor(step / 2), 50);
    await pause();
  }

  const refs = referencesToDevices(db).filter((r) => r.table !== 'events');
  // PRAGMA foreign_keys is a no-op inside a transaction: switched off around it, back on in any case.
  db.pragma('foreign_keys = OFF');
  try {
    return db
      .transaction(() => {
        new BulkEventDelete(db, 'id > @after AND device_id = @device').run({ after: through, device: deviceId });
        for (const r of refs) {
          if (r.onDelete === 'SET NULL') db.prepare(`UPDATE ${quote(r.table)} SET ${quote(r.column)} = NULL WHERE ${quote(r.column)} = ?`).run(deviceId);
          else db.prepare(`DELETE FROM ${quote(r.table)} WHERE ${quote(r.column)} = ?`).run(deviceId);
        }
        const kind = db.prepare('SELECT kind FROM devices WHERE id = ?').pluck().get(deviceId) as string | undefined;
        if (kind === undefined) return false;
        // Told to a running daemon, whichever process removes it (devices/service.ts).
        const now = Date.now();
        db.prepare('INSERT INTO device_removals (device_id, kind, removed_at) VALUES (?, ?, ?)').run(deviceId, kind, now);
        db.prepare('DELETE FROM device_removals WHERE removed_at < ?').run(now - REMOVALS_KEPT_MS);
        return db.prepare('DELETE FROM devices WHERE id = ?').run(deviceId).changes > 0;
      })
      .immediate();
  } finally {
    db.pragma('foreign_keys = ON');
  }
}
