/**
 * Closes report windows: for each consented category, aggregates the window's events, spends the
 * day's epsilon budget, adds noise, signs, validates against the schema and queues the report in
 * the outbox, all in one transaction, so a window is reported at most once even when the daemon
 * and `hearth report now` race. Windows are contiguous: each starts where the previous one closed.
 */
import type { HearthConfig } from '../config/config.js';
import { ConsentStore } from '../consent/consent.js';
import type { Sealer } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Logger } from '../log/logger.js';
import { aggregate } from '../metrics/aggregate.js';
import { PrivacyBudget } from '../metrics/budget.js';
import { CATEGORIES, type Category } from '../metrics/categories.js';
import { privatize, sodiumRandom, type RandomSource } from '../metrics/dp.js';
import { MetricsSource } from '../metrics/source.js';
import type { Db } from '../store/database.js';
import { hubPseudonym, reportSigningKeys, reportTopic, type SigningKeys } from './identity.js';
import { Outbox } from './outbox.js';
import { newReportId, reportBytes, ReportValidator, signReport, type Report } from './report.js';

const WINDOW_START_META = 'uplink_window_start';
const AUTH_BASELINE_META = 'uplink_auth_failed_baseline';
/** After a long downtime, at most this many past windows are closed; older time is skipped. */
export const MAX_CATCH_UP_WINDOWS = 31;

export type CategoryOutcome =
  | { category: Category; status: 'queued'; reportId: string }
  | { category: Category; status: 'consent-off' | 'budget-spent' | 'empty-window' | 'invalid'; reason?: string };

export interface ClosedWindow {
  start: number;
  end: number;
  outcomes: CategoryOutcome[];
}

export interface ReporterOptions {
  db: Db;
  sealer: Sealer;
  sodium: SodiumApi;
  config: Pick<HearthConfig['uplink'], 'windowSeconds' | 'epsilonPerReport' | 'dailyEpsilonBudget'>;
  logger: Logger;
  /** Noise randomness; libsodium's CSPRNG unless a test passes a seeded source. */
  random?: RandomSource;
}

export class Reporter {
  readonly pseudonym: string;
  readonly keys: SigningKeys;
  private readonly db: Db;
  private readonly consent: ConsentStore;
  private readonly budget: PrivacyBudget;
  private readonly source: MetricsSource;
  private readonly outbox: Outbox;
  private readonly validator = new ReportValidator();
  private readonly random: RandomSource;
  private readonly readMeta;
  private readonly writeMeta;

  constructor(private readonly opts: ReporterOptions) {
    this.db = opts.db;
    this.consent = new ConsentStore(opts.db);
    this.budget = new PrivacyBudget(opts.db, opts.config.dailyEpsilonBudget);
    this.source = new MetricsSource(opts.db);
    this.outbox = new Outbox(opts.db);
    this.random = opts.random ?? sodiumRandom(opts.sodium);
    this.pseudonym = hubPseudonym(opts.db, opts.sodium);
    this.keys = reportSigningKeys(opts.sodium, opts.sealer);
    this.readMeta = opts.db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.writeMeta = opts.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
  }

  get windowMs(): number {
    return this.opts.config.windowSeconds * 1000;
  }

  /** Start of the open window; undefined before the first window was opened. */
  windowStart(): number | undefined {
    const raw = this.readMeta.get(WINDOW_START_META) as Buffer | undefined;
    return raw ? Number(raw.toString('utf8')) : undefined;
  }

  /** Opens the first window at `now` if none is open yet (the daemon's first start). */
  ensureWindowOpen(now: number): number {
    return this.db.transaction(() => {
      const start = this.windowStart();
      if (start !== undefined) return start;
      this.setMeta(WINDOW_START_META, now);
      this.setMeta(AUTH_BASELINE_META, this.source.authFailuresTotal());
      return now;
    }).immediate();
  }

  /** Closes every full window that has ended by `now` (bounded catch-up after downtime). */
  closeDueWindows(now: number): ClosedWindow[] {
    const closed: ClosedWindow[] = [];
    let start = this.ensureWindowOpen(now);
    const due = Math.floor((now - start) / this.windowMs);
    if (due > MAX_CATCH_UP_WINDOWS) {
      start += (due - MAX_CATCH_UP_WINDOWS) * this.windowMs;
      this.db.transaction(() => this.setMeta(WINDOW_START_META, start)).immediate();
      this.opts.logger.info('skipped report windows older than the catch-up limit', { count: due - MAX_CATCH_UP_WINDOWS });
    }
    while (start + this.windowMs <= now) {
      const result = this.closeWindow(start + this.windowMs, now);
      if (!result) break;
      closed.push(result);
      start = result.end;
    }
    return closed;
  }

