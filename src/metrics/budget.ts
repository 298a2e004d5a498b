/**
 * The hard daily epsilon budget per category, persisted so a restart (or `hearth report now` run
 * over and over) cannot spend more. Days are UTC calendar days of the hub's clock.
 */
import type { Db } from '../store/database.js';
import type { Category } from './categories.js';

/** Floating-point slack so that e.g. two reports of 0.5 fit a budget of 1.0. */
const EPSILON_SLACK = 1e-9;

export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

export class PrivacyBudget {
  private readonly readSpent;
  private readonly addSpent;

  constructor(
    db: Db,
    private readonly dailyBudget: number,
  ) {
    this.readSpent = db.prepare('SELECT epsilon_spent FROM privacy_budget WHERE day = ? AND category = ?').pluck();
    this.addSpent = db.prepare(
      `INSERT INTO privacy_budget (day, category, epsilon_spent) VALUES (?, ?, ?)
       ON CONFLICT(day, category) DO UPDATE SET epsilon_spent = epsilon_spent + excluded.epsilon_spent`,
    );
  }

  spent(category: Category, at: number): number {
    return (this.readSpent.get(utcDay(at), category) as number | undefined) ?? 0;
  }

  remaining(category: Category, at: number): number {
    return Math.max(0, this.dailyBudget - this.spent(category, at));
  }

  canSpend(category: Category, epsilon: number, at: number): boolean {
    return this.spent(category, at) + epsilon <= this.dailyBudget + EPSILON_SLACK;
  }

  /** Records a spend; call in the same transaction that queues the report it paid for. */
  spend(category: Category, epsilon: number, at: number): void {
    if (!this.canSpend(category, epsilon, at)) throw new Error(`daily epsilon budget of ${category} is spent`);
    this.addSpent.run(utcDay(at), category, epsilon);
  }
}
