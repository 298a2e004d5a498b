/**
 * `hearth key rotate`: re-seal every sealed value under a new master key, so the new key opens
 * everything. Crash-safe at every point:
 *
 *  0. the key in use is kept as `<key>.until-<UTC time>` (mode 0600, fsynced): backups taken
 *     before the rotation are sealed with it, and `hearth restore` finds it there by itself;
 *  1. the new key is written to `<key>.new` (mode 0600, fsynced);
 *  2. every sealed column, every blind index derived from the key, the key check and the stored
 *     key fingerprint are rewritten in ONE transaction;
 *  3. `<key>.new` is renamed over the key file (atomic).
 *
 * Killed before 2 commits: the database still matches the old key and the stale `.new` is
 * discarded on the next open (a kept copy of the still-current key may remain: harmless). Killed
 * between 2 and 3: the database matches `.new`, and the next open finishes the rename (see
 * completePendingRotation).
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createKeyFile, keyFileFingerprint, keyFingerprint, readKeyFile, KeyError } from '../crypto/keys.js';
import { Sealer, SealError } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Db } from './database.js';
import { setStoredKeyFingerprint } from './key-fingerprint.js';
import { truncateWalBlocking } from './scrub.js';
import type { SealedColumn, SealedSchema } from './sealed-columns.js';

export const PENDING_KEY_SUFFIX = '.new';
/** A key that was replaced by a rotation: `<key file>.until-<UTC time of the rotation>`. */
export const RETIRED_KEY_INFIX = '.until-';
const ROTATION_PAGE = 1000;

export interface RotationProgress {
  table: string;
  column: string;
  done: number;
  total: number;
}

export interface ResealResult {
  resealed: number;
  perColumn: Record<string, number>;
  /** Blind indexes recomputed under the new key. */
  reindexed: number;
}

export interface RotationResult extends ResealResult {
  /** Where the replaced key is kept (mode 0600), for backups taken before the rotation. */
  previousKeyPath: string;
  previousFingerprint: string;
  fingerprint: string;
}

/** Re-seals everything under a fresh key; `keyPath` is the key file in use. */
export function rotateKey(
  db: Db,
  sodium: SodiumApi,
  oldSealer: Sealer,
  keyPath: string,
  onProgress: (p: RotationProgress) => void,
  /** Everything sealed or keyed by the master key (see hub/catalog.ts). */
  schema: SealedSchema,
  now: Date = new Date(),
): RotationResult {
  const pendingPath = keyPath + PENDING_KEY_SUFFIX;
  if (existsSync(pendingPath)) unlinkSync(pendingPath); // left by an earlier attempt that did not commit
  const previousFingerprint = keyFileFingerprint(sodium, keyPath);
  const previousKeyPath = keepPreviousKey(keyPath, now);
  let fingerprint: string;
  let result: ResealResult;
  try {
    createKeyFile(pendingPath);
    const newKey = readKeyFile(pendingPath);
    const newSealer = new Sealer(sodium, newKey);
    fingerprint = keyFingerprint(sodium, newKey);
    newKey.fill(0);
    result = db
      .transaction(() => {
        const r = resealDatabase(db, oldSealer, newSealer, schema, onProgress);
        setStoredKeyFingerprint(db, fingerprint);
        return r;
      })
      .immediate();
  } catch (err) {
    // Nothing committed: the kept copy is of the key still in use, so it is not needed.
    if (existsSync(pendingPath)) unlinkSync(pendingPath);
    unlinkSync(previousKeyPath);
    throw err;
  }
  renameSync(pendingPath, keyPath);
  fsyncDir(dirname(keyPath));
  // secure_delete overwrote the old ciphertexts in place as they were replaced; the old page
  // images still in the WAL go with a truncating checkpoint (test/key-rotation-residue.test.ts).
  truncateWalBlocking(db);
  return { ...result, previousKeyPath, previousFingerprint, fingerprint };
}

/**
 * Re-seals every sealed value from `from` to `to` and recomputes the blind indexes under `to`.
 * The caller runs it inside a transaction (rotation: the live database; restore: a staged copy).
 */
/** Opens a column's value with its current associated data, or its legacy one (see SealedColumn.legacyAad). */
function openWithLegacy(sealer: Sealer, col: SealedColumn, row: Record<string, unknown>, aad: string): Buffer {
  try {
    return sealer.open(col.purpose, aad, row.sealed as Buffer);
  } catch (err) {
    if (!col.legacyAad) throw err;
    return sealer.open(col.purpose, col.legacyAad(row), row.sealed as Buffer);
  }
}

