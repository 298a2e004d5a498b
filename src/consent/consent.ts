/**
 * The household's consent per upstream category. Every category is off until someone turns it on;
 * each change is recorded with its time. Turning a category off also drops its reports that are
 * still waiting in the outbox, in the same transaction, so nothing of it leaves afterwards.
 */
import { CATEGORIES, type Category } from '../metrics/categories.js';
import type { Db } from '../store/database.js';

export interface ConsentState {
  category: Category;
  enabled: boolean;
  /** When the current setting was made; null when never set (off by default). */
  since: number | null;
}

export interface ConsentChange {
  category: Category;
  enabled: boolean;
  at: number;
}

export class ConsentStore {
  private readonly stmts;

  constructor(private readonly db: Db) {
    this.stmts = {
      get: db.prepare('SELECT enabled, changed_at FROM consent WHERE category = ?'),
      upsert: db.prepare(
        `INSERT INTO consent (category, enabled, changed_at) VALUES (?, ?, ?)
         ON CONFLICT(category) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at`,
      ),
      log: db.prepare('INSERT INTO consent_changes (category, enabled, changed_at) VALUES (?, ?, ?)'),
      history: db.prepare('SELECT category, enabled, changed_at FROM consent_changes ORDER BY id DESC LIMIT ?'),
      dropQueued: db.prepare('DELETE FROM report_outbox WHERE category = ?'),
    };
  }

  get(category: Category): ConsentState {
    const row = this.stmts.get.get(category) as { enabled: number; changed_at: number } | undefined;
    return { category, enabled: row?.enabled === 1, since: row?.changed_at ?? null };
  }

  all(): ConsentState[] {
    return CATEGORIES.map((c) => this.get(c));
  }

  isEnabled(category: Category): boolean {
    return this.get(category).enabled;
  }

  /** Since when the category has been on without interruption; null while it is off. */
  enabledSince(category: Category): number | null {
    const s = this.get(category);
    return s.enabled ? s.since : null;
  }

  /**
   * Sets a category on or off. Setting it to what it already is changes nothing and records
   * nothing. Returns how many queued reports were dropped.
   */
  set(category: Category, enabled: boolean, at: number): { changed: boolean; droppedReports: number } {
    return this.db.transaction(() => {
      if (this.get(category).enabled === enabled && this.get(category).since !== null) return { changed: false, droppedReports: 0 };
      this.stmts.upsert.run(category, enabled ? 1 : 0, at);
      this.stmts.log.run(category, enabled ? 1 : 0, at);
      const dropped = enabled ? 0 : this.stmts.dropQueued.run(category).changes;
      return { changed: true, droppedReports: dropped };
    }).immediate();
  }

  history(limit = 100): ConsentChange[] {
    return (this.stmts.history.all(limit) as { category: Category; enabled: number; changed_at: number }[]).map((r) => ({
      category: r.category,
      enabled: r.enabled === 1,
      at: r.changed_at,
    }));
  }
}