  /**
   * Closes the open window at `end` (`hearth report now` passes the current time). Returns
   * undefined when the window was already closed past `end` by someone else.
   */
  closeWindow(end: number, now = end): ClosedWindow | undefined {
    return this.db.transaction((): ClosedWindow | undefined => {
      const start = this.windowStart() ?? 0;
      if (end <= start) return undefined;
      const { total: authTotal, sinceWindowStart } = this.authFailures();
      const outcomes = CATEGORIES.map((category) => this.reportCategory(category, start, end, now, sinceWindowStart));
      this.setMeta(WINDOW_START_META, end);
      this.setMeta(AUTH_BASELINE_META, authTotal);
      return { start, end, outcomes };
    }).immediate();
  }

  /**
   * The reports the open window would yield if it closed at `now`, built exactly as they would be
   * (aggregated, noised, signed, schema-checked) but neither queued nor charged to the budget.
   * For the consent page's preview; the values shown are one draw of the noise.
   */
  preview(now: number): { category: Category; status: CategoryOutcome['status']; report?: Report }[] {
    const start = this.windowStart() ?? now;
    const { sinceWindowStart } = this.authFailures();
    return CATEGORIES.map((category) => {
      const built = this.buildReport(category, start, Math.max(now, start + 1), sinceWindowStart);
      return 'report' in built ? { category, status: 'queued' as const, report: built.report } : { category, status: built.status };
    });
  }

  private reportCategory(category: Category, start: number, end: number, now: number, authFailures: number): CategoryOutcome {
    const built = this.buildReport(category, start, end, authFailures);
    if (!('report' in built)) return built;
    const { report, epsilon } = built;
    this.budget.spend(category, epsilon, end);
    const dropped = this.outbox.enqueue({ id: report.id, category, topic: reportTopic(this.pseudonym), payload: reportBytes(report), createdAt: now });
    if (dropped > 0) this.opts.logger.warn('outbox full; dropped the oldest reports', { count: dropped });
    return { category, status: 'queued', reportId: report.id };
  }

  /** One category's report for [start, end), or why there is none. Writes nothing. */
  private buildReport(category: Category, start: number, end: number, authFailures: number): Exclude<CategoryOutcome, { status: 'queued' }> | { report: Report; epsilon: number } {
    const since = this.consent.enabledSince(category);
    if (since === null) return { category, status: 'consent-off' };
    // Nothing from before consent was given is aggregated.
    const from = Math.max(start, since);
    if (from >= end) return { category, status: 'empty-window' };
    const epsilon = this.opts.config.epsilonPerReport;
    // The budget is kept per UTC day of the data (the window's end), so catching up after downtime
    // does not borrow from today, and `report now` run repeatedly cannot exceed it.
    if (!this.budget.canSpend(category, epsilon, end)) {
      this.opts.logger.info('daily privacy budget spent; no report for this window', { category });
      return { category, status: 'budget-spent' };
    }
    // Refused broker logins are only counted per hub, so they count only for windows fully under consent.
    const input = this.source.input({ start: from, end }, category === 'device-health' && since <= start ? authFailures : 0);
    const release = privatize(category, aggregate(category, input), epsilon, this.random);
    const report = signReport(this.opts.sodium, this.keys, {
      id: newReportId(this.opts.sodium),
      pseudonym: this.pseudonym,
      category,
      window: { start: from, end },
      release,
    });
    const problem = this.validator.problem(report);
    if (problem) {
      this.opts.logger.error('report does not match the report schema; not queued', { category, reason: problem });
      return { category, status: 'invalid', reason: problem };
    }
    return { report, epsilon };
  }

  /** Refused broker logins in all, and since the open window started (its stored baseline). */
  private authFailures(): { total: number; sinceWindowStart: number } {
    const total = this.source.authFailuresTotal();
    const baseline = Number((this.readMeta.get(AUTH_BASELINE_META) as Buffer | undefined)?.toString('utf8') ?? total);
    return { total, sinceWindowStart: Math.max(0, total - baseline) };
  }

  private setMeta(key: string, value: number): void {
    this.writeMeta.run(key, Buffer.from(String(value), 'utf8'));
  }
}
