/**
 * Durable operational counters (refused inputs, auth failures...). Increments are kept in memory
 * and written in the same transaction as the next ingest batch (or on flush), so counting costs
 * no extra write on the hot path.
 */
import type { Db } from './database.js';

export class Counters {
  private readonly deltas = new Map<string, number>();
  private written = 0;
  private readonly upsert;
  private readonly readAll;

  constructor(private readonly db: Db) {
    this.upsert = db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value');
    this.readAll = db.prepare('SELECT name, value FROM counters');
  }

  increment(name: string, by = 1): void {
    this.deltas.set(name, (this.deltas.get(name) ?? 0) + by);
  }

  /**
   * Writes pending increments inside the caller's transaction. They are forgotten only when
   * `committed()` is called, so a rolled-back batch does not lose counts.
   */
  writePending(): void {
    for (const [name, value] of this.deltas) this.upsert.run(name, value);
    this.written = this.deltas.size;
  }

  /** The transaction holding the last writePending() committed. */
  committed(): void {
    if (this.written > 0) this.deltas.clear();
    this.written = 0;
  }

  /** Writes pending increments in a transaction of their own; a failure keeps them for later. */
  flush(): void {
    if (this.deltas.size === 0) return;
    this.db.transaction(() => this.writePending())();
    this.committed();
  }

  /** Stored values plus what is not written yet. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.readAll.all() as { name: string; value: number }[]) out[row.name] = row.value;
    for (const [name, value] of this.deltas) out[name] = (out[name] ?? 0) + value;
    return out;
  }
}
