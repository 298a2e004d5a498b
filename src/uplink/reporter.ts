/**
 * Closes report windows: aggregates the window's events of each consented category, answers the
 * day's questions under the home's one daily epsilon budget (src/metrics/ldp/daily.ts: memoized
 * stable values, one freshly randomized changing question a day), signs one format 2 report per
 * category that has answers, validates it against the schema and queues it in the outbox, all in
 * one transaction, so a window is reported at most once even when the daemon and `hearth report
 * now` race. Windows are contiguous: each starts where the previous one closed.
 */
import type { HearthConfig } from '../config/config.js';
import { ConsentStore } from '../consent/consent.js';
import type { Sealer } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Logger } from '../log/logger.js';
import { aggregate } from '../metrics/aggregate.js';
import { HomeBudget } from '../metrics/budget.js';
import { CATEGORIES, type Category, type MetricValues } from '../metrics/categories.js';
import { sodiumRandom, type RandomSource } from '../metrics/dp.js';
import { answerDay, DEFAULT_QUESTIONS_PER_DAY, type MemoStore } from '../metrics/ldp/daily.js';
import { MetricsSource } from '../metrics/source.js';
import type { Db } from '../store/database.js';
import { hubPseudonym, publicKeyBase64, reportSigningKeys, reportTopic, type SigningKeys } from './identity.js';
import { ScratchMemoStore, SealedMemoStore } from './memo-store.js';
import { Outbox } from './outbox.js';
import { newReportId, reportBytes, ReportValidator } from './report.js';
import { REPORT_V2, signReportV2, type ReportV2 } from './report-v2.js';

const WINDOW_START_META = 'uplink_window_start';
const AUTH_BASELINE_META = 'uplink_auth_failed_baseline';
/** After a long downtime, at most this many past windows are closed; older time is skipped. */
export const MAX_CATCH_UP_WINDOWS = 31;

export type CategoryOutcome =
  | { category: Category; status: 'queued'; reportId: string }
  /** not-asked: none of the category's questions was chosen today (budget left for another category's question). */
  | { category: Category; status: 'consent-off' | 'budget-spent' | 'not-asked' | 'empty-window' | 'invalid'; reason?: string };

/** Each answer's ε (what it alone reveals) and what it charged to today's budget, for the preview. */
export type EpsilonShares = Record<string, { epsilon: number; spent: number; memo: boolean }>;

export interface ReportPreview {
  category: Category;
  status: CategoryOutcome['status'];
  report?: ReportV2;
  /** Per answered question: its ε and its share of today's budget. */
  epsilon?: EpsilonShares;
  /** The home's daily cap over all categories, and what is left of it today. */
  dailyEpsilon: number;
  remainingToday: number;
}

export interface ClosedWindow {
  start: number;
  end: number;
  outcomes: CategoryOutcome[];
}

export interface ReporterOptions {
  db: Db;
  sealer: Sealer;
  sodium: SodiumApi;
  config: Pick<HearthConfig['uplink'], 'windowSeconds' | 'dailyEpsilonBudget'> & Partial<Pick<HearthConfig['uplink'], 'questionsPerDay'>>;
  logger: Logger;
  /** Noise randomness; libsodium's CSPRNG unless a test passes a seeded source. */
  random?: RandomSource;
}

type Built = Exclude<CategoryOutcome, { status: 'queued' }> | { category: Category; report: ReportV2 };

export class Reporter {
  readonly pseudonym: string;
  readonly keys: SigningKeys;
  private readonly db: Db;
  private readonly consent: ConsentStore;
  private readonly budget: HomeBudget;
  private readonly memos: MemoStore;
  private readonly source: MetricsSource;
  private readonly outbox: Outbox;
  private readonly validator = new ReportValidator();
  private readonly random: RandomSource;
  private readonly readMeta;
  private readonly writeMeta;

