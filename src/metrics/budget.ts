/**
 * The hard daily epsilon budget, persisted so a restart (or `hearth report now` run over and over)
 * cannot spend more. Days are UTC calendar days of the hub's clock. (Format 1 kept a budget per
 * category in `privacy_budget`; that table stays for old databases and is no longer written.)
 */
import type { Db } from '../store/database.js';

/** Floating-point slack so that e.g. two reports of 0.5 fit a budget of 1.0. */
const EPSILON_SLACK = 1e-9;

export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/**
 * One daily epsilon budget for the whole home, over all categories (format 2 reports): what a day's
 * answers charged, kept per UTC day of the data (the window's end), persisted across restarts.
 */
export class HomeBudget {
  private readonly readSpent;
  private readonly addSpent;

  constructor(
    db: Db,
    readonly dailyEpsilon: number,
  ) {
    this.readSpent = db.prepare('SELECT epsilon_spent FROM privacy_budget_home WHERE day = ?').pluck();
    this.addSpent = db.prepare(
      `INSERT INTO privacy_budget_home (day, epsilon_spent) VALUES (?, ?)
       ON CONFLICT(day) DO UPDATE SET epsilon_spent = epsilon_spent + excluded.epsilon_spent`,
    );
  }

  spent(at: number): number {
    return (this.readSpent.get(utcDay(at)) as number | undefined) ?? 0;
  }

  remaining(at: number): number {
    return Math.max(0, this.dailyEpsilon - this.spent(at));
  }

  /** Records a spend; call in the same transaction that queues the reports it paid for. */
  spend(epsilon: number, at: number): void {
    if (epsilon <= 0) return;
    if (this.spent(at) + epsilon > this.dailyEpsilon + EPSILON_SLACK) throw new Error('the daily epsilon budget of the home is spent');
    this.addSpent.run(utcDay(at), epsilon);
  }
}