export function resealDatabase(
  db: Db,
  from: Sealer,
  to: Sealer,
  schema: SealedSchema,
  onProgress: (p: RotationProgress) => void = () => {},
): ResealResult {
  const perColumn: Record<string, number> = {};
  let resealed = 0;
  for (const col of schema.columns) {
    const where = [`${col.column} IS NOT NULL`, ...(col.where ? [col.where] : [])].join(' AND ');
    const keys = col.keyColumns.join(', ');
    const total = db.prepare(`SELECT COUNT(*) FROM ${col.table} WHERE ${where}`).pluck().get() as number;
    // Pages by rowid: a statement cannot update rows while another is iterating over them.
    const page = db.prepare(`SELECT rowid AS _rowid, ${keys}, ${col.column} AS sealed FROM ${col.table} WHERE ${where} AND rowid > ? ORDER BY rowid LIMIT ${ROTATION_PAGE}`);
    const update = db.prepare(`UPDATE ${col.table} SET ${col.column} = ? WHERE rowid = ?`);
    let done = 0;
    const step = Math.max(1, Math.floor(total / 20));
    for (let last = -Infinity; ; ) {
      const rows = page.all(last) as Record<string, unknown>[];
      if (rows.length === 0) break;
      for (const row of rows) {
        const aad = col.aad(row);
        const plain = openWithLegacy(from, col, row, aad);
        update.run(to.seal(col.purpose, aad, plain), row._rowid);
        plain.fill(0);
        done++;
        if (done % step === 0 || done === total) onProgress({ table: col.table, column: col.column, done, total });
      }
      last = rows[rows.length - 1]!._rowid as number;
    }
    perColumn[`${col.table}.${col.column}`] = done;
    resealed += done;
  }
  // Few rows (members, scales): read whole, then update.
  let reindexed = 0;
  const blind = (purpose: Parameters<Sealer['blindIndex']>[0], value: string) => to.blindIndex(purpose, value);
  for (const ix of schema.indexes) {
    const rows = db.prepare(ix.select).all() as { k: string; sealed: Buffer }[];
    const update = db.prepare(ix.update);
    for (const row of rows) {
      const aad = ix.sealed.aad({ [ix.sealed.keyColumns[0]!]: row.k });
      update.run(ix.index(to.openString(ix.sealed.purpose, aad, row.sealed), blind), row.k);
      reindexed++;
    }
  }
  return { resealed, perColumn, reindexed };
}

/** Copies the key in use to `<key>.until-<UTC time>` (mode 0600, fsynced) and returns its path. */
function keepPreviousKey(keyPath: string, now: Date): string {
  const stamp = now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const key = readKeyFile(keyPath);
  try {
    for (let n = 1; ; n++) {
      const path = `${keyPath}${RETIRED_KEY_INFIX}${stamp}${n > 1 ? `-${n}` : ''}`;
      let fd: number;
      try {
        fd = openSync(path, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 100) continue;
        throw err;
      }
      try {
        writeSync(fd, key);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      fsyncDir(dirname(keyPath));
      return path;
    }
  } finally {
    key.fill(0);
  }
}

/** The keys earlier rotations kept beside `keyPath`, newest first. */
export function retiredKeys(keyPath: string): string[] {
  const dir = dirname(keyPath);
  const prefix = basename(keyPath) + RETIRED_KEY_INFIX;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .sort()
    .reverse()
    .map((n) => join(dir, n));
}

/**
 * Called when the key in use fails the key check: if a pending new key from an interrupted
 * rotation opens the database, the rotation had committed; finish it. Returns true if it did.
 */
export function completePendingRotation(sodium: SodiumApi, keyPath: string, opensKeyCheck: (s: Sealer) => boolean): boolean {
  const pendingPath = keyPath + PENDING_KEY_SUFFIX;
  if (!existsSync(pendingPath)) return false;
  let pending: Buffer;
  try {
    pending = readKeyFile(pendingPath);
  } catch (err) {
    if (err instanceof KeyError) return false;
    throw err;
  }
  const sealer = new Sealer(sodium, pending);
  pending.fill(0);
  let opens = false;
  try {
    opens = opensKeyCheck(sealer);
  } catch (err) {
    if (!(err instanceof SealError)) throw err;
  }
  if (!opens) return false;
  renameSync(pendingPath, keyPath);
  fsyncDir(dirname(keyPath));
  return true;
}

/** A `.new` key next to a key that still opens the database is from a rotation that never committed. */
export function discardStalePendingKey(keyPath: string): void {
  const pendingPath = keyPath + PENDING_KEY_SUFFIX;
  if (existsSync(pendingPath)) unlinkSync(pendingPath);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
