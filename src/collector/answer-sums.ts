/**
 * Running figures kept as reports are stored, in the transaction that stores them, so that a day's
 * statistics read a few rows instead of every report of the day:
 * - `report_counts`: reports stored per day and category (both formats);
 * - `answer_sums`: per day and statistic, the sums of the format 2 answers that change with each
 *   report (a MeanAccumulator's sums, which add up across reports, processes and days);
 * - `memo_answers`: each home's latest memoized answer per day and question (a memoized answer
 *   counts once per home over pooled days, so it cannot be summed ahead; only homes that send one
 *   are read).
 * The arithmetic is the shared estimators' (src/metrics/ldp/estimators.ts); this module only groups
 * what a batch adds and writes it. The rows of hot keys are written in one order by every process
 * (sorted), so two transactions never wait on each other in a circle.
 */
import type pg from 'pg';
import type { Answer } from '../metrics/ldp/answers.js';
import { accumulate, MeanAccumulator, sortAnswers } from '../metrics/ldp/estimators.js';

/** A stored report as the running figures see it. */
export interface StoredReportFigures {
  day: string;
  hub: string;
  category: string;
  /** The report's window end, epoch seconds: the newest memoized answer wins. */
  at: number;
  /** Format 2 answers (absent for format 1). */
  answers?: Readonly<Record<string, Answer>>;
}

export interface MemoRow {
  day: string;
  hub: string;
  question: string;
  at: number;
  answer: Answer;
}

export interface BatchFigures {
  /** `${day}\0${category}` → reports. */
  counts: Map<string, number>;
  /** `${day}\0${statistic}` → the changing answers' sums. */
  sums: Map<string, MeanAccumulator>;
  /** `${day}\0${hub}\0${question}` → the newest memoized answer. */
  memos: Map<string, MemoRow>;
}

const SEP = '\u0000';

/** Groups what stored reports add to the running figures (pure). */
export function foldFigures(reports: Iterable<StoredReportFigures>): BatchFigures {
  const out: BatchFigures = { counts: new Map(), sums: new Map(), memos: new Map() };
  const dayAccs = new Map<string, Map<string, MeanAccumulator>>();
  for (const r of reports) {
    const ck = r.day + SEP + r.category;
    out.counts.set(ck, (out.counts.get(ck) ?? 0) + 1);
    if (!r.answers) continue;
    const sorted = sortAnswers(r.answers);
    let accs = dayAccs.get(r.day);
    if (!accs) dayAccs.set(r.day, (accs = new Map()));
    accumulate(accs, sorted.fresh);
    for (const { question, answer } of sorted.memos) {
      const mk = r.day + SEP + r.hub + SEP + question;
      const held = out.memos.get(mk);
      if (!held || held.at <= r.at) out.memos.set(mk, { day: r.day, hub: r.hub, question, at: r.at, answer });
    }
  }
  for (const [day, accs] of dayAccs) for (const [statistic, acc] of accs) out.sums.set(day + SEP + statistic, acc);
  return out;
}

const sortedEntries = <V>(m: Map<string, V>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Adds a batch's figures in the caller's transaction. */
export async function writeFigures(client: pg.ClientBase, f: BatchFigures): Promise<void> {
  if (f.memos.size) {
    const rows = sortedEntries(f.memos).map(([, m]) => m);
    await client.query(
      `INSERT INTO memo_answers (day, hub, question, at, answer)
       SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::int8[], $5::jsonb[])
       ON CONFLICT (day, hub, question) DO UPDATE SET at = excluded.at, answer = excluded.answer WHERE excluded.at >= memo_answers.at`,
      [rows.map((m) => m.day), rows.map((m) => m.hub), rows.map((m) => m.question), rows.map((m) => m.at), rows.map((m) => JSON.stringify(m.answer))],
    );
  }
  if (f.sums.size) {
    const rows = sortedEntries(f.sums).map(([k, acc]) => ({ day: k.slice(0, k.indexOf(SEP)), statistic: k.slice(k.indexOf(SEP) + 1), ...acc.sums() }));
    const col = (key: keyof (typeof rows)[number]) => rows.map((r) => r[key]);
    await client.query(
      `INSERT INTO answer_sums (day, statistic, n, known, sw2v, sw, swy, sw2, sw2y, sw2y2)
       SELECT * FROM unnest($1::date[], $2::text[], $3::int8[], $4::int8[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[])
       ON CONFLICT (day, statistic) DO UPDATE SET n = answer_sums.n + excluded.n, known = answer_sums.known + excluded.known,
         sw2v = answer_sums.sw2v + excluded.sw2v, sw = answer_sums.sw + excluded.sw, swy = answer_sums.swy + excluded.swy,
         sw2 = answer_sums.sw2 + excluded.sw2, sw2y = answer_sums.sw2y + excluded.sw2y, sw2y2 = answer_sums.sw2y2 + excluded.sw2y2`,
      [col('day'), col('statistic'), col('n'), col('known'), col('sw2v'), col('sw'), col('swy'), col('sw2'), col('sw2y'), col('sw2y2')],
    );
  }
  if (f.counts.size) {
    const rows = sortedEntries(f.counts);
    await client.query(
      `INSERT INTO report_counts (day, category, n) SELECT * FROM unnest($1::date[], $2::text[], $3::int8[])
       ON CONFLICT (day, category) DO UPDATE SET n = report_counts.n + excluded.n`,
      [rows.map(([k]) => k.slice(0, k.indexOf(SEP))), rows.map(([k]) => k.slice(k.indexOf(SEP) + 1)), rows.map(([, n]) => n)],
    );
  }
}

/**
 * Rebuilds the changing answers' sums from the raw format 2 reports (once, when the table is new:
 * a database from before it). Reads each day in pages of its primary key, so a day of a million
 * reports is never held at once.
 */
export async function rebuildAnswerSums(client: pg.ClientBase, pageSize = 10_000): Promise<number> {
  await client.query('DELETE FROM answer_sums');
  const days = (await client.query<{ day: string }>('SELECT DISTINCT day FROM reports WHERE v = 2 ORDER BY day')).rows.map((r) => r.day);
  let read = 0;
  for (const day of days) {
    const accs = new Map<string, MeanAccumulator>();
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const page = await client.query<{ id: string; answers: Record<string, Answer> }>(
        'SELECT id::text AS id, metrics AS answers FROM reports WHERE day = $1 AND id > $2 AND v = 2 ORDER BY id LIMIT $3',
        [day, after, pageSize],
      );
      for (const r of page.rows) accumulate(accs, sortAnswers(r.answers).fresh);
      read += page.rows.length;
      if (page.rows.length < pageSize) break;
      after = page.rows[page.rows.length - 1]!.id;
    }
    const sums = new Map<string, MeanAccumulator>();
    for (const [statistic, acc] of accs) sums.set(day + SEP + statistic, acc);
    await writeFigures(client, { counts: new Map(), sums, memos: new Map() });
  }
  return read;
}
