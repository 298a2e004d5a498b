/**
 * The collector's storage on a real PostgreSQL: migrations applied once, the batch commit's
 * outcomes (stored, replayed id, taken window, swapped key) also when two processes' transactions
 * race, and retention: a day's raw partition dropped after the retention period while its
 * estimates stay exactly as they were.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCollectorConfig } from '../src/collector/config.js';
import { MIGRATIONS } from '../src/collector/migrations.js';
import { runHousekeeping } from '../src/collector/service.js';
import { computeStats } from '../src/collector/stats.js';
import { CollectorStore, type StoreItem } from '../src/collector/store.js';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import type { Answer } from '../src/metrics/ldp/answers.js';
import { StatisticsPool } from '../src/metrics/ldp/estimators.js';
import { fakeHub, signedReport, signedReportV2 } from './helpers/collector.js';
import { startPostgres } from './helpers/postgres.mjs';

const DAY_MS = 86_400_000;

describe('collector storage on PostgreSQL', () => {
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let url: string;
  let store: CollectorStore;
  let sodium: SodiumApi;
  const config = loadCollectorConfig({ flags: { database: 'postgres://x@127.0.0.1/x' }, env: {}, required: [] });

  beforeAll(async () => {
    sodium = await loadSodium();
    postgres = await startPostgres({ settings: { fsync: 'off' } });
    url = await postgres.createDatabase('collector_store');
    store = CollectorStore.connect(url, null, 4);
  });

  afterAll(async () => {
    await store?.close();
    await postgres?.stop();
  });

  const item = (hub: ReturnType<typeof fakeHub>, windowEndMs: number, values?: Record<string, number>, id?: string): StoreItem => {
    const report = signedReport(sodium, hub, { windowEndMs, values, ...(id ? { id } : {}) });
    return { report, day: new Date(windowEndMs - 1000).toISOString().slice(0, 10) };
  };

  it('applies its migrations once, also when two processes start together', async () => {
    const other = CollectorStore.connect(url, null, 2);
    const [a, b] = await Promise.all([store.migrate(), other.migrate()]);
    expect([...a, ...b].sort()).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await store.migrate()).toEqual([]);
    await other.close();
  });

  it('stores each report once: replayed ids, taken windows and swapped keys are refused, also across racing transactions', async () => {
    const now = Date.parse('2026-03-10T12:00:00Z');
    await runHousekeeping(store, config, now);
    const hub = fakeHub(sodium);
    const impostor = fakeHub(sodium);
    const first = item(hub, now - 3600_000);
    expect(await store.commitBatch([first], [], now)).toEqual(['stored']);
    const sameWindow = item(hub, now - 3600_000);
    const swapped = { ...item({ ...impostor, pseudonym: hub.pseudonym }, now - 7200_000) };
    expect(await store.commitBatch([first, sameWindow, swapped, first], ['malformed-json'], now)).toEqual(['duplicate-id', 'duplicate-window', 'key-mismatch', 'duplicate-id']);

    // Two collectors' transactions with the same 200 reports in opposite orders.
    const hubs = Array.from({ length: 20 }, () => fakeHub(sodium));
    const items = Array.from({ length: 200 }, (_, i) => item(hubs[i % 20]!, now - 60_000 - Math.floor(i / 20) * 3600_000));
    const second = CollectorStore.connect(url, null, 2);
    const [x, y] = await Promise.all([store.commitBatch(items, [], now), second.commitBatch([...items].reverse(), [], now)]);
    await second.close();
    const storedOnce = items.map((_, i) => [x[i], y[items.length - 1 - i]].filter((o) => o === 'stored').length);
    expect(storedOnce.every((n) => n === 1)).toBe(true);
    expect([...x, ...y].every((o) => o === 'stored' || o === 'duplicate-id')).toBe(true);

    const stats = await computeStats(store, '2026-03-10', 1);
    expect(stats.reports).toEqual({ 'scale-usage': 201 });
    expect(stats.refused).toEqual({ 'duplicate-id': 202, 'duplicate-window': 1, 'key-mismatch': 1, 'malformed-json': 1 });
  });

  it('drops a day’s raw reports after the retention period and keeps its estimates exactly', async () => {
    const day = '2026-01-10';
    const noon = Date.parse(`${day}T12:00:00Z`);
    await runHousekeeping(store, config, noon);
    const hubs = Array.from({ length: 50 }, () => fakeHub(sodium));
    await store.commitBatch(hubs.map((h, i) => item(h, noon - 60_000, { weigh_ins: (i * 13) % 41 - 10 })), [], noon);
    // Format 2 as well: a changing answer (running sums) and a memoized one (kept per home).
    const v2 = hubs.slice(0, 20).map((h, i) => ({
      report: signedReportV2(sodium, h, {
        category: 'adoption',
        windowEndMs: noon - 60_000,
        answers: {
          activations: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 5, bit: (i % 3 === 0 ? 1 : 0) as 0 | 1 },
          has_scale: { mechanism: 'randomized-response', epsilon: 1, spent: 1, memo: true, bit: (i % 4 === 0 ? 1 : 0) as 0 | 1 },
        },
      }),
      day,
    }));
    expect(await store.commitBatch(v2, [], noon)).toEqual(Array(20).fill('stored'));
    const before = await computeStats(store, day, 1);
    expect(before.statistics['weigh_ins_mean']!.n).toBe(50);
    expect(before.statistics['activations_mean']!.n).toBe(20);
    expect(before.statistics['has_scale_share']!.n).toBe(20);

    await runHousekeeping(store, config, noon + 20 * DAY_MS); // past the window age: final, raw still kept
    expect(await store.partitionDays()).toContain(day);
    await runHousekeeping(store, config, noon + (config.retentionDays + 1) * DAY_MS);
    expect(await store.partitionDays()).not.toContain(day);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    expect((await db.query("SELECT count(*)::int AS n FROM reports WHERE day = '2026-01-10'")).rows[0].n).toBe(0);
    const kept = (await db.query("SELECT statistic, n FROM daily_estimates WHERE day = '2026-01-10' ORDER BY statistic")).rows;
    // What was kept per home goes with the raw reports.
    expect((await db.query("SELECT count(*)::int AS n FROM memo_answers WHERE day = '2026-01-10'")).rows[0].n).toBe(0);
    expect((await db.query("SELECT count(*)::int AS n FROM answer_sums WHERE day = '2026-01-10'")).rows[0].n).toBe(0);
    await db.end();
    expect(kept).toEqual([
      { statistic: 'activations_mean', n: 20 },
      { statistic: 'has_scale_share', n: 20 },
      { statistic: 'weigh_ins_mean', n: 50 },
    ]);

    const after = await computeStats(store, day, 1);
    expect(after.statistics).toEqual(before.statistics);
    expect(after.reports).toEqual(before.reports);
    // Pooling a week that spans the dropped day and an empty one.
    expect((await computeStats(store, '2026-01-12', 7)).statistics['weigh_ins_mean']!.n).toBe(50);
  });

  it('keeps running figures as it stores format 2 reports (the stats equal the shared estimators over every answer), and fills them once for a database from before them', async () => {
    // A database as the collector left it before the running figures (migrations 1–3), with reports in it.
    const oldUrl = await postgres.createDatabase('collector_backfill');
    const db = new pg.Client({ connectionString: oldUrl });
    await db.connect();
    await db.query('CREATE TABLE collector_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const m of MIGRATIONS.filter((x) => x.version <= 3)) {
      await db.query(m.sql);
      await db.query('INSERT INTO collector_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
    const days = ['2026-04-01', '2026-04-02'];
    for (const d of days) await db.query(`CREATE TABLE reports_${d.replaceAll('-', '')} PARTITION OF reports FOR VALUES FROM ('${d}') TO ('${d.slice(0, 8)}0${Number(d.slice(9)) + 1}')`);
    const expected = new StatisticsPool();
    const counts: Record<string, number> = {};
    const hubs = Array.from({ length: 30 }, () => fakeHub(sodium));
    const answersOf = (h: number, d: number): Record<string, Answer> => ({
      activations: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 5, bit: ((h * 7 + d) % 3 === 0 ? 1 : 0) as 0 | 1 },
      activated: { mechanism: 'randomized-response', epsilon: 0.5, spent: 0.5, memo: false, bit: ((h + d) % 2) as 0 | 1 },
      // Memoized: the newest of a home's answers over the pooled days is the one counted.
      has_scale: { mechanism: 'randomized-response', epsilon: 1, spent: 1, memo: true, bit: ((h + d) % 4 === 0 ? 1 : 0) as 0 | 1 },
      cameras_bucket: { mechanism: 'dbitflip', epsilon: 2, spent: 2, memo: true, buckets: 6, bits: { [String(h % 6)]: 1, [String((h + 3) % 6)]: (d % 2) as 0 | 1 } },
      // Does not fit its question (wrong bound): stored with the report, never estimated.
      cameras: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: true, bound: 99, bit: 1 },
    });
    const report = (h: number, d: number) => signedReportV2(sodium, hubs[h]!, { category: 'adoption', windowEndMs: Date.parse(`${days[d]}T23:00:00Z`), answers: answersOf(h, d) });
    for (let h = 0; h < 20; h++) {
      const r = report(h, 0);
      await db.query(
        'INSERT INTO reports (day, id, hub, category, v, window_start, window_end, metrics, privacy) VALUES ($1, $2, $3, $4, 2, $5, $6, $7, $8)',
        [days[0], r.id, r.hub, r.category, r.window.start, r.window.end, JSON.stringify(r.answers), JSON.stringify(r.privacy)],
      );
      await db.query('INSERT INTO hub_keys (hub, key, registered) VALUES ($1, $2, false)', [r.hub, r.key]);
      expected.add(r.hub, r.window.end * 1000, r.answers);
      counts.adoption = (counts.adoption ?? 0) + 1;
    }
    await db.end();

    const upgraded = CollectorStore.connect(oldUrl, null, 2);
    try {
      expect(await upgraded.migrate()).toEqual([4]);
      // Then reports arrive through the batch path: a second day for some homes, the first for others.
      const now = Date.parse('2026-04-03T01:00:00Z');
      await upgraded.ensurePartitions(days[0]!, days[1]!);
      const items = [] as StoreItem[];
      for (let h = 10; h < 30; h++) {
        const r = report(h, 1);
        items.push({ report: r, day: days[1]! });
        expected.add(r.hub, r.window.end * 1000, r.answers);
        counts.adoption = (counts.adoption ?? 0) + 1;
      }
      // A hostile hub's answer with an ε so small that e^ε is 1 fits every shape check: stored
      // with its report, never estimated, and it stops nothing (it would make the sums infinite).
      const tiny = signedReportV2(sodium, fakeHub(sodium), {
        category: 'adoption',
        windowEndMs: Date.parse(`${days[1]}T22:00:00Z`),
        answers: {
          activations: { mechanism: '1bitmean', epsilon: 1e-300, spent: 1e-300, memo: false, bound: 5, bit: 1 },
          has_scale: { mechanism: 'randomized-response', epsilon: 1e-300, spent: 1e-300, memo: true, bit: 1 },
        },
      });
      expect(await upgraded.commitBatch([{ report: tiny, day: days[1]! }], [], now)).toEqual(['stored']);
      counts.adoption = (counts.adoption ?? 0) + 1;
      // The same reports again (a redelivery) change nothing.
      expect(await upgraded.commitBatch(items.slice(0, 12), [], now)).toEqual(Array(12).fill('stored'));
      expect(await upgraded.commitBatch(items, [], now)).toEqual([...Array(12).fill('duplicate-id'), ...Array(8).fill('stored')]);

      const stats = await computeStats(upgraded, days[1]!, 2);
      expect(stats.reports).toEqual(counts);
      const want = expected.estimates();
      expect(Object.keys(stats.statistics).sort()).toEqual(Object.keys(want).sort());
      expect(Object.keys(want)).toEqual(expect.arrayContaining(['activations_mean', 'activated_share', 'has_scale_share', 'cameras_bucket_0_share']));
      for (const [name, e] of Object.entries(want)) {
        const got = stats.statistics[name]!;
        expect(got.n, name).toBe(e.n);
        expect(got.estimate, name).toBeCloseTo(e.estimate, 9);
        expect(got.ci_low, name).toBeCloseTo(e.ciLow, 9);
        expect(got.ci_high, name).toBeCloseTo(e.ciHigh, 9);
      }
      expect(stats.statistics['has_scale_share']!.n).toBe(30); // once per home over the two days
      expect(stats.statistics['activations_mean']!.n).toBe(40); // once per report
    } finally {
      await upgraded.close();
    }
  });
});
