/**
 * PostgreSQL storage: migrations, day partitions and retention, the batch commit that pins keys,
 * deduplicates and counts refusals in one transaction, hub key registration, and the sums the
 * estimates are made from.
 */
import pg from 'pg';
import type { Report } from '../uplink/report.js';
import type { RefusalReason } from './checks.js';
import { METRICS } from '../metrics/categories.js';
import { MIGRATIONS } from './migrations.js';
import type { MeanSums } from './estimate.js';
import type { AccumulatorSums } from '../metrics/ldp/estimators.js';
import type { Answer } from '../metrics/ldp/answers.js';
import { foldFigures, writeFigures, type StoredReportFigures } from './answer-sums.js';

// bigint and numeric come back as strings by default; every count here fits a double exactly.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));
// Days stay YYYY-MM-DD strings (no local-time Date conversion).
pg.types.setTypeParser(1082, (v) => v);

const MIGRATION_LOCK = 0x4865_6172; // any constant shared by all collector processes
const PARTITION_LOCK = 0x4865_6173;
const DAY_MS = 86_400_000;

export interface StoreItem {
  report: Report;
  day: string;
}

export type StoreOutcome = 'stored' | 'duplicate-id' | Extract<RefusalReason, 'key-mismatch' | 'unregistered-key' | 'duplicate-window'>;

export interface DaySums extends MeanSums {
  day: string;
  category: string;
  metric: string;
}

/** Every metric name of the allow-list (names are [a-z_] only, so they are safe inside SQL text). */
function allMetricNames(): string[] {
  const names = [...new Set(Object.values(METRICS).flatMap((specs) => specs.map((m) => m.name)))];
  for (const n of names) if (!/^[a-z_]+$/.test(n)) throw new Error('unexpected metric name');
  return names.sort();
}

export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDays(day: string, delta: number): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + delta * DAY_MS);
}

function partitionName(day: string): string {
  return `reports_${day.replaceAll('-', '')}`;
}

export class CollectorStore {
  private readonly pins = new Map<string, { key: string; registered: boolean }>();
  private readonly partitions = new Set<string>();

  constructor(
    readonly pool: pg.Pool,
    private readonly opts: { keyMode: 'pin' | 'registered' },
  ) {}

  static connect(url: string, password: string | null, max = 4): CollectorStore & { pool: pg.Pool } {
    const pool = new pg.Pool({ connectionString: url, max, ...(password !== null ? { password } : {}), connectionTimeoutMillis: 5000 });
    // A connection the server drops (restart, failover) must not crash the process: idle ones are
    // reported on the pool, checked-out ones on the client; the query in flight fails and is retried.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return new CollectorStore(pool, { keyMode: 'pin' }) as CollectorStore & { pool: pg.Pool };
  }

  withKeyMode(keyMode: 'pin' | 'registered'): CollectorStore {
    return new CollectorStore(this.pool, { keyMode });
  }

