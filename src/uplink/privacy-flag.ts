/**
 * The software privacy switch: a persistent flag in the database's meta table (key
 * 'privacy_paused'), set by `hearth privacy pause|resume` (or the web UI) and watched by the
 * daemon. It survives restarts, and it works on hubs without GPIO. The flag is not personal data,
 * so it is stored in the clear.
 */
import type { Db } from '../store/database.js';
import { META_KEYS, MetaStore } from '../store/meta.js';
import { DbWatcher } from '../store/db-watcher.js';
import type { PrivacyGate } from './privacy-gate.js';

const PAUSED = Buffer.from('1');
const RESUMED = Buffer.from('0');

export function readPrivacyFlag(db: Db): boolean {
  return new MetaStore(db).read(META_KEYS.privacyPaused)?.equals(PAUSED) ?? false;
}

export function writePrivacyFlag(db: Db, paused: boolean): void {
  new MetaStore(db).write(META_KEYS.privacyPaused, paused ? PAUSED : RESUMED);
}

/**
 * The flag as a PrivacyGate for the daemon. Changes made by other processes (the CLI) are noticed
 * through check(): the daemon calls it on the bus's `store.external-change`; standing alone (pollMs
 * given) it polls `PRAGMA data_version` itself, which only moves when another connection
 * committed, so a check is one cheap pragma and the row is read only then.
 */
export class PrivacyFlagGate implements PrivacyGate {
  private readonly listeners = new Set<(paused: boolean) => void>();
  private readonly watcher: DbWatcher | undefined;
  private paused: boolean;

  constructor(
    private readonly db: Db,
    pollMs?: number,
  ) {
    this.watcher = pollMs === undefined ? undefined : new DbWatcher(db, pollMs);
    this.watcher?.onExternalChange(() => this.update(readPrivacyFlag(this.db)));
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
    this.watcher?.start();
  }

  stop(): void {
    this.watcher?.stop();
  }

  /** Re-reads the flag (another connection may have committed a change). */
  check(): void {
    if (this.watcher) this.watcher.check();
    else this.update(readPrivacyFlag(this.db));
  }

  private update(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const cb of [...this.listeners]) cb(paused);
  }
}
