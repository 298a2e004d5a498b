/**
 * The meta table: small named values of the hub (key check, pseudonym, admin password hash, the
 * privacy flag, report window state). One place reads and writes it, and the keys are named once
 * (meta-keys.ts), so two layers can never spell one differently.
 */
import type { Db } from './database.js';

export { META_KEYS } from './meta-keys.js';

export class MetaStore {
  private readonly readStmt;
  private readonly writeStmt;
  private readonly insertStmt;
  private readonly deleteStmt;

  constructor(db: Db) {
    this.readStmt = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.writeStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.insertStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM meta WHERE key = ?');
  }

  read(key: string): Buffer | undefined {
    const v = this.readStmt.get(key) as unknown;
    return Buffer.isBuffer(v) ? v : undefined;
  }

  write(key: string, value: Buffer): void {
    this.writeStmt.run(key, value);
  }

  delete(key: string): void {
    this.deleteStmt.run(key);
  }

  /** Inserts a value that must not exist yet (fails if it does). */
  insert(key: string, value: Buffer): void {
    this.insertStmt.run(key, value);
  }
}
