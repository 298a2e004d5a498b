/**
 * The collector's pure parts: each stateless check refuses with its own reason, hub key files parse
 * as `hearth report pubkey` prints them, the configuration refuses what it must, and the v1
 * estimator's 95 % intervals (over reports noised by the hub's own mechanism) hold the truth about
 * 95 % of the time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkReport, dataDay, type CheckLimits } from '../src/collector/checks.js';
import { loadCollectorConfig } from '../src/collector/config.js';
import { meanEstimate, type MeanSums } from '../src/collector/estimate.js';
import { parseHubKeys } from '../src/collector/hub-keys.js';
import { reportSchemas, type ReportSchemas } from '../src/collector/schema.js';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import { privatize } from '../src/metrics/dp.js';
import type { Report } from '../src/uplink/report.js';
import { fakeHub, reportBytes, signedReport } from './helpers/collector.js';
import { seededRandom } from './uplink-helpers.js';

const LIMITS: CheckLimits = { maxReportBytes: 16384, maxWindowAgeDays: 14, maxFutureSeconds: 300 };
const NOW = Date.parse('2026-06-15T12:00:00Z');

describe('report checks', () => {
  let sodium: SodiumApi;
  let schemas: ReportSchemas;
  beforeAll(async () => {
    sodium = await loadSodium();
    schemas = reportSchemas();
  });
  const check = (payload: Buffer | string, topic: string) => checkReport(Buffer.from(payload), topic, NOW, LIMITS, { sodium, schemas });

  it('accepts a signed v1 report on its own topic and files it under the day of its data', () => {
    const hub = fakeHub(sodium);
    const r = signedReport(sodium, hub, { windowEndMs: Date.parse('2026-06-15T00:00:00Z') });
    const res = check(reportBytes(r), hub.topic);
    expect(res.ok && res.checked.day).toBe('2026-06-14');
    expect(dataDay(Date.parse('2026-06-15T00:00:01Z') / 1000)).toBe('2026-06-15');
  });

  it('refuses each kind of bad report with its reason, naming at most a well-formed id', () => {
    const hub = fakeHub(sodium);
    const other = fakeHub(sodium);
    const good = signedReport(sodium, hub, { windowEndMs: NOW - 60_000 });
    const expectRefused = (payload: Buffer | string, topic: string, reason: string, id?: string) => {
      const res = check(payload, topic);
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.reason).toBe(reason);
        expect(res.id).toBe(id);
      }
    };
    expectRefused(Buffer.alloc(LIMITS.maxReportBytes + 1, 0x20), hub.topic, 'too-large');
    expectRefused('{"v":1,', hub.topic, 'malformed-json');
    expectRefused('[]', hub.topic, 'schema');
    expectRefused(JSON.stringify({ ...good, extra: 1 }), hub.topic, 'schema', good.id);
    expectRefused(JSON.stringify({ ...good, id: 'not-a-uuid-with-secrets' }), hub.topic, 'schema');
    expectRefused(JSON.stringify({ ...good, window: { start: good.window.end, end: good.window.end } }), hub.topic, 'schema', good.id);
    expectRefused(reportBytes(good), other.topic, 'topic-mismatch', good.id);
    expectRefused(reportBytes(good), 'hearth/v1/reports/not-a-pseudonym', 'topic-mismatch', good.id);
    expectRefused(reportBytes({ ...good, metrics: { weigh_ins: good.metrics['weigh_ins']! + 1 } } as Report), hub.topic, 'bad-signature', good.id);
    expectRefused(reportBytes({ ...good, key: Buffer.from(other.keys.publicKey).toString('base64') }), hub.topic, 'bad-signature', good.id);
    const future = signedReport(sodium, hub, { windowEndMs: NOW + 301_000, windowMs: 60_000 });
    expectRefused(reportBytes(future), hub.topic, 'window-future', future.id);
    expect(check(reportBytes(signedReport(sodium, hub, { windowEndMs: NOW + 299_000, windowMs: 60_000 })), hub.topic).ok).toBe(true);
    const old = signedReport(sodium, hub, { windowEndMs: NOW - 14 * 86_400_000 - 1000 });
    expectRefused(reportBytes(old), hub.topic, 'window-too-old', old.id);
  });
});

describe('hub key files', () => {
  const p = 'ab'.repeat(16);
  const k = `${'A'.repeat(43)}=`;
  it('reads the text and JSON forms of `hearth report pubkey`', () => {
    const text = `pseudonym:  ${p}\npublic key: ${k} (Ed25519, base64)\n\n{"pseudonym":"${'cd'.repeat(16)}","publicKey":"${k}","algorithm":"ed25519"}\n`;
    expect(parseHubKeys(text)).toEqual({ keys: [{ pseudonym: p, publicKey: k }, { pseudonym: 'cd'.repeat(16), publicKey: k }], problems: [] });
  });
  it('names the line of anything else, never its content', () => {
    const res = parseHubKeys(`pseudonym: ${p}\npublic key: short\nhello secret\n{"pseudonym":"x"}\npseudonym: ${p}\n`);
    expect(res.keys).toEqual([]);
    expect(res.problems).toEqual(['line 2: not an Ed25519 public key', 'line 3: not understood', 'line 4: not a hub key', 'line 5: pseudonym without a public key']);
    expect(res.problems.join()).not.toContain('secret');
  });
});

describe('collector configuration', () => {
  const base = { flags: { broker: 'mqtt://127.0.0.1:1883', database: 'postgres://c@127.0.0.1/c' }, env: {}, required: ['brokerUrl', 'databaseUrl'] as const };
  it('takes flags over the environment and validates each field', () => {
    const c = loadCollectorConfig({ ...base, required: [...base.required], env: { HEARTH_COLLECTOR_GROUP: 'makers', HEARTH_COLLECTOR_HTTP_PORT: '9000' }, flags: { ...base.flags, 'http-port': '9001' } });
    expect([c.group, c.httpPort, c.retentionDays, c.keyMode]).toEqual(['makers', 9001, 30, 'pin']);
  });
  it('refuses passwords in URLs, wildcards in the group, and a window age beyond retention', () => {
    expect(() => loadCollectorConfig({ ...base, required: [...base.required], flags: { ...base.flags, broker: 'mqtt://u:secret@h:1883' } })).toThrow(/password in a file/);
    expect(() => loadCollectorConfig({ ...base, required: [...base.required], flags: { ...base.flags, database: 'postgres://u:secret@h/db' } })).toThrow(/password in a file/);
    expect(() => loadCollectorConfig({ ...base, required: [...base.required], flags: { ...base.flags, group: 'a/#' } })).toThrow(/group/);
    expect(() => loadCollectorConfig({ ...base, required: [...base.required], flags: { ...base.flags, broker: 'mqtt://broker.example:1883', 'broker-username': 'c', 'broker-password-file': '/x' } })).toThrow(/mqtts/);
    expect(() => loadCollectorConfig({ ...base, required: [...base.required], flags: { ...base.flags, 'retention-days': '7' } })).toThrow(/retention/);
    expect(() => loadCollectorConfig({ flags: {}, env: {}, required: ['brokerUrl'] })).toThrow(/broker: required/);
  });
});

describe('the v1 estimator over the hub’s discrete Laplace releases', () => {
  it('is unbiased and its 95 % intervals cover the truth about 95 % of the time', async () => {
    const sodium = await loadSodium();
    const random = seededRandom(sodium, 'collector-estimator-coverage');
    const runs = 200;
    const homes = 200;
    let covered = 0;
    let meanOfEstimates = 0;
    for (let run = 0; run < runs; run++) {
      const sums: MeanSums = { n: 0, sum: 0, sumSquares: 0 };
      let truth = 0;
      for (let h = 0; h < homes; h++) {
        const weighIns = (h * 7 + run) % 25; // clamped to the bound 20 by privatize
        truth += Math.min(weighIns, 20) / homes;
        const v = privatize('scale-usage', { weigh_ins: weighIns }, 0.5, random).values['weigh_ins']!;
        sums.n++;
        sums.sum += v;
        sums.sumSquares += v * v;
      }
      const e = meanEstimate(sums);
      if (e.ci_low! <= truth && truth <= e.ci_high!) covered++;
      meanOfEstimates += (e.estimate! - truth) / runs;
    }
    // 200 runs: a binomial(200, 0.95) count lies in [181, 198] with probability > 99.8 %.
    expect(covered).toBeGreaterThanOrEqual(181);
    expect(covered).toBeLessThanOrEqual(198);
    expect(Math.abs(meanOfEstimates)).toBeLessThan(2);
  });

  it('gives no interval below two reports and nothing without one', () => {
    expect(meanEstimate({ n: 0, sum: 0, sumSquares: 0 })).toEqual({ estimate: null, ci_low: null, ci_high: null, n: 0 });
    expect(meanEstimate({ n: 1, sum: 5, sumSquares: 25 })).toEqual({ estimate: 5, ci_low: null, ci_high: null, n: 1 });
  });
});

describe('the collector’s documentation', () => {
  it('names every setting with its flag and environment variable', async () => {
    const { readFileSync } = await import('node:fs');
    const { COLLECTOR_FIELDS } = await import('../src/collector/config.js');
    const doc = readFileSync(new URL('../docs/collector.md', import.meta.url), 'utf8');
    expect(COLLECTOR_FIELDS.filter((f) => !doc.includes(`\`--${f.flag}\``) || !doc.includes(`\`${f.env}\``)).map((f) => f.flag)).toEqual([]);
  });
});
