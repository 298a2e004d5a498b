/**
 * Format 2 end to end: simulated homes answer day by day through the hub's own answering code
 * (question choice, encodings, memos, budget: src/metrics/ldp/daily.ts), their signed reports go
 * through a real Mosquitto into the collector and a real PostgreSQL, and the collector's pooled
 * week equals the shared estimators run on the same answers in the test, with the simulated truth
 * inside the 95 % intervals.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSodium } from '../src/crypto/sodium.js';
import type { Category } from '../src/metrics/categories.js';
import type { Answer } from '../src/metrics/ldp/answers.js';
import { answerDay, MapMemoStore } from '../src/metrics/ldp/daily.js';
import { STATISTICS, StatisticsPool } from '../src/metrics/ldp/estimators.js';
import { QUESTIONS, questionValue } from '../src/metrics/ldp/questions.js';
import { signReportV2 } from '../src/uplink/report-v2.js';
import { newReportId, reportBytes } from '../src/uplink/report.js';
import { collectorCli, fakeHub, startCollectorProcess, type CollectorProcess } from './helpers/collector.js';
import { tempDir } from './helpers/hub.js';
import { startPostgres } from './helpers/postgres.mjs';
import { Mosquitto, seededRandom } from './uplink-helpers.js';

const DAY_MS = 86_400_000;

describe('format 2 reports from simulated homes, through Mosquitto into PostgreSQL', () => {
  const mq = tempDir('hearth-mosquitto-');
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  let database: string;
  let mosquitto: Mosquitto;
  let collector: CollectorProcess;

  beforeAll(async () => {
    [postgres, mosquitto] = await Promise.all([startPostgres({ settings: { fsync: 'off' } }), Mosquitto.start(mq.path, { globalLines: ['max_queued_messages 0'] })]);
    database = await postgres.createDatabase('collector_v2');
    collector = await startCollectorProcess({ broker: mosquitto.url, database, instance: 'v2' });
  });

  afterAll(async () => {
    await collector?.stop();
    await mosquitto?.stop();
    await postgres?.stop();
    mq.cleanup();
  });

  it('estimates what the shared estimators estimate, and the intervals hold the truth', async () => {
    const sodium = await loadSodium();
    const random = seededRandom(sodium, 'collector-v2-simulation');
    const HOMES = 150;
    const WARMUP = 8; // memos filled before the pooled week (those reports went out earlier)
    const DAYS = 7;
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    const firstDay = today - DAYS * DAY_MS; // the pooled week ends yesterday
    const expected = new StatisticsPool();
    const truth = new Map(STATISTICS.map((s) => [s.name, { sum: 0, n: 0 }]));
    const addTruth = (name: string, v: number) => {
      const t = truth.get(name)!;
      t.sum += v;
      t.n++;
    };
    const messages: { topic: string; payload: Buffer }[] = [];
    for (let h = 0; h < HOMES; h++) {
      const hub = fakeHub(sodium);
      const memos = new MapMemoStore();
      const cameras = h % 7;
      const scales = h % 3 === 0 ? 1 : 0;
      let last: Record<Category, Record<string, number>> | undefined;
      for (let d = 0; d < WARMUP + DAYS; d++) {
        const k = h + d;
        const values: Record<Category, Record<string, number>> = {
          adoption: { activations: k % 4, cameras, scales },
          'device-health': { connect_attempts: 10 + (k % 20), connect_failures: k % 6, online_percent: 60 + (k % 41), reboots: k % 3 },
          'scale-usage': { weigh_ins: scales ? k % 5 : 0 },
        };
        const day = answerDay({ values, remaining: 1, dailyEpsilon: 1, questionsPerDay: 1 }, memos, random);
        if (d < WARMUP) continue;
        last = values;
        const start = firstDay + (d - WARMUP) * DAY_MS;
        for (const [category, answers] of Object.entries(day.answers) as [Category, Record<string, Answer>][]) {
          const report = signReportV2(sodium, hub.keys.privateKey, {
            v: 2,
            id: newReportId(sodium),
            hub: hub.pseudonym,
            key: Buffer.from(hub.keys.publicKey).toString('base64'),
            category,
            window: { start: start / 1000, end: (start + DAY_MS) / 1000 },
            answers,
            privacy: { daily_epsilon: 1, spent: Object.values(answers).reduce((s, a) => s + a.spent, 0) },
          });
          expected.add(hub.pseudonym, report.window.end * 1000, answers);
          messages.push({ topic: hub.topic, payload: reportBytes(report) });
        }
        for (const q of QUESTIONS) if (!q.stable) addTruth(q.kind === 'mean' ? `${q.name}_mean` : `${q.name}_share`, questionValue(q, values[q.category]));
      }
      for (const q of QUESTIONS.filter((x) => x.stable)) {
        const v = questionValue(q, last![q.category]);
        if (q.kind === 'mean') addTruth(`${q.name}_mean`, v);
        else if (q.kind === 'yes-no') addTruth(`${q.name}_share`, v);
        else STATISTICS.filter((s) => s.question === q.name).forEach((s) => addTruth(s.name, v === s.bucket ? 1 : 0));
      }
    }

    const client = await mqtt.connectAsync(mosquitto.url, { protocolVersion: 5, reconnectPeriod: 0 });
    for (let i = 0; i < messages.length; i += 500) await Promise.all(messages.slice(i, i + 500).map((m) => client.publishAsync(m.topic, m.payload, { qos: 1 })));
    client.end(true);
    const until = Date.now() + 30_000;
    while ((await collector.metrics())['hearth_collector_stored_total'] !== messages.length) {
      if (Date.now() > until) throw new Error(`stored ${(await collector.metrics())['hearth_collector_stored_total']} of ${messages.length}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const yesterday = new Date(today - DAY_MS).toISOString().slice(0, 10);
    const res = collectorCli(['stats', '--database', database, '--day', yesterday, '--days', String(DAYS), '--json']);
    expect(res.code, res.stderr).toBe(0);
    const stats = JSON.parse(res.stdout) as { statistics: Record<string, { estimate: number; ci_low: number; ci_high: number; n: number }>; refused: Record<string, number> };
    expect(stats.refused).toEqual({});
    const want = expected.estimates();
    expect(Object.keys(stats.statistics).sort()).toEqual(Object.keys(want).sort());
    let inside = 0;
    for (const [name, e] of Object.entries(want)) {
      const got = stats.statistics[name]!;
      expect(got.n, name).toBe(e.n);
      expect(got.estimate, name).toBeCloseTo(e.estimate, 9);
      expect(got.ci_low, name).toBeCloseTo(e.ciLow, 9);
      const t = truth.get(name)!;
      if (got.ci_low <= t.sum / t.n && t.sum / t.n <= got.ci_high) inside++;
    }
    // Each interval holds the truth with 95 %: all but at most a few of the statistics do.
    expect(Object.keys(want).length).toBeGreaterThanOrEqual(10);
    expect(inside).toBeGreaterThanOrEqual(Object.keys(want).length - 2);
  });
});
