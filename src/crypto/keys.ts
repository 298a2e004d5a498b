/**
 * The master key: 32 random bytes in `<dataDir>/hearth.key` (mode 0600), or, under systemd,
 * `$CREDENTIALS_DIRECTORY/hearth.key` from LoadCredential=, which wins over the file.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { SodiumApi } from './sodium.js';

export const KEY_FILE_NAME = 'hearth.key';
export const MASTER_KEY_BYTES = 32;

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

export interface KeyLocation {
  path: string;
  source: 'credential' | 'file';
}

export function keyLocation(dataDir: string, env: Record<string, string | undefined> = {}): KeyLocation {
  const credDir = env.CREDENTIALS_DIRECTORY;
  if (credDir && existsSync(join(credDir, KEY_FILE_NAME))) {
    return { path: join(credDir, KEY_FILE_NAME), source: 'credential' };
  }
  return { path: join(dataDir, KEY_FILE_NAME), source: 'file' };
}

/** Create a fresh key file. Refuses to replace an existing key: losing it loses every sealed field. */
export function createKeyFile(path: string): void {
  if (existsSync(path)) throw new KeyError(`a key already exists at ${path}; refusing to overwrite it`);
  const key = randomBytes(MASTER_KEY_BYTES);
  // 'wx' fails if the file appeared in between; mode 0600 from the first byte on.
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  key.fill(0);
}

export function readKeyFile(path: string): Buffer {
  if (!existsSync(path)) throw new KeyError(`no master key at ${path}; run \`hearth init\` first`);
  const st = statSync(path);
  if (!st.isFile()) throw new KeyError(`master key at ${path} is not a regular file`);
  if (st.size !== MASTER_KEY_BYTES) {
    throw new KeyError(`master key at ${path} has ${st.size} bytes, expected ${MASTER_KEY_BYTES}; it is damaged or not a hearth key`);
  }
  return readFileSync(path);
}

/**
 * A key file in the data dir must be readable by its owner alone, and that owner must be the user
 * running hearth (or root): a key others can read is a key others may have copied, and a key owned
 * by another user can be replaced by them. Refuses with the command that fixes it. (A key handed
 * over by systemd's LoadCredential= is systemd's business and is not checked here.)
 */
export function assertKeyFilePrivate(path: string, uid: number | undefined = process.getuid?.()): void {
  const st = statSync(path);
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) {
    throw new KeyError(`the master key at ${path} belongs to another user (uid ${st.uid}, hearth runs as uid ${uid}); refusing to use it. If it is yours: chown ${uid} ${path}`);
  }
  if ((st.mode & 0o077) !== 0) {
    throw new KeyError(`the master key at ${path} can be read or changed by other users (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); refusing to use it. Fix: chmod 600 ${path}`);
  }
}

/** Domain of the fingerprint hash: a fingerprint is never any other hash of the key. */
const FINGERPRINT_DOMAIN = 'hearth master key fingerprint v1';

/**
 * A short public name for a master key (BLAKE2b-128 keyed by the key, over a fixed string), shown
 * to say which key a database or backup needs. It reveals nothing usable about the key.
 */
export function keyFingerprint(sodium: SodiumApi, key: Uint8Array): string {
  const hex = Buffer.from(sodium.crypto_generichash(16, FINGERPRINT_DOMAIN, key)).toString('hex');
  return hex.match(/.{8}/g)!.join('-');
}

/** The fingerprint of the key in a file. */
export function keyFileFingerprint(sodium: SodiumApi, path: string): string {
  const key = readKeyFile(path);
  try {
    return keyFingerprint(sodium, key);
  } finally {
    key.fill(0);
  }
}
