/**
 * The collector's database schema, in numbered steps applied in order at start (under an advisory
 * lock, so processes starting together apply each step once). A step is never edited once released;
 * changes come as new steps.
 */
import type pg from 'pg';
import { rebuildAnswerSums } from './answer-sums.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** A step SQL alone cannot do (the shared estimators' arithmetic), run after \`sql\` in its transaction. */
  after?: (client: pg.ClientBase) => Promise<unknown>;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'reports, pins, refusals, daily sums and estimates',
    sql: `
      -- Raw reports, one partition per UTC day of the data; dropped after the retention period.
      -- Every unique key includes the partition key (PostgreSQL requires it): a report's day follows
      -- from its signed window, so a redelivery or replay always lands on the same day.
      CREATE TABLE reports (
        day date NOT NULL,
        id uuid NOT NULL,
        hub text NOT NULL,
        category text NOT NULL,
        v smallint NOT NULL,
        window_start bigint NOT NULL,
        window_end bigint NOT NULL,
        metrics jsonb NOT NULL,
        privacy jsonb NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (day, id),
        UNIQUE (day, hub, category, window_start),
        UNIQUE (day, hub, category, window_end)
      ) PARTITION BY RANGE (day);

      -- The key a pseudonym signs with: pinned on first sight, or registered by \`hubs import\`.
      CREATE TABLE hub_keys (
        hub text PRIMARY KEY,
        key text NOT NULL,
        registered boolean NOT NULL,
        first_seen timestamptz NOT NULL DEFAULT now()
      );

      -- Refused reports per UTC day of arrival and reason (no content of a refused report is kept).
      CREATE TABLE refusals (
        day date NOT NULL,
        reason text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (day, reason)
      );

      -- Sufficient statistics per day, category and metric; final once the day can take no more
      -- reports. Kept for good, so estimates outlive the raw reports.
      CREATE TABLE daily_sums (
        day date NOT NULL,
        category text NOT NULL,
        metric text NOT NULL,
        n bigint NOT NULL,
        sum double precision NOT NULL,
        sum_squares double precision NOT NULL,
        final boolean NOT NULL DEFAULT false,
        PRIMARY KEY (day, category, metric)
      );

      -- The day's estimates as published (kept for good).
      CREATE TABLE daily_estimates (
        day date NOT NULL,
        category text NOT NULL,
        statistic text NOT NULL,
        n bigint NOT NULL,
        estimate double precision,
        ci_low double precision,
        ci_high double precision,
        computed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (day, category, statistic)
      );
    `,
  },
  {
    version: 2,
    name: 'daily estimates per report format',
    sql: `
      -- Format 2 reports (local-DP answers) are estimated apart from format 1 and kept apart.
      ALTER TABLE daily_estimates ADD COLUMN format smallint NOT NULL DEFAULT 1;
      ALTER TABLE daily_estimates DROP CONSTRAINT daily_estimates_pkey;
      ALTER TABLE daily_estimates ADD PRIMARY KEY (day, format, category, statistic);
    `,
  },
  {
    version: 3,
    name: 'format 2 reports found without a scan',
    sql: `
      -- The format 2 estimator reads only format 2 rows; while most hubs still send format 1 this
      -- keeps it from reading the whole day.
      CREATE INDEX reports_v2_by_day ON reports (day) WHERE v = 2;
    `,
  },
  {
    version: 4,
    name: 'running figures kept as reports are stored',
    sql: `
      -- Kept in the transaction that stores each batch (src/collector/answer-sums.ts), so a day's
      -- statistics read a few rows instead of every report of the day.
      CREATE TABLE report_counts (
        day date NOT NULL,
        category text NOT NULL,
        n bigint NOT NULL,
        PRIMARY KEY (day, category)
      );
      INSERT INTO report_counts (day, category, n) SELECT day, category, count(*) FROM reports GROUP BY day, category;

      -- Sums of the format 2 answers that change with each report (MeanAccumulator's), per day and statistic.
      CREATE TABLE answer_sums (
        day date NOT NULL,
        statistic text NOT NULL,
        n bigint NOT NULL,
        known bigint NOT NULL,
        sw2v double precision NOT NULL,
        sw double precision NOT NULL,
        swy double precision NOT NULL,
        sw2 double precision NOT NULL,
        sw2y double precision NOT NULL,
        sw2y2 double precision NOT NULL,
        PRIMARY KEY (day, statistic)
      );

      -- Each home's newest memoized answer per day and question (counted once per home when days are pooled).
      CREATE TABLE memo_answers (
        day date NOT NULL,
        hub text NOT NULL,
        question text NOT NULL,
        at bigint NOT NULL,
        answer jsonb NOT NULL,
        PRIMARY KEY (day, hub, question)
      );
      INSERT INTO memo_answers (day, hub, question, at, answer)
        SELECT DISTINCT ON (r.day, r.hub, a.key) r.day, r.hub, a.key, r.window_end, a.value
          FROM reports r, jsonb_each(r.metrics) a
         WHERE r.v = 2 AND jsonb_typeof(a.value) = 'object' AND a.value -> 'memo' = 'true'::jsonb
         ORDER BY r.day, r.hub, a.key, r.window_end DESC;

      -- Format 1 sums read only format 1 rows (hubs send format 2 now).
      CREATE INDEX reports_v1_by_day ON reports (day) WHERE v = 1;
    `,
    after: (client) => rebuildAnswerSums(client),
  },
];
