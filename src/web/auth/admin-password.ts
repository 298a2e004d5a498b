/**
 * The household's admin password for the web UI. Only its Argon2id hash is kept, in the meta
 * table. A hub without one makes a random one at first start and prints it once.
 */
import { randomBytes } from 'node:crypto';
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

/** A one-time password: 16 random bytes, easy to type from a terminal (groups of base32). */
export function generateAdminPassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(20);
  const chars = [...bytes].map((b) => alphabet[b % 32]).join('');
  return chars.match(/.{5}/g)!.join('-');
}
