/**
 * Two collector processes on one shared subscription, real Mosquitto and PostgreSQL: the stream is
 * split between them and every report is stored exactly once, even when one is killed with
 * SIGKILL mid-stream (and comes back under its name, as systemd would restart it) and the other is
 * stopped with SIGTERM mid-stream and restarted.
 */
import mqtt from 'mqtt';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSodium } from '../src/crypto/sodium.js';
import { fakeHub, reportBytes, signedReport, startCollectorProcess, type CollectorProcess } from './helpers/collector.js';
import { tempDir } from './helpers/hub.js';
import { startPostgres } from './helpers/postgres.mjs';
import { Mosquitto } from './uplink-helpers.js';

describe('two collector processes on one shared subscription', () => {
  const mq = tempDir('hearth-mosquitto-');
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let database: string;
  let mosquitto: Mosquitto;
  const running = new Set<CollectorProcess>();

  beforeAll(async () => {
    [postgres, mosquitto] = await Promise.all([
      startPostgres({ settings: { fsync: 'off' } }),
      // The broker must keep what is queued for a collector while it is away (Mosquitto's default is 1000 per session).
      Mosquitto.start(mq.path, { globalLines: ['max_queued_messages 0'] }),
    ]);
    database = await postgres.createDatabase('collector_scale');
  });

  afterAll(async () => {
    for (const c of running) await c.stop();
    await mosquitto?.stop();
    await postgres?.stop();
    mq.cleanup();
  });

  const start = async (instance: string, group = 'test') => {
    const c = await startCollectorProcess({ broker: mosquitto.url, database, instance, group });
    running.add(c);
    return c;
  };

  it('stores every report exactly once through a SIGKILL of one process and a SIGTERM of the other', async () => {
    const sodium = await loadSodium();
    let a = await start('a');
    let b = await start('b');
    const db = new pg.Client({ connectionString: database });
    await db.connect();
    const stored = async () => (await db.query<{ n: string }>('SELECT count(*) AS n FROM reports')).rows[0]!.n;

    const N = 1500;
    const now = Date.now();
    const hubs = Array.from({ length: 150 }, () => fakeHub(sodium));
    const reports = Array.from({ length: N }, (_, i) => {
      const hub = hubs[i % hubs.length]!;
      // Each hub reports ten consecutive hour windows.
      return { hub, report: signedReport(sodium, hub, { windowEndMs: now - 60_000 - Math.floor(i / hubs.length) * 3_600_000, windowMs: 3_600_000, values: { weigh_ins: i % 21 } }) };
    });
    const publisher = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    const publish = (from: number, to: number) => Promise.all(reports.slice(from, to).map((r) => publisher.publishAsync(r.hub.topic, reportBytes(r.report), { qos: 1 })));

    await publish(0, 500);
    await until(async () => Number(await stored()) >= 150, 'first reports stored');
    await a.kill(); // mid-stream: whatever it had in flight stays with its sessions at the broker
    running.delete(a);
    await publish(500, 1000);
    a = await start('a');
    await until(async () => Number(await stored()) >= 750, 'more reports stored');
    const stopping = b.stop(); // graceful, mid-stream
    await publish(1000, N);
    expect(await stopping).toBe(0);
    running.delete(b);
    expect(b.output()).toMatch(/collector stopped/);
    b = await start('b');
    await until(async () => Number(await stored()) === N, `all ${N} stored`, 30_000);
    publisher.end(true);

    // Exactly the published ids, each once.
    const ids = (await db.query<{ id: string }>('SELECT id::text FROM reports')).rows.map((r) => r.id).sort();
    expect(ids).toEqual(reports.map((r) => r.report.id).sort());
    // Nothing refused but redeliveries of what was already committed; both processes did a share.
    const refused = (await db.query<{ reason: string }>("SELECT reason FROM refusals WHERE reason <> 'duplicate-id'")).rows;
    expect(refused).toEqual([]);
    const [ma, mb] = [await a.metrics(), await b.metrics()];
    expect(ma['hearth_collector_stored_total']! + mb['hearth_collector_stored_total']!).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(Number(await stored())).toBe(N);
    await db.end();
    for (const c of running) await c.stop();
    running.clear();
  });

  it('rides out PostgreSQL and the broker going away: nothing acknowledged meanwhile, nothing lost', async () => {
    const sodium = await loadSodium();
    const c = await start('outage', 'outage'); // a group of its own: the first test's sessions still hold a share of 'test'
    const db = new pg.Client({ connectionString: database });
    await db.connect();
    const before = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM reports')).rows[0]!.n);
    await db.end();
    const hubs = Array.from({ length: 40 }, () => fakeHub(sodium));
    const batch = (k: number) => hubs.map((h) => ({ topic: h.topic, payload: reportBytes(signedReport(sodium, h, { windowEndMs: Date.now() - 60_000 - (20 + k) * 3_600_000, windowMs: 3_600_000 })) }));
    const publisher = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });

    await postgres.pause();
    await Promise.all(batch(0).map((m) => publisher.publishAsync(m.topic, m.payload, { qos: 1 })));
    await until(async () => (await fetch(`http://127.0.0.1:${c.httpPort}/readyz`)).status === 503, 'not ready while the database is down');
    // The housekeeping's ping or the batch may be first to find the database gone; the batch fails soon after.
    await until(async () => (await c.metrics())['hearth_collector_batch_failures_total']! > 0, 'a failed batch');
    const down = await c.metrics();
    expect(down['hearth_collector_stored_total']).toBe(0);
    await postgres.resume();
    await until(async () => (await c.metrics())['hearth_collector_stored_total'] === 40, 'stored once the database is back', 40_000);

    publisher.end(true);
    await mosquitto.stop();
    await until(async () => (await c.metrics())['hearth_collector_broker_connections'] === 0, 'broker gone');
    await mosquitto.resume();
    await until(async () => (await fetch(`http://127.0.0.1:${c.httpPort}/readyz`)).status === 200, 'ready again after the broker returns', 40_000);
    const again = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    await Promise.all(batch(1).map((m) => again.publishAsync(m.topic, m.payload, { qos: 1 })));
    again.end(true);
    await until(async () => (await c.metrics())['hearth_collector_stored_total'] === 80, 'stored after the broker returns', 20_000);
    const check = new pg.Client({ connectionString: database });
    await check.connect();
    expect(Number((await check.query<{ n: string }>('SELECT count(*) AS n FROM reports')).rows[0]!.n)).toBe(before + 80);
    await check.end();
    expect(c.proc.exitCode).toBeNull();
  });
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
