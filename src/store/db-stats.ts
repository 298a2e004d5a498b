/**
 * What the database holds and how big it is, for `hearth db stats` and the settings page: the file
 * and its WAL, rows per table, the oldest event, bytes per event, free space on the file system
 * and the last purge. Cheap on a large database: the events are counted from their totals
 * (event-totals.ts) plus the unfolded tail, never by a scan of the table; the other tables are
 * small.
 */
import { statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DB_FILE_NAME, type Db } from './database.js';
import { Retention, type PurgeReport } from './retention.js';

export interface DbStats {
  databaseBytes: number;
  walBytes: number;
  /** Pages SQLite keeps free inside the file (reused by later writes). */
  freePages: number;
  pageSize: number;
  rows: Record<string, number>;
  /** Receive time of the oldest raw event kept (ms), or null. */
  oldestEventAt: number | null;
  /** The file's used bytes per stored event (all tables included), or null without events. */
  bytesPerEvent: number | null;
  /** Free bytes on the data dir's file system for an unprivileged writer, or null when unknown. */
  diskFreeBytes: number | null;
  lastPurge: PurgeReport | null;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Free bytes on the file system holding `dir`, or null when it cannot be asked. */
export function diskFreeBytes(dir: string): number | null {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}

export function databaseStats(db: Db, dataDir: string): DbStats {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[];
  const rows: Record<string, number> = {};
  for (const t of tables) {
    if (t === 'events') continue;
    rows[t] = db.prepare(`SELECT COUNT(*) FROM "${t.replaceAll('"', '""')}"`).pluck().get() as number;
  }
  // The totals count every event up to the mark (delete triggers keep them right); the tail after it is a short rowid range.
  rows.events = db
    .prepare('SELECT (SELECT COALESCE(SUM(n), 0) FROM event_totals) + (SELECT COUNT(*) FROM events WHERE id > (SELECT id FROM event_totals_through))')
    .pluck()
    .get() as number;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pageCount = db.pragma('page_count', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  const oldestEventAt = (db.prepare('SELECT MIN(received_at) FROM events').pluck().get() as number | null) ?? null;
  const file = join(dataDir, DB_FILE_NAME);
  return {
    databaseBytes: fileSize(file),
    walBytes: fileSize(`${file}-wal`),
    freePages,
    pageSize,
    rows,
    oldestEventAt,
    bytesPerEvent: rows.events > 0 ? Math.round(((pageCount - freePages) * pageSize) / rows.events) : null,
    diskFreeBytes: diskFreeBytes(dataDir),
    lastPurge: new Retention(db).lastPurge(),
  };
}
