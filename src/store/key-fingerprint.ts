/**
 * The database records the fingerprint of the master key it is sealed with (plain text in `meta`),
 * so a backup, which holds no key, still says which key it needs.
 */
import type { Db } from './database.js';

/** meta entry: the fingerprint (see crypto/keys.ts keyFingerprint) of the key the database is sealed with. */
const KEY_FINGERPRINT_META = 'key_fingerprint';

/** The fingerprint of the key a database (or a backup of one) is sealed with, if it records one. */
export function storedKeyFingerprint(db: Db): string | null {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(KEY_FINGERPRINT_META) as { value: Buffer } | undefined;
  return row ? Buffer.from(row.value).toString('utf8') : null;
}

export function setStoredKeyFingerprint(db: Db, fingerprint: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(KEY_FINGERPRINT_META, Buffer.from(fingerprint, 'utf8'));
}
