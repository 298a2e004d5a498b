/**
 * What was deleted is gone from the file, not only from the table. Every connection runs with
 * secure_delete on (database.ts), so SQLite overwrites deleted cells and freed pages with zeros
 * as it deletes; what is left are the older copies of those pages in the write-ahead log, which a
 * TRUNCATE checkpoint copies back and removes. That is cheap (no VACUUM rewriting the whole file
 * on the event loop). A checkpoint cannot finish while another connection reads an older
 * snapshot; then it is tried again.
 */
import type { Db } from './database.js';
import { MetaStore } from './meta.js';

/** Checkpoints and truncates the WAL; true when nothing of it is left. */
export function truncateWal(db: Db): boolean {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number; checkpointed: number }[];
  return result !== undefined && result.busy === 0;
}

/** Truncates the WAL now, waiting (blocking) up to `waitMs` for readers: for short-lived processes. */
export function truncateWalBlocking(db: Db, waitMs = 3000): boolean {
  const until = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    if (truncateWal(db)) return true;
    if (Date.now() >= until) return false;
    Atomics.wait(pause, 0, 0, 50);
  }
}

/**
 * Truncates the WAL now or, while another connection reads, again shortly after, without blocking
 * the event loop; `done` says whether it finished. For the daemon.
 */
export function truncateWalSoon(db: Db, done: (ok: boolean) => void = () => {}, tries = 20, intervalMs = 250): void {
  if (truncateWal(db)) return done(true);
  if (tries <= 1) return done(false);
  const timer = setTimeout(() => {
    try {
      truncateWalSoon(db, done, tries - 1, intervalMs);
    } catch {
      done(false);
    }
  }, intervalMs);
  timer.unref();
}

const FREE_PAGES_SCRUBBED = 'free_pages_scrubbed';

/**
 * Once per database, before the daemon serves: pages freed before secure_delete was on may still
 * hold deleted values; one VACUUM rewrites the file without them (later deletions zero as they go).
 * Returns whether it ran.
 */
export function scrubOldFreePagesOnce(db: Db): boolean {
  const meta = new MetaStore(db);
  if (meta.read(FREE_PAGES_SCRUBBED)) return false;
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free > 0) {
    db.exec('VACUUM');
    truncateWal(db);
  }
  meta.write(FREE_PAGES_SCRUBBED, Buffer.from('1'));
  return free > 0;
}
