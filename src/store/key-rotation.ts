/**
 * `hearth key rotate`: re-seal every sealed value under a new master key, so the old key opens
 * nothing any more. Crash-safe at every point:
 *
 *  1. the new key is written to `<key>.new` (mode 0600, fsynced);
 *  2. every sealed column and the key check are re-sealed in ONE transaction;
 *  3. `<key>.new` is renamed over the key file (atomic).
 *
 * Killed before 2 commits: the database still matches the old key and the stale `.new` is
 * discarded on the next open. Killed between 2 and 3: the database matches `.new`, and the next
 * open finishes the rename (see completePendingRotation).
 */
import { existsSync, openSync, fsyncSync, closeSync, renameSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { createKeyFile, readKeyFile, KeyError } from '../crypto/keys.js';
import { Sealer, SealError } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Db } from './database.js';
import type { SealedColumn } from './sealed-columns.js';

export const PENDING_KEY_SUFFIX = '.new';
const ROTATION_PAGE = 1000;

export interface RotationProgress {
  table: string;
  column: string;
  done: number;
  total: number;
}

export interface RotationResult {
  resealed: number;
  perColumn: Record<string, number>;
}

/** Re-seals everything under a fresh key; `keyPath` is the key file in use. */
export function rotateKey(
  db: Db,
  sodium: SodiumApi,
  oldSealer: Sealer,
  keyPath: string,
  onProgress: (p: RotationProgress) => void,
  /** Every sealed column (see hub/catalog.ts). */
  columns: readonly SealedColumn[],
): RotationResult {
  const pendingPath = keyPath + PENDING_KEY_SUFFIX;
  if (existsSync(pendingPath)) unlinkSync(pendingPath); // left by an earlier attempt that did not commit
  createKeyFile(pendingPath);
  const newKey = readKeyFile(pendingPath);
  const newSealer = new Sealer(sodium, newKey);
  newKey.fill(0);

  const perColumn: Record<string, number> = {};
  let resealed = 0;
  db.transaction(() => {
    for (const col of columns) {
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
          const plain = oldSealer.open(col.purpose, aad, row.sealed as Buffer);
          update.run(newSealer.seal(col.purpose, aad, plain), row._rowid);
          plain.fill(0);
          done++;
          if (done % step === 0 || done === total) onProgress({ table: col.table, column: col.column, done, total });
        }
        last = rows[rows.length - 1]!._rowid as number;
      }
      perColumn[`${col.table}.${col.column}`] = done;
      resealed += done;
    }
  }).immediate();

  renameSync(pendingPath, keyPath);
  fsyncDir(dirname(keyPath));
  return { resealed, perColumn };
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
