/**
 * The software privacy switch: a persistent flag in the database's meta table (key
 * 'privacy_paused'), set by `hearth privacy pause|resume` (or the web UI) and watched by the
 * daemon. It survives restarts, and it works on hubs without GPIO. The flag is not personal data,
 * so it is stored in the clear.
 */
import type { Db } from '../store/database.js';
import { DbWatcher } from '../store/db-watcher.js';
import type { PrivacyGate } from './privacy-gate.js';

export const PRIVACY_FLAG_KEY = 'privacy_paused';
const PAUSED = Buffer.from('1');
const RESUMED = Buffer.from('0');

export function readPrivacyFlag(db: Db): boolean {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(PRIVACY_FLAG_KEY) as { value: Buffer } | undefined;
  return row !== undefined && Buffer.isBuffer(row.value) && row.value.equals(PAUSED);
}

export function writePrivacyFlag(db: Db, paused: boolean): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(PRIVACY_FLAG_KEY, paused ? PAUSED : RESUMED);
}

/**
 * The flag as a PrivacyGate for the daemon. Changes made by other processes (the CLI) are noticed
 * by polling `PRAGMA data_version`, which only moves when another connection committed, so a
 * check is one cheap pragma; the row is read only then.
 */
export class PrivacyFlagGate implements PrivacyGate {
  private readonly listeners = new Set<(paused: boolean) => void>();
  private readonly watcher: DbWatcher;
  private paused: boolean;

  constructor(
    private readonly db: Db,
    pollMs = 1000,
  ) {
    this.watcher = new DbWatcher(db, pollMs);
    this.watcher.onExternalChange(() => this.update(readPrivacyFlag(this.db)));
    this.paused = readPrivacyFlag(db);
  }

  isPaused(): boolean {
    return this.paused;
  }

  onChange(cb: (paused: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** Sets the flag from inside the daemon (e.g. the web UI) and tells listeners at once. */
  setPaused(paused: boolean): void {
    writePrivacyFlag(this.db, paused);
    this.update(paused);
  }

  start(): void {
    this.watcher.start();
  }

  stop(): void {
    this.watcher.stop();
  }

  /** Re-reads the flag if another connection committed since the last check. */
  check(): void {
    this.watcher.check();
  }

  private update(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const cb of [...this.listeners]) cb(paused);
  }
}
