/**
 * The household's admin password for the web UI. Only its Argon2id hash is kept, in the meta
 * table. A hub without one makes a random one at first start and prints it once.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../store/database.js';
import { META_KEYS, MetaStore } from '../../store/meta.js';
export const MIN_ADMIN_PASSWORD_CHARS = 10;
export const MAX_ADMIN_PASSWORD_CHARS = 256;

export function readAdminHash(db: Db): string | undefined {
  const v = new MetaStore(db).read(META_KEYS.adminPasswordHash);
  return v ? v.toString('utf8') : undefined;
}

export function writeAdminHash(db: Db, hash: string): void {
  new MetaStore(db).write(META_KEYS.adminPasswordHash, Buffer.from(hash, 'utf8'));
}

/** Returns a reason when a chosen password is unusable. */
export function adminPasswordProblem(password: string): string | undefined {
  if ([...password].length < MIN_ADMIN_PASSWORD_CHARS) return `the password must have at least ${MIN_ADMIN_PASSWORD_CHARS} characters`;
  if (password.length > MAX_ADMIN_PASSWORD_CHARS) return `the password must have at most ${MAX_ADMIN_PASSWORD_CHARS} characters`;
  return undefined;
}

/**
 * Under systemd the hub's stdout goes to the journal, which keeps it and which more users may
 * read than the hub's own: the first admin password goes to this file in the data dir instead
 * (mode 0600), and the journal only says where. It is deleted once the password is changed.
 */
export const FIRST_ADMIN_PASSWORD_FILE = 'first-admin-password';

/** Writes the first admin password to its file (0600, complete or not at all); returns the path. */
export function writeFirstAdminPasswordFile(dataDir: string, password: string): string {
  const path = join(dataDir, FIRST_ADMIN_PASSWORD_FILE);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${password}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return path;
}

/** Deletes the first admin password's file, if any (the password was changed). */
export function removeFirstAdminPasswordFile(dataDir: string): void {
  rmSync(join(dataDir, FIRST_ADMIN_PASSWORD_FILE), { force: true });
}

/** Whether this process runs as a systemd service (its stdout then goes to the journal). */
export function underSystemd(env: Record<string, string | undefined>): boolean {
  return Boolean(env.INVOCATION_ID || env.JOURNAL_STREAM);
}

/** A one-time password: 16 random bytes, easy to type from a terminal (groups of base32). */
export function generateAdminPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => alphabet[b % 32]).join('');
  return chars.match(/.{5}/g)!.join('-');
}
