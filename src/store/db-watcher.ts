/**
 * Notices writes made by other processes (the CLI) to the daemon's database, cheaply: SQLite's
 * `PRAGMA data_version` changes only when another connection has committed. Used, for example, to
 * disconnect a camera that `hearth device remove` deleted while the daemon runs.
 */
import type { Db } from './database.js';

export class DbWatcher {
  private timer: NodeJS.Timeout | undefined;
  private lastVersion: number;
  private readonly listeners: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly intervalMs = 1000,
  ) {
    this.lastVersion = this.version();
  }

  onExternalChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer ??= setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs the listeners if another connection committed since the last check. */
  check(): void {
    const v = this.version();
    if (v === this.lastVersion) return;
    this.lastVersion = v;
    for (const l of this.listeners) l();
  }

  private version(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
