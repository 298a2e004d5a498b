/**
 * The vault: the data dir's master key and database opened together, with a key check so that a
 * wrong key is refused before anything is read or written.
 */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assertKeyFilePrivate, createKeyFile, keyFingerprint, keyLocation, readKeyFile, KeyError, type KeyLocation } from '../crypto/keys.js';
import { Sealer, SealError } from '../crypto/sealer.js';
import { loadSodium, type SodiumApi } from '../crypto/sodium.js';
import { DB_FILE_NAME, openDatabase, StoreError, type Db } from './database.js';
import { META_KEYS, MetaStore } from './meta.js';
import { KEY_CHECK } from './sealed-columns.js';
import { completePendingRotation, discardStalePendingKey } from './key-rotation.js';
import { setStoredKeyFingerprint, storedKeyFingerprint } from './key-fingerprint.js';

export interface Vault {
  db: Db;
  sealer: Sealer;
  sodium: SodiumApi;
  dataDir: string;
  key: KeyLocation;
  /** The master key's public fingerprint (also stored in the database, so backups carry it). */
  keyFingerprint: string;
  close(): void;
}

export interface OpenVaultOptions {
  /** Create the data dir, key and database when they are missing (init, start). */
  create?: boolean;
}

const KEY_CHECK_TEXT = 'hearth key check v1';

export async function openVault(dataDir: string, env: Record<string, string | undefined>, opts: OpenVaultOptions = {}): Promise<Vault> {
  const sodium = await loadSodium();
  const dbPath = join(dataDir, DB_FILE_NAME);
  if (opts.create) ensureDataDir(dataDir);
  else if (!existsSync(dbPath)) throw new StoreError(`no hub in ${dataDir} (no ${DB_FILE_NAME}); run \`hearth init\` or pass the right --data-dir`);

  let key = keyLocation(dataDir, env);
  if (!existsSync(key.path)) {
    if (!opts.create) throw new KeyError(`no master key at ${key.path}`);
    // A database without its key is unreadable: never mint a new key next to an existing database.
    if (existsSync(dbPath)) throw new KeyError(`the master key for ${dbPath} is missing (${key.path}); restore it from your backup`);
    createKeyFile(key.path);
    key = keyLocation(dataDir, env);
  }
  if (key.source === 'file') assertKeyFilePrivate(key.path);
  let { sealer, fingerprint } = sealerFromFile(sodium, key.path);
  const db = openDatabase(dbPath, { mustExist: !opts.create });
  try {
    const status = keyCheckStatus(db, sealer);
    if (status === 'absent') {
      new MetaStore(db).insert(META_KEYS.keyCheck, sealer.seal(KEY_CHECK.purpose, KEY_CHECK.aad({}), KEY_CHECK_TEXT));
    } else if (status === 'mismatch') {
      // Perhaps a key rotation committed and was killed before it could swap the key files.
      if (!completePendingRotation(sodium, key.path, (candidate) => keyCheckStatus(db, candidate) === 'ok')) {
        throw new KeyError('the master key does not match this database (wrong key file or credential); nothing was changed');
      }
      ({ sealer, fingerprint } = sealerFromFile(sodium, key.path));
    } else if (key.source === 'file') {
      discardStalePendingKey(key.path);
    }
    // Databases from before fingerprints were kept learn theirs here, so their backups carry it.
    if (storedKeyFingerprint(db) !== fingerprint) setStoredKeyFingerprint(db, fingerprint);
  } catch (err) {
    db.close();
    throw err;
  }
  return { db, sealer, sodium, dataDir, key, keyFingerprint: fingerprint, close: () => db.close() };
}

function sealerFromFile(sodium: SodiumApi, path: string): { sealer: Sealer; fingerprint: string } {
  const master = readKeyFile(path);
  try {
    return { sealer: new Sealer(sodium, master), fingerprint: keyFingerprint(sodium, master) };
  } finally {
    master.fill(0);
  }
}

function ensureDataDir(dataDir: string): void {
  if (!existsSync(dataDir)) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  else if (!statSync(dataDir).isDirectory()) throw new StoreError(`${dataDir} exists and is not a directory`);
  else if ((statSync(dataDir).mode & 0o077) !== 0) {
    // Tighten a data dir others could read; it holds sealed data but also the key by default.
    try {
      chmodSync(dataDir, 0o700);
    } catch {
      /* not ours to change (e.g. a systemd StateDirectory); systemd sets its mode itself */
    }
  }
}

/** Whether `sealer` opens the database's sealed key-check marker. */
export function keyCheckStatus(db: Db, sealer: Sealer): 'ok' | 'absent' | 'mismatch' {
  const value = new MetaStore(db).read(META_KEYS.keyCheck);
  if (!value) return 'absent';
  try {
    return sealer.openString(KEY_CHECK.purpose, KEY_CHECK.aad({}), value) === KEY_CHECK_TEXT ? 'ok' : 'mismatch';
  } catch (err) {
    if (err instanceof SealError) return 'mismatch';
    throw err;
  }
}
