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
import { fakeHub, signedReport } from './helpers/collector.js';
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
    const before = await computeStats(store, day, 1);
    expect(before.statistics['weigh_ins_mean']!.n).toBe(50);

    await runHousekeeping(store, config, noon + 20 * DAY_MS); // past the window age: final, raw still kept
    expect(await store.partitionDays()).toContain(day);
    await runHousekeeping(store, config, noon + (config.retentionDays + 1) * DAY_MS);
    expect(await store.partitionDays()).not.toContain(day);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    expect((await db.query("SELECT count(*)::int AS n FROM reports WHERE day = '2026-01-10'")).rows[0].n).toBe(0);
    const kept = (await db.query("SELECT statistic, n FROM daily_estimates WHERE day = '2026-01-10'")).rows;
    await db.end();
    expect(kept).toEqual([{ statistic: 'weigh_ins_mean', n: 50 }]);

    const after = await computeStats(store, day, 1);
    expect(after.statistics).toEqual(before.statistics);
    expect(after.reports).toEqual(before.reports);
    // Pooling a week that spans the dropped day and an empty one.
    expect((await computeStats(store, '2026-01-12', 7)).statistics['weigh_ins_mean']!.n).toBe(50);
  });
});
