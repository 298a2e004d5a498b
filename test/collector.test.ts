/**
 * The collector with real parts: real hearth hubs (the compiled daemon, consent given through its
 * CLI) report to a real Mosquitto; the compiled `hearth-collector` takes the reports off a shared
 * subscription, verifies them and stores them once in a real PostgreSQL; its stats come out of the
 * CLI and the HTTP API. Then every kind of bad report, each refused and counted while the
 * collector stays up.
 */
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import type { Report } from '../src/uplink/report.js';
import { collectorCli, fakeHub, reportBytes, signedReport, startCollectorProcess, type CollectorProcess } from './helpers/collector.js';
import { cli, nextWholeSecond, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.mjs';
import { Mosquitto } from './uplink-helpers.js';

describe('hearth-collector with real hubs, Mosquitto and PostgreSQL', () => {
  const mq = tempDir('hearth-mosquitto-');
  const hubDirs = [tempDir(), tempDir()];
  const daemons: DaemonHandle[] = [];
  let postgres: TestPostgres;
  let database: string;
  let mosquitto: Mosquitto;
  let collector: CollectorProcess;
  let sodium: SodiumApi;
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    sodium = await loadSodium();
    [postgres, mosquitto] = await Promise.all([startPostgres({ settings: { fsync: 'off' } }), Mosquitto.start(mq.path)]);
    database = await postgres.createDatabase('collector_e2e');
    collector = await startCollectorProcess({ broker: mosquitto.url, database, instance: 'e2e' });
  });

  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await collector?.stop();
    await mosquitto?.stop();
    await postgres?.stop();
    for (const d of [mq, ...hubDirs]) d.cleanup();
  });

  const statsJson = (extra: string[] = []) => {
    const res = collectorCli(['stats', '--database', database, '--day', today, '--days', '1', '--json', ...extra]);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout) as { day: string; reports: Record<string, number>; refused: Record<string, number>; statistics: Record<string, { estimate: number; ci_low: number; ci_high: number; n: number }> };
  };

  it('receives the hubs’ reports, verifies them, stores each once and publishes the estimates', async () => {
    const consents = [['adoption', 'device-health'], ['adoption', 'scale-usage']];
    const queued: { category: string; reportId: string }[] = [];
    for (const [i, dir] of hubDirs.entries()) {
      expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
      for (const c of consents[i]!) expect(cli(['consent', 'set', c, 'on', '--data-dir', dir.path]).code).toBe(0);
      daemons.push(await startDaemon(dir.path, [], { HEARTH_UPLINK_URL: mosquitto.url }));
      await nextWholeSecond(); // the window opened at start; closed within that second it would be empty
      const closed = JSON.parse(cli(['report', 'now', '--json', '--data-dir', dir.path]).stdout) as { outcomes: { category: string; status: string; reportId?: string }[] };
      for (const o of closed.outcomes) if (o.status === 'queued') queued.push({ category: o.category, reportId: o.reportId! });
    }
    // Each hub has a memoized or fresh answer to send for at least one category.
    expect(queued.length).toBeGreaterThanOrEqual(2);
    await waitForAsync(async () => (await collector.metrics())['hearth_collector_stored_total'] === queued.length, 30_000, `${queued.length} reports stored`);
    // Exactly what left the hubs (their ledgers) arrived.
    expect(hubDirs.reduce((n, d) => n + (JSON.parse(cli(['ledger', '--json', '--data-dir', d.path]).stdout) as unknown[]).length, 0)).toBe(queued.length);

    const m = await collector.metrics();
    expect(m['hearth_collector_received_total']).toBe(queued.length);
    expect(m['hearth_collector_duplicate_total']).toBe(0);
    const db = new pg.Client({ connectionString: database });
    await db.connect();
    try {
      const rows = (await db.query<{ id: string; category: string; v: number }>('SELECT id::text, category, v FROM reports')).rows;
      expect(rows.map((r) => r.id).sort()).toEqual(queued.map((q) => q.reportId).sort());
      expect(rows.every((r) => r.v === 2)).toBe(true); // the hubs send format 2
      // Each hub's key was pinned on first sight, under the pseudonym `hearth report pubkey` prints.
      for (const d of hubDirs) {
        const pub = JSON.parse(cli(['report', 'pubkey', '--json', '--data-dir', d.path]).stdout) as { pseudonym: string; publicKey: string };
        const pin = (await db.query<{ key: string }>('SELECT key FROM hub_keys WHERE hub = $1', [pub.pseudonym])).rows[0];
        expect(pin?.key).toBe(pub.publicKey);
      }
    } finally {
      await db.end();
    }

    const stats = statsJson();
    expect(stats.day).toBe(today);
    const perCategory: Record<string, number> = {};
    for (const q of queued) perCategory[q.category] = (perCategory[q.category] ?? 0) + 1;
    expect(stats.reports).toEqual(Object.fromEntries(Object.entries(perCategory).sort(([a], [b]) => (a < b ? -1 : 1))));
    for (const e of Object.values(stats.statistics)) {
      expect(e.n).toBeGreaterThanOrEqual(2);
      expect(e.ci_low).toBeLessThanOrEqual(e.estimate);
      expect(e.ci_high).toBeGreaterThanOrEqual(e.estimate);
    }

    // The same numbers over HTTP, and the chart page draws them.
    const viaHttp = (await (await fetch(`http://127.0.0.1:${collector.httpPort}/v1/stats?day=${today}&days=1`)).json()) as typeof stats;
    expect(viaHttp.statistics).toEqual(stats.statistics);
    expect(viaHttp.reports).toEqual(stats.reports);
    const page = await fetch(`http://127.0.0.1:${collector.httpPort}/?statistic=${Object.keys(stats.statistics)[0] ?? 'cameras_mean'}&days=7`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<svg');
    if (Object.keys(stats.statistics).length) expect(html).toContain('class="estimate"');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect((await fetch(`http://127.0.0.1:${collector.httpPort}/v1/stats?day=not-a-day`)).status).toBe(400);
  });

  it('refuses and counts every kind of bad report, logs no more than the report id, and stays up', async () => {
    const client = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const now = Date.now();
    const hub = fakeHub(sodium);
    const other = fakeHub(sodium);
    const first = signedReport(sodium, hub, { windowEndMs: now - 60_000 });
    const canary = 'canary-7c1e-secret';

    const forged = { ...signedReport(sodium, hub, { windowEndMs: now - 120_000, windowMs: 30_000 }), metrics: { weigh_ins: 19 } } as Report;
    const swapped = signedReport(sodium, { ...other, pseudonym: hub.pseudonym, topic: hub.topic }, { windowEndMs: now - 300_000, windowMs: 30_000 });
    const sameWindow = signedReport(sodium, hub, { windowEndMs: now - 60_000 });
    const wrongTopic = signedReport(sodium, other, { windowEndMs: now - 60_000 });
    const future = signedReport(sodium, other, { windowEndMs: now + 3_600_000, windowMs: 60_000 });
    const old = signedReport(sodium, other, { windowEndMs: now - 20 * 86_400_000 });
    const sends: [string, Buffer | string][] = [
      [hub.topic, reportBytes(first)], // stored (pins hub's key)
      [hub.topic, reportBytes(forged)], // bad-signature
      [hub.topic, reportBytes(swapped)], // key-mismatch
      [hub.topic, reportBytes(first)], // duplicate-id (a replay)
      [hub.topic, reportBytes(sameWindow)], // duplicate-window
      [hub.topic, reportBytes(wrongTopic)], // topic-mismatch
      [hub.topic, `{"v":1,"id":"${canary}",`], // malformed-json
      [hub.topic, JSON.stringify({ v: 1, note: canary })], // schema
      [other.topic, reportBytes(future)], // window-future
      [other.topic, reportBytes(old)], // window-too-old
      [hub.topic, Buffer.alloc(10 * 1024 * 1024, 'a')], // too-large
    ];
    // In order, one at a time: the replay must come after the original is stored.
    const before = (await collector.metrics())['hearth_collector_received_total']!;
    const storedBefore = (await collector.metrics())['hearth_collector_stored_total']!;
    for (const [i, [topic, payload]] of sends.entries()) {
      await publishAcked(client, topic, payload);
      await waitForAsync(async () => (await collector.metrics())['hearth_collector_received_total'] === before + i + 1 && (await collector.metrics())['hearth_collector_pending'] === 0, 15_000, `message ${i} handled`);
    }
    client.end(true);

    const m = await collector.metrics();
    const refused = (r: string) => m[`hearth_collector_refused_total{reason="${r}"}`];
    for (const r of ['bad-signature', 'key-mismatch', 'duplicate-id', 'duplicate-window', 'topic-mismatch', 'malformed-json', 'schema', 'window-future', 'window-too-old', 'too-large']) {
      expect(refused(r), r).toBe(1);
    }
    expect(m['hearth_collector_stored_total']).toBe(storedBefore + 1);
    expect(m['hearth_collector_duplicate_total']).toBe(1);
    expect(collector.proc.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${collector.httpPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${collector.httpPort}/readyz`)).status).toBe(200);

    // Refusals are counted in the database too, per reason.
    const stats = statsJson();
    expect(stats.refused).toEqual({
      'bad-signature': 1,
      'duplicate-id': 1,
      'duplicate-window': 1,
      'key-mismatch': 1,
      'malformed-json': 1,
      schema: 1,
      'too-large': 1,
      'topic-mismatch': 1,
      'window-future': 1,
      'window-too-old': 1,
    });
    // The log names refusals by reason and report id only; nothing else from a payload.
    const log = collector.output();
    expect(log).toMatch(/report refused reason=bad-signature reportId=[0-9a-f-]{36}/);
    expect(log).not.toContain(canary);
    expect(log).not.toContain(hub.pseudonym);
  });

  it('accepts only registered keys in registered mode, from `hubs import` of `hearth report pubkey` lines', async () => {
    // A deployment of its own (its own database): the collector above gets a copy of these too.
    const strictDb = await postgres.createDatabase('collector_strict');
    const registered = fakeHub(sodium);
    const unknown = fakeHub(sodium);
    const dir = tempDir('hearth-keys-');
    const file = `${dir.path}/keys.txt`;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, `pseudonym:  ${registered.pseudonym}\npublic key: ${Buffer.from(registered.keys.publicKey).toString('base64')} (Ed25519, base64)\n`);
    const res = collectorCli(['hubs', 'import', file, '--database', strictDb]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('registered 1 hub key');
    writeFileSync(file, 'pseudonym: nothex\n');
    expect(collectorCli(['hubs', 'import', file, '--database', strictDb]).code).toBe(1);
    dir.cleanup();

    const strict = await startCollectorProcess({ broker: mosquitto.url, database: strictDb, instance: 'strict', group: 'strict', extra: ['--key-mode', 'registered'] });
    try {
      const client = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
      const now = Date.now();
      await publishAcked(client, registered.topic, reportBytes(signedReport(sodium, registered, { windowEndMs: now - 1000 })));
      await publishAcked(client, unknown.topic, reportBytes(signedReport(sodium, unknown, { windowEndMs: now - 1000 })));
      client.end(true);
      await waitForAsync(async () => (await strict.metrics())['hearth_collector_received_total'] === 2 && (await strict.metrics())['hearth_collector_pending'] === 0, 10_000, 'both handled');
      const m = await strict.metrics();
      expect(m['hearth_collector_stored_total']).toBe(1);
      expect(m['hearth_collector_refused_total{reason="unregistered-key"}']).toBe(1);
    } finally {
      await strict.stop();
    }
  });
});

async function waitForAsync(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
