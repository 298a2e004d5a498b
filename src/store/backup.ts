/**
 * Online backup and restore of the hub's database.
 *
 * A backup is taken with SQLite's backup API while the daemon keeps writing: the copy holds one
 * read transaction from start to end (WAL: one consistent snapshot that never blocks the writer,
 * and no starting over when the daemon commits between steps), in small steps whose pages are
 * flushed to disk as they go. A copy that wrote its hundreds of megabytes unsynced and flushed
 * them at the end had the daemon's next commit wait behind that flush (the commit's own fsync
 * queues behind it), which held the cameras' PUBACKs up to ~90 ms. The copy holds the database
 * pages as they are stored, so every personal field in it stays sealed; the master key is not in
 * it. A restore only replaces the database once the backup has been checked against the data dir's
 * current key.
 */
import Database from 'better-sqlite3';
import { chmodSync, chownSync, closeSync, existsSync, fdatasyncSync, fsyncSync, linkSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { keyFingerprint, keyLocation, readKeyFile } from '../crypto/keys.js';
import { Sealer } from '../crypto/sealer.js';
import { loadSodium } from '../crypto/sodium.js';
import { DB_FILE_NAME, openDatabase, StoreError } from './database.js';
import { keyCheckStatus } from './vault.js';
import { setStoredKeyFingerprint, storedKeyFingerprint } from './key-fingerprint.js';
import { resealDatabase, retiredKeys } from './key-rotation.js';
import type { SealedSchema } from './sealed-columns.js';

export interface BackupProgress {
  totalPages: number;
  remainingPages: number;
}

export interface BackupOptions {
  /** Replace an existing file at the destination. */
  force?: boolean;
  onProgress?: (p: BackupProgress) => void;
  /** Pages copied (and then flushed to disk) per step. */
  pagesPerStep?: number;
}

export interface BackupResult {
  path: string;
  pages: number;
  bytes: number;
  /** Fingerprint of the master key the backup needs (also in `<file>.key-fingerprint`); null if the database records none yet. */
  keyFingerprint: string | null;
}

/** Beside each backup: the fingerprint of the key it needs (public; see crypto/keys.ts keyFingerprint). */
export const KEY_FINGERPRINT_SUFFIX = '.key-fingerprint';

/** 1 MiB of 4 KiB pages: what a camera's commit may have to wait behind at most. */
const DEFAULT_PAGES_PER_STEP = 256;
const SQLITE_SIDE_FILES = ['', '-wal', '-shm'];
export const BEFORE_RESTORE_SUFFIX = '.before-restore';

export async function backupDatabase(dataDir: string, destination: string, opts: BackupOptions = {}): Promise<BackupResult> {
  const source = join(dataDir, DB_FILE_NAME);
  if (!existsSync(source)) throw new StoreError(`no database at ${source}; nothing to back up (check --data-dir)`);
  const dest = resolve(destination);
  if (!existsSync(dirname(dest))) throw new StoreError(`the folder ${dirname(dest)} does not exist`);
  if (isSameOrSideFile(source, dest)) throw new StoreError('the backup cannot be written over the live database or its side files');
  if (existsSync(dest) && !opts.force) throw new StoreError(`${dest} already exists; pass --force to replace it`);

  // Written under a temporary name (mode 0600 from the start) and moved into place once checked,
  // so a failed or interrupted backup never leaves a half copy under the real name.
  const partial = join(dirname(dest), `.${basename(dest)}.partial-${process.pid}`);
  // Kept open to flush what each step wrote (any descriptor of the file flushes all of its pages).
  let partialFd: number | undefined;
  try {
    partialFd = openSync(partial, 'wx', 0o600);
  } catch (err) {
    throw new StoreError(`cannot write a backup in ${dirname(dest)} (${(err as NodeJS.ErrnoException).code ?? 'error'}); pick a folder this user can write`);
  }
  let src: Database.Database | undefined;
  try {
    src = new Database(source, { fileMustExist: true });
    src.pragma('busy_timeout = 5000');
    const step = Math.max(1, Math.floor(opts.pagesPerStep ?? DEFAULT_PAGES_PER_STEP));
    // The snapshot: a read transaction begun here stays open through every step (the backup API
    // only opens, and closes, its own when the source has none).
    src.exec('BEGIN');
    src.prepare('SELECT count(*) FROM sqlite_schema').get();
    const flushFd = partialFd;
    const done = await src.backup(partial, {
      progress: (p: BackupProgress) => {
        fdatasyncSync(flushFd);
        opts.onProgress?.(p);
        return step;
      },
    });
    // better-sqlite3 does not call back after the last step; report the finish so progress ends at 0.
    opts.onProgress?.({ totalPages: done.totalPages, remainingPages: 0 });
    src.exec('COMMIT');
    src.close();
    src = undefined;
    closeSync(partialFd);
    partialFd = undefined;
    const fingerprint = finishCopy(partial);
    fsyncFile(partial);
    if (opts.force) renameSync(partial, dest);
    else {
      // link() refuses to replace a file that appeared meanwhile; rename() would not.
      try {
        linkSync(partial, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreError(`${dest} already exists; pass --force to replace it`);
        throw err;
      }
      unlinkSync(partial);
    }
    if (fingerprint) writeFileSync(dest + KEY_FINGERPRINT_SUFFIX, `${fingerprint}\n`, { mode: 0o600 });
    else if (existsSync(dest + KEY_FINGERPRINT_SUFFIX)) unlinkSync(dest + KEY_FINGERPRINT_SUFFIX); // a replaced backup's
    fsyncDir(dirname(dest));
    return { path: dest, pages: done.totalPages, bytes: statSync(dest).size, keyFingerprint: fingerprint };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    // e.g. SQLITE_FULL or ENOSPC: the disk filled up; nothing was written under the real name.
    const code = (err as { code?: string }).code ?? (err as Error).name;
    throw new StoreError(`the backup failed (${code}); ${existsSync(dest) && !opts.force ? 'the existing file is unchanged' : 'no backup was written'}`);
  } finally {
    src?.close();
    if (partialFd !== undefined) closeSync(partialFd);
    for (const suffix of SQLITE_SIDE_FILES) {
      if (existsSync(partial + suffix)) unlinkSync(partial + suffix);
    }
  }
}

/** A self-contained single file (no WAL beside it) that passes SQLite's integrity check; returns the key fingerprint it records. */
function finishCopy(path: string): string | null {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new StoreError(`the backup failed SQLite's integrity check (${String(result)}); the live database may be damaged`);
    return storedKeyFingerprint(db);
  } finally {
    db.close();
  }
}

export interface RestoreOptions {
  env: Record<string, string | undefined>;
  /** What a backup sealed under a kept previous key is re-sealed through (see hub/catalog.ts). */
  schema: SealedSchema;
}

export interface RestoreResult {
  /** Where the database it replaced was kept, if there was one. */
  previous: string | null;
  /** Fingerprint of the current key, which the restored database is now sealed with. */
  keyFingerprint: string;
  /** The kept previous key the backup was sealed with, when it was re-sealed under the current key. */
  resealedFrom: { path: string; fingerprint: string } | null;
}

/**
 * Replaces the data dir's database with a backup. The caller must hold the daemon's pid lock.
 * Nothing is replaced unless the backup is intact, readable by this version and opens with the
 * data dir's current master key.
 */
export async function restoreDatabase(dataDir: string, backupFile: string, opts: RestoreOptions): Promise<RestoreResult> {
  const backup = resolve(backupFile);
  if (!existsSync(backup) || !statSync(backup).isFile()) throw new StoreError(`no backup file at ${backup}`);
  const live = join(dataDir, DB_FILE_NAME);
  if (isSameOrSideFile(live, backup)) throw new StoreError('that is the live database, not a backup');
  const previous = live + BEFORE_RESTORE_SUFFIX;
  if (existsSync(previous)) {
    throw new StoreError(`${previous} is left from an earlier restore; move it away (or delete it) first`);
  }
  const key = keyLocation(dataDir, opts.env);
  const sodium = await loadSodium();
  const current = sealerOf(sodium, key.path);
  const sealer = current.sealer;
  let resealedFrom: RestoreResult['resealedFrom'] = null;

  // Checked on a private copy inside the data dir (same file system, so the final step is a rename).
  const staged = join(dataDir, `.${DB_FILE_NAME}.restoring-${process.pid}`);
  try {
    copyPrivately(backup, staged);
    // Run as root (not through the admin command), the restored database still belongs to the data
    // dir's owner, so the service can open it.
    if (process.getuid?.() === 0) {
      const owner = statSync(dataDir);
      chownSync(staged, owner.uid, owner.gid);
    }
    // Applies any migrations a backup from an older version lacks; refuses one from a newer version.
    const db = openDatabase(staged, { mustExist: true });
    try {
      const integrity = db.pragma('integrity_check', { simple: true });
      if (integrity !== 'ok') throw new StoreError(`the backup is damaged (integrity check: ${String(integrity)}); nothing was replaced`);
      const status = keyCheckStatus(db, sealer);
      if (status === 'absent') throw new StoreError('the file is not a hearth database backup (no key check); nothing was replaced');
      if (status === 'mismatch') {
        // Sealed with a key an earlier rotation replaced: if it is kept, re-seal the copy under the current one.
        const needed = storedKeyFingerprint(db) ?? fingerprintBeside(backup);
        const candidates = [...new Set([...retiredKeys(key.path), ...retiredKeys(join(dataDir, basename(key.path)))])];
        const match = candidates.map((path) => ({ path, ...sealerOf(sodium, path) })).find((c) => keyCheckStatus(db, c.sealer) === 'ok');
        if (!match) {
          const which = needed ? `the master key with fingerprint ${needed}` : 'a different master key (the backup predates key fingerprints)';
          throw new StoreError(
            `the backup was sealed with ${which}; the current key ${key.path} has fingerprint ${current.fingerprint}` +
              (candidates.length > 0 ? ` and none of the kept previous keys (${candidates.map((c) => basename(c)).join(', ')}) matches` : '') +
              `. Put that key beside the current one as ${basename(key.path)}.until-<date> (mode 0600) and restore again (\`hearth key fingerprint --key FILE\` shows a key file's fingerprint). Nothing was replaced`,
          );
        }
        db.transaction(() => {
          resealDatabase(db, match.sealer, sealer, opts.schema);
        }).immediate();
        resealedFrom = { path: match.path, fingerprint: match.fingerprint };
      }
      setStoredKeyFingerprint(db, current.fingerprint);
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
    fsyncFile(staged);

    let kept: string | null = null;
    if (existsSync(live)) {
      checkpointQuietly(live);
      for (const suffix of SQLITE_SIDE_FILES) {
        if (existsSync(live + suffix)) renameSync(live + suffix, previous + suffix);
      }
      kept = previous;
    }
    renameSync(staged, live);
    fsyncDir(dataDir);
    return { previous: kept, keyFingerprint: current.fingerprint, resealedFrom };
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`restore failed: ${(err as Error).message}; nothing was replaced`);
  } finally {
    for (const suffix of SQLITE_SIDE_FILES) {
      if (existsSync(staged + suffix)) unlinkSync(staged + suffix);
    }
  }
}

function sealerOf(sodium: Awaited<ReturnType<typeof loadSodium>>, keyPath: string): { sealer: Sealer; fingerprint: string } {
  const master = readKeyFile(keyPath);
  try {
    return { sealer: new Sealer(sodium, master), fingerprint: keyFingerprint(sodium, master) };
  } finally {
    master.fill(0);
  }
}

/** The fingerprint written beside a backup, if it is there and looks like one. */
function fingerprintBeside(backup: string): string | null {
  try {
    const text = readFileSync(backup + KEY_FINGERPRINT_SUFFIX, 'utf8').trim();
    return /^[0-9a-f]{8}(-[0-9a-f]{8}){3}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

function copyPrivately(from: string, to: string): void {
  const src = new Database(from, { readonly: true, fileMustExist: true });
  try {
    // Through SQLite rather than a byte copy, so a file that is not a database is refused here.
    src.pragma('schema_version');
    src.exec(`VACUUM INTO '${to.replaceAll("'", "''")}'`);
    chmodSync(to, 0o600);
  } catch (err) {
    throw new StoreError(`${from} is not a readable SQLite database (${(err as Error).message}); nothing was replaced`);
  } finally {
    src.close();
  }
}

/** Folds a WAL left by an unclean stop into the old database before it is set aside. */
function checkpointQuietly(path: string): void {
  try {
    const db = new Database(path, { fileMustExist: true });
    try {
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  } catch {
    /* a damaged database is set aside as it is, side files included */
  }
}

function isSameOrSideFile(dbPath: string, other: string): boolean {
  const canonical = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      try {
        return join(realpathSync(dirname(p)), basename(p));
      } catch {
        return resolve(p);
      }
    }
  };
  const db = canonical(dbPath);
  const o = canonical(other);
  return SQLITE_SIDE_FILES.some((suffix) => o === db + suffix);
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  try {
    fsyncFile(path);
  } catch {
    /* not supported on every file system; the rename is still atomic */
  }
}