  constructor(private readonly opts: ReporterOptions) {
    this.db = opts.db;
    this.consent = new ConsentStore(opts.db);
    this.budget = new HomeBudget(opts.db, opts.config.dailyEpsilonBudget);
    this.memos = new SealedMemoStore(opts.db, opts.sealer);
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
      const opened = wholeSecond(now);
      this.setMeta(WINDOW_START_META, opened);
      this.setMeta(AUTH_BASELINE_META, this.source.authFailuresTotal());
      return opened;
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
   * Closes the open window at `end` (`hearth report now` passes the current time), rounded down to
   * a whole second: reports carry their window in whole seconds, and a window that would be empty
   * in seconds would be refused upstream (what is after the second stays in the next window).
   * Returns undefined when the open window does not reach back past that second (it was closed a
   * moment ago, by someone else or by an earlier `report now`).
   */
  closeWindow(endAt: number, now = endAt): ClosedWindow | undefined {
    const end = wholeSecond(endAt);
    return this.db.transaction((): ClosedWindow | undefined => {
      const start = this.windowStart() ?? 0;
      if (end <= start) return undefined;
      const { total: authTotal, sinceWindowStart } = this.authFailures();
      const { built, spent } = this.buildReports(start, end, sinceWindowStart, this.memos);
      // Charged in the transaction that queues the reports (and stores any new memo); never refunded.
      this.budget.spend(spent, end);
      const outcomes = built.map((b) => this.queue(b, now));
      this.setMeta(WINDOW_START_META, end);
      this.setMeta(AUTH_BASELINE_META, authTotal);
      return { start, end, outcomes };
    }).immediate();
  }

  /**
   * The reports the open window would yield if it closed at `now`, built exactly as they would be
   * (aggregated, answered, signed, schema-checked) but neither queued nor charged to the budget,
   * and with any new memo kept only in a scratch copy. For the consent page's preview; the bits
   * shown are one draw. Each report's answers carry their ε and their share of today's budget.
   */
  preview(now: number): ReportPreview[] {
    const start = this.windowStart() ?? wholeSecond(now);
    // The window as it would close at the coming whole second: never empty, consent given just now included.
    const end = Math.max(wholeSecond(now) + 1000, wholeSecond(start) + 1000);
    const { sinceWindowStart } = this.authFailures();
    const { built } = this.buildReports(start, end, sinceWindowStart, new ScratchMemoStore(this.memos));
    const dailyEpsilon = this.budget.dailyEpsilon;
    const remainingToday = this.budget.remaining(end);
    return built.map((b) => {
      if (!('report' in b)) return { category: b.category, status: b.status, dailyEpsilon, remainingToday };
      const epsilon: EpsilonShares = {};
      for (const [q, a] of Object.entries(b.report.answers)) epsilon[q] = { epsilon: a.epsilon, spent: a.spent, memo: a.memo };
      return { category: b.category, status: 'queued' as const, report: b.report, epsilon, dailyEpsilon, remainingToday };
    });
  }

  private queue(built: Built, now: number): CategoryOutcome {
    if (!('report' in built)) return built;
    const { report, category } = built;
    const dropped = this.outbox.enqueue({ id: report.id, category, topic: reportTopic(this.pseudonym), payload: reportBytes(report), createdAt: now });
    if (dropped > 0) this.opts.logger.warn('outbox full; dropped the oldest reports', { count: dropped });
    return { category, status: 'queued', reportId: report.id };
  }

  /**
   * Every category's report for [start, end), or why there is none, and the ε the answers charge.
   * Writes nothing but memos, and those only through `memos`.
   */
  private buildReports(start: number, end: number, authFailures: number, memos: MemoStore): { built: Built[]; spent: number } {
    const values: Partial<Record<Category, MetricValues>> = {};
    const from: Partial<Record<Category, number>> = {};
    const skipped = new Map<Category, Built>();
    for (const category of CATEGORIES) {
      const since = this.consent.enabledSince(category);
      if (since === null) {
        skipped.set(category, { category, status: 'consent-off' });
        continue;
      }
      // Nothing from before consent was given is aggregated (consent given within the window's last
      // second leaves it empty: `end` is a whole second).
      const f = Math.max(start, since);
      if (f >= end) {
        skipped.set(category, { category, status: 'empty-window' });
        continue;
      }
      // Refused broker logins are only counted per hub, so they count only for windows fully under consent.
      const input = this.source.input({ start: f, end }, category === 'device-health' && since <= start ? authFailures : 0);
      values[category] = aggregate(category, input);
      from[category] = f;
    }
    // The budget is kept per UTC day of the data (the window's end), so catching up after downtime
    // does not borrow from today, and `report now` run repeatedly cannot exceed it.
    const remaining = this.budget.remaining(end);
    const day = answerDay(
      { values, remaining, dailyEpsilon: this.budget.dailyEpsilon, questionsPerDay: this.opts.config.questionsPerDay ?? DEFAULT_QUESTIONS_PER_DAY },
      memos,
      this.random,
    );
    const built = CATEGORIES.map((category): Built => {
      const skip = skipped.get(category);
      if (skip) return skip;
      const answers = day.answers[category];
      if (!answers || Object.keys(answers).length === 0) {
        return { category, status: remaining - day.spent <= 1e-9 ? 'budget-spent' : 'not-asked' };
      }
      const report = signReportV2(this.opts.sodium, this.keys.privateKey, {
        v: REPORT_V2,
        id: newReportId(this.opts.sodium),
        hub: this.pseudonym,
        key: publicKeyBase64(this.keys),
        category,
        window: { start: Math.floor(from[category]! / 1000), end: Math.floor(end / 1000) },
        answers,
        privacy: { daily_epsilon: this.budget.dailyEpsilon, spent: Object.values(answers).reduce((t, a) => t + a.spent, 0) },
      });
      const problem = this.validator.problem(report);
      if (problem) {
        this.opts.logger.error('report does not match the report schema; not queued', { category, reason: problem });
        return { category, status: 'invalid', reason: problem };
      }
      return { category, report };
    });
    return { built, spent: day.spent };
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

/** Epoch ms rounded down to a whole second (windows are sent in seconds). */
function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