  /** Applies the migrations not applied yet; returns the versions applied now. */
  async migrate(): Promise<number[]> {
    const client = await this.pool.connect();
    const applied: number[] = [];
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS collector_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM collector_migrations')).rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          if (m.after) await m.after(client);
          await client.query('INSERT INTO collector_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
        applied.push(m.version);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
    return applied;
  }

  /** Makes sure a partition exists for every day in [from, to]. */
  async ensurePartitions(from: string, to: string): Promise<void> {
    const days: string[] = [];
    for (let d = from; d <= to; d = addDays(d, 1)) if (!this.partitions.has(d)) days.push(d);
    if (days.length === 0) return;
    await this.inTransaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK]);
      for (const d of days) {
        await client.query(`CREATE TABLE IF NOT EXISTS ${partitionName(d)} PARTITION OF reports FOR VALUES FROM ('${d}') TO ('${addDays(d, 1)}')`);
      }
    });
    for (const d of days) this.partitions.add(d);
  }

  /** The days that still have raw reports. */
  async partitionDays(): Promise<string[]> {
    const res = await this.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'reports'`,
    );
    return res.rows
      .map((r) => /^reports_(\d{4})(\d{2})(\d{2})$/.exec(r.name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
      .sort();
  }

  /**
   * Stores checked reports in one transaction: pins (or looks up) each pseudonym's key, inserts
   * what is new (a replayed id or a second report for a window does nothing), counts the refusals
   * of the whole batch (`refused` from the stateless checks too) under today's date, and tells
   * each item what became of it.
   */
  async commitBatch(items: StoreItem[], refused: RefusalReason[], nowMs: number): Promise<StoreOutcome[]> {
    const outcomes: StoreOutcome[] = new Array(items.length);
    return this.inTransaction(async (client) => {
      const keys = await this.keysFor(client, items);
      const toInsert: number[] = [];
      items.forEach((it, i) => {
        const pin = keys.get(it.report.hub);
        if (!pin) outcomes[i] = 'unregistered-key';
        else if (this.opts.keyMode === 'registered' && !pin.registered) outcomes[i] = 'unregistered-key';
        else if (pin.key !== it.report.key) outcomes[i] = 'key-mismatch';
        else toInsert.push(i);
      });
      // One order for every process, so two transactions never wait on each other in a circle.
      toInsert.sort((a, b) => (items[a]!.report.id < items[b]!.report.id ? -1 : 1));
      if (toInsert.length) {
        const col = <T>(f: (it: StoreItem) => T) => toInsert.map((i) => f(items[i]!));
        const inserted = await client.query<{ id: string }>(
          `INSERT INTO reports (day, id, hub, category, v, window_start, window_end, metrics, privacy)
           SELECT * FROM unnest($1::date[], $2::uuid[], $3::text[], $4::text[], $5::int2[], $6::int8[], $7::int8[], $8::jsonb[], $9::jsonb[])
           ON CONFLICT DO NOTHING RETURNING id::text`,
          [
            col((it) => it.day),
            col((it) => it.report.id),
            col((it) => it.report.hub),
            col((it) => it.report.category),
            col((it) => it.report.v),
            col((it) => it.report.window.start),
            col((it) => it.report.window.end),
            col((it) => JSON.stringify(it.report.v === 1 ? it.report.metrics : it.report.answers)),
            col((it) => JSON.stringify(it.report.privacy)),
          ],
        );
        const insertedIds = new Set(inserted.rows.map((r) => r.id));
        const seen = new Set<string>();
        const notInserted: number[] = [];
        for (const i of toInsert) {
          const id = items[i]!.report.id;
          if (insertedIds.has(id) && !seen.has(id)) {
            outcomes[i] = 'stored';
            seen.add(id);
          } else notInserted.push(i);
        }
        if (notInserted.length) {
          // Not inserted: either the id is already there (a redelivery or replay), or the window is taken.
          const existing = await client.query<{ id: string }>('SELECT id::text FROM reports WHERE (day, id) IN (SELECT * FROM unnest($1::date[], $2::uuid[]))', [
            notInserted.map((i) => items[i]!.day),
            notInserted.map((i) => items[i]!.report.id),
          ]);
          const there = new Set(existing.rows.map((r) => r.id));
          for (const i of notInserted) outcomes[i] = there.has(items[i]!.report.id) ? 'duplicate-id' : 'duplicate-window';
        }
      }
      const stored: StoredReportFigures[] = [];
      items.forEach((it, i) => {
        if (outcomes[i] !== 'stored') return;
        const r = it.report;
        stored.push(r.v === 2 ? { day: it.day, hub: r.hub, category: r.category, at: r.window.end, answers: r.answers as Record<string, Answer> } : { day: it.day, hub: r.hub, category: r.category, at: r.window.end });
      });
      const counts = new Map<string, number>();
      for (const r of [...refused, ...outcomes.filter((o): o is Exclude<StoreOutcome, 'stored'> => o !== 'stored')]) counts.set(r, (counts.get(r) ?? 0) + 1);
      if (counts.size) {
        const reasons = [...counts.keys()].sort();
        await client.query(
          `INSERT INTO refusals (day, reason, count) SELECT $1::date, r, c FROM unnest($2::text[], $3::int8[]) AS t(r, c)
           ON CONFLICT (day, reason) DO UPDATE SET count = refusals.count + excluded.count`,
          [dayOf(nowMs), reasons, reasons.map((r) => counts.get(r)!)],
        );
      }
      // Last: the running figures' rows are the hot ones every batch updates; held only until COMMIT.
      if (stored.length) await writeFigures(client, foldFigures(stored));
      return outcomes;
    });
  }

  /** The key of each pseudonym in the batch; in pin mode, unknown pseudonyms are pinned to the key they came with. */
  private async keysFor(client: pg.PoolClient, items: StoreItem[]): Promise<Map<string, { key: string; registered: boolean }>> {
    const out = new Map<string, { key: string; registered: boolean }>();
    const unknown = new Map<string, string>();
    for (const it of items) {
      const cached = this.pins.get(it.report.hub);
      if (cached) out.set(it.report.hub, cached);
      else if (!unknown.has(it.report.hub)) unknown.set(it.report.hub, it.report.key);
    }
    if (unknown.size === 0) return out;
    const hubs = [...unknown.keys()].sort();
    if (this.opts.keyMode === 'pin') {
      await client.query('INSERT INTO hub_keys (hub, key, registered) SELECT h, k, false FROM unnest($1::text[], $2::text[]) AS t(h, k) ON CONFLICT (hub) DO NOTHING', [
        hubs,
        hubs.map((h) => unknown.get(h)!),
      ]);
    }
    const res = await client.query<{ hub: string; key: string; registered: boolean }>('SELECT hub, key, registered FROM hub_keys WHERE hub = ANY($1::text[])', [hubs]);
    if (this.pins.size > 500_000) this.pins.clear(); // bounded; the database stays the truth
    for (const r of res.rows) {
      const pin = { key: r.key, registered: r.registered };
      out.set(r.hub, pin);
      // A pin never changes by itself; registered keys may be replaced by `hubs import`, so only pins are cached.
      if (!r.registered) this.pins.set(r.hub, pin);
    }
    return out;
  }

  /** Registers (or replaces) hub keys; returns how many rows were written. */
  async importHubKeys(entries: { pseudonym: string; publicKey: string }[]): Promise<number> {
    if (entries.length === 0) return 0;
    const res = await this.pool.query(
      `INSERT INTO hub_keys (hub, key, registered) SELECT h, k, true FROM unnest($1::text[], $2::text[]) AS t(h, k)
       ON CONFLICT (hub) DO UPDATE SET key = excluded.key, registered = true`,
      [entries.map((e) => e.pseudonym), entries.map((e) => e.publicKey)],
    );
    return res.rowCount ?? 0;
  }

  /**
   * Sums per day, category and metric for [from, to]: from raw reports, or from the kept sums of
   * days already final. The row with the empty metric name holds the number of reports.
   */
  async sums(from: string, to: string): Promise<DaySums[]> {
    const kept = await this.pool.query<{ day: string; category: string; metric: string; n: number; sum: number; sum_squares: number }>(
      `SELECT day, category, metric, n, sum, sum_squares FROM daily_sums WHERE final AND day BETWEEN $1 AND $2`,
      [from, to],
    );
    const out: DaySums[] = kept.rows.map((r) => ({ day: r.day, category: r.category, metric: r.metric, n: r.n, sum: r.sum, sumSquares: r.sum_squares }));
    // Raw days not final yet: reports per category from the running counts, and one scan of their
    // format 1 reports (through a partial index) with one aggregate per allow-listed metric (a
    // metric a report does not carry reads as NULL and is not counted). Each value is read from the
    // jsonb once (OFFSET 0 keeps the planner from copying the expression into every aggregate).
    const counts = await this.pool.query<{ day: string; category: string; n: number }>(
      `SELECT day, category, n FROM report_counts
        WHERE day BETWEEN $1 AND $2 AND day NOT IN (SELECT day FROM daily_sums WHERE final AND day BETWEEN $1 AND $2)`,
      [from, to],
    );
    for (const r of counts.rows) out.push({ day: r.day, category: r.category, metric: '', n: r.n, sum: 0, sumSquares: 0 });
    const names = allMetricNames();
    const values = names.map((m, i) => `(r.metrics -> '${m}')::float8 AS v${i}`).join(', ');
    const aggregates = names.map((_, i) => `count(v${i}) AS n${i}, sum(v${i}) AS s${i}, sum(v${i} * v${i}) AS q${i}`).join(', ');
    const raw = await this.pool.query<Record<string, number | string | null>>(
      `SELECT day, category, ${aggregates}
         FROM (SELECT r.day, r.category, ${values} FROM reports r
                WHERE r.v = 1 AND r.day BETWEEN $1 AND $2 AND r.day NOT IN (SELECT day FROM daily_sums WHERE final AND day BETWEEN $1 AND $2)
               OFFSET 0) x
        GROUP BY day, category`,
      [from, to],
    );
    for (const r of raw.rows) {
      names.forEach((metric, i) => {
        const n = Number(r[`n${i}`]);
        if (n > 0) out.push({ day: String(r.day), category: String(r.category), metric, n, sum: Number(r[`s${i}`]), sumSquares: Number(r[`q${i}`]) });
      });
    }
    return out;
  }

  /** The running sums of format 2's changing answers for the raw days in [from, to], per day and statistic. */
  async answerSums(from: string, to: string): Promise<({ day: string; statistic: string } & AccumulatorSums)[]> {
    const res = await this.pool.query<{ day: string; statistic: string } & AccumulatorSums>(
      'SELECT day, statistic, n, known, sw2v, sw, swy, sw2, sw2y, sw2y2 FROM answer_sums WHERE day BETWEEN $1 AND $2 ORDER BY day, statistic',
      [from, to],
    );
    return res.rows;
  }

  /**
   * Each home's newest memoized answer per question over the raw days in [from, to], counted by
   * distinct answer: many homes give the very same answer, so this is a few rows however many homes.
   */
  async memoAnswerCounts(from: string, to: string): Promise<{ question: string; answer: Record<string, unknown>; homes: number }[]> {
    // One day holds one row per home and question already: no sort needed.
    const newest =
      from === to
        ? 'SELECT question, answer FROM memo_answers WHERE day = $1'
        : 'SELECT DISTINCT ON (hub, question) question, answer FROM memo_answers WHERE day BETWEEN $1 AND $2 ORDER BY hub, question, at DESC';
    const res = await this.pool.query<{ question: string; answer: Record<string, unknown>; homes: number }>(
      `SELECT question, answer, count(*)::int8 AS homes FROM (${newest}) m GROUP BY question, answer ORDER BY question, homes DESC`,
      from === to ? [from] : [from, to],
    );
    return res.rows;
  }

  /** Kept per-day estimates of format 2 reports for the given days (days whose raw reports are gone). */
  async keptEstimatesV2(days: string[]): Promise<{ day: string; category: string; statistic: string; n: number; estimate: number | null; ci_low: number | null; ci_high: number | null }[]> {
    if (days.length === 0) return [];
    const res = await this.pool.query('SELECT day, category, statistic, n, estimate, ci_low, ci_high FROM daily_estimates WHERE format = 2 AND day = ANY($1::date[])', [days]);
    return res.rows;
  }

  async refusalCounts(from: string, to: string): Promise<Record<string, number>> {
    const res = await this.pool.query<{ reason: string; n: number }>('SELECT reason, sum(count)::int8 AS n FROM refusals WHERE day BETWEEN $1 AND $2 GROUP BY reason ORDER BY reason', [from, to]);
    return Object.fromEntries(res.rows.map((r) => [r.reason, r.n]));
  }

  /** Writes a day's sums (final: it can take no more reports) and its estimates, from its raw reports. */
  async saveDay(day: string, final: boolean, estimates: { format: 1 | 2; category: string; statistic: string; n: number; estimate: number | null; ci_low: number | null; ci_high: number | null }[], sums: DaySums[]): Promise<void> {
    await this.inTransaction(async (client) => {
      await client.query('DELETE FROM daily_sums WHERE day = $1 AND NOT final', [day]);
      if (sums.length) {
        await client.query(
          `INSERT INTO daily_sums (day, category, metric, n, sum, sum_squares, final)
           SELECT $1::date, c, m, n, s, q, $7 FROM unnest($2::text[], $3::text[], $4::int8[], $5::float8[], $6::float8[]) AS t(c, m, n, s, q)
           ON CONFLICT (day, category, metric) DO UPDATE SET n = excluded.n, sum = excluded.sum, sum_squares = excluded.sum_squares, final = excluded.final`,
          [day, sums.map((s) => s.category), sums.map((s) => s.metric), sums.map((s) => s.n), sums.map((s) => s.sum), sums.map((s) => s.sumSquares), final],
        );
      }
      for (const e of estimates) {
        await client.query(
          `INSERT INTO daily_estimates (day, format, category, statistic, n, estimate, ci_low, ci_high) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (day, format, category, statistic) DO UPDATE SET n = excluded.n, estimate = excluded.estimate, ci_low = excluded.ci_low, ci_high = excluded.ci_high, computed_at = now()`,
          [day, e.format, e.category, e.statistic, e.n, e.estimate, e.ci_low, e.ci_high],
        );
      }
    });
  }

  /** Days whose sums are final (kept for good). */
  async finalDays(): Promise<string[]> {
    return (await this.pool.query<{ day: string }>('SELECT DISTINCT day FROM daily_sums WHERE final ORDER BY day')).rows.map((r) => r.day);
  }

  /** Drops a day's raw reports with what was kept of them per home (its kept sums and estimates stay). */
  async dropPartition(day: string): Promise<void> {
    await this.inTransaction(async (client) => {
      await client.query(`DROP TABLE IF EXISTS ${partitionName(day)}`);
      await client.query('DELETE FROM memo_answers WHERE day = $1', [day]);
      await client.query('DELETE FROM answer_sums WHERE day = $1', [day]);
    });
    this.partitions.delete(day);
  }

  /** Runs `work` in a transaction on a pooled connection: committed if it returns, rolled back if it throws. */
  private async inTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
