/**
 * Store-and-forward: signed reports wait here until the upstream broker acknowledges them (PUBACK);
 * only then are they removed. Bounded, oldest dropped first, so a hub that is never connected
 * cannot fill its disk.
 */
import type { Category } from '../metrics/categories.js';
import type { Db } from '../store/database.js';

export const MAX_OUTBOX_REPORTS = 1000;

export interface OutboxEntry {
  id: string;
  category: Category;
  topic: string;
  payload: Buffer;
  createdAt: number;
  attempts: number;
}

export class Outbox {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      insert: db.prepare('INSERT INTO report_outbox (id, category, topic, payload, created_at) VALUES (?, ?, ?, ?, ?)'),
      next: db.prepare('SELECT id, category, topic, payload, created_at, attempts FROM report_outbox ORDER BY created_at, rowid LIMIT 1'),
      all: db.prepare('SELECT id, category, topic, payload, created_at, attempts FROM report_outbox ORDER BY created_at, rowid'),
      remove: db.prepare('DELETE FROM report_outbox WHERE id = ?'),
      attempt: db.prepare('UPDATE report_outbox SET attempts = attempts + 1 WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) FROM report_outbox').pluck(),
      trim: db.prepare('DELETE FROM report_outbox WHERE rowid IN (SELECT rowid FROM report_outbox ORDER BY created_at, rowid LIMIT ?)'),
    };
  }

  /** Queues a report; returns how many of the oldest were dropped to stay within the bound. */
  enqueue(entry: { id: string; category: Category; topic: string; payload: Buffer; createdAt: number }): number {
    this.stmts.insert.run(entry.id, entry.category, entry.topic, entry.payload, entry.createdAt);
    const excess = (this.stmts.count.get() as number) - MAX_OUTBOX_REPORTS;
    return excess > 0 ? this.stmts.trim.run(excess).changes : 0;
  }

  next(): OutboxEntry | undefined {
    const row = this.stmts.next.get() as OutboxRow | undefined;
    return row ? toEntry(row) : undefined;
  }

  list(): OutboxEntry[] {
    return (this.stmts.all.all() as OutboxRow[]).map(toEntry);
  }

  markAttempt(id: string): void {
    this.stmts.attempt.run(id);
  }

  /** Called on PUBACK (or when the report's category is no longer consented). */
  remove(id: string): boolean {
    return this.stmts.remove.run(id).changes > 0;
  }

  size(): number {
    return this.stmts.count.get() as number;
  }
}

interface OutboxRow {
  id: string;
  category: Category;
  topic: string;
  payload: Buffer;
  created_at: number;
  attempts: number;
}

function toEntry(r: OutboxRow): OutboxEntry {
  return { id: r.id, category: r.category, topic: r.topic, payload: r.payload, createdAt: r.created_at, attempts: r.attempts };
}
