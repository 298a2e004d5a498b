/**
 * Closing report windows against a real SQLite vault: consent gates every category (and what was
 * recorded before consent), the daily epsilon budget holds across `report now` runs, reports are
 * signed over canonical bytes and match the schema, and the schema is a strict allow-list.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsentStore } from '../src/consent/consent.js';
import { DeviceRegistry, newDeviceId } from '../src/devices/registry.js';
import { silentLogger } from '../src/log/logger.js';
import { METRICS, CATEGORIES } from '../src/metrics/categories.js';
import type { RandomSource } from '../src/metrics/dp.js';
import { canonicalJson } from '../src/uplink/canonical.js';
import { hubPseudonym, reportTopic } from '../src/uplink/identity.js';
import { Outbox } from '../src/uplink/outbox.js';
import { REPORT_SCHEMA_URL, ReportValidator, verifyReport, type Report } from '../src/uplink/report.js';
import { Reporter } from '../src/uplink/reporter.js';
import { testVault, type TestHub } from './uplink-helpers.js';

const H = 3600_000;
const T0 = Date.UTC(2026, 0, 10, 6);

/** Draws exactly zero noise (test only), so aggregated values can be checked end to end. */
const zeroNoise: RandomSource = { uniform: (n) => (n > 2 ? 0 : n - 1) };

describe('report windows, consent and budget', () => {
  let hub: TestHub;
  let scaleId: string;
  let camId: string;

  const reporter = (opts: { epsilon?: number; daily?: number; windowSeconds?: number; random?: RandomSource } = {}) =>
    new Reporter({
      db: hub.vault.db,
      sealer: hub.vault.sealer,
      sodium: hub.vault.sodium,
      logger: silentLogger,
      config: { windowSeconds: opts.windowSeconds ?? 86400, epsilonPerReport: opts.epsilon ?? 0.5, dailyEpsilonBudget: opts.daily ?? 1 },
      random: 'random' in opts ? opts.random : zeroNoise,
    });
  const consent = () => new ConsentStore(hub.vault.db);
  const outbox = () => new Outbox(hub.vault.db);
  const event = (deviceId: string, type: string, at: number) =>
    hub.vault.db.prepare('INSERT INTO events (device_id, type, ts, received_at) VALUES (?, ?, ?, ?)').run(deviceId, type, at, at);
  const queued = (category: string): Report[] =>
    outbox()
      .list()
      .filter((e) => e.category === category)
      .map((e) => JSON.parse(e.payload.toString('utf8')) as Report);

  beforeEach(async () => {
    hub = await testVault();
    const registry = new DeviceRegistry(hub.vault.db, hub.vault.sealer);
    camId = registry.add('camera', newDeviceId('cam'), 'Nursery').id;
    scaleId = registry.add('scale', newDeviceId('scale'), 'Bathroom').id;
    hub.vault.db.prepare('UPDATE devices SET created_at = ?').run(T0 - 24 * H);
  });
  afterEach(() => hub.cleanup());

  it('keeps every category off by default and sends nothing', () => {
    expect(consent().all().map((c) => c.enabled)).toEqual([false, false, false]);
    event(scaleId, 'weigh_in', T0 + H);
    const r = reporter();
    r.ensureWindowOpen(T0);
    const closed = r.closeWindow(T0 + 2 * H)!;
    expect(closed.outcomes.map((o) => o.status)).toEqual(['consent-off', 'consent-off', 'consent-off']);
    expect(outbox().size()).toBe(0);
  });

  it('aggregates only what happened after consent was given, and records each change with its time', () => {
    const r = reporter();
    r.ensureWindowOpen(T0);
    event(scaleId, 'weigh_in', T0 + H); // before consent: must not count
    consent().set('scale-usage', true, T0 + 2 * H);
    event(scaleId, 'weigh_in', T0 + 3 * H);
    event(scaleId, 'weigh_in', T0 + 4 * H);
    r.closeWindow(T0 + 5 * H);
    const [report] = queued('scale-usage');
    expect(report!.metrics).toEqual({ weigh_ins: 2 });
    expect(report!.window).toEqual({ start: (T0 + 2 * H) / 1000, end: (T0 + 5 * H) / 1000 });
    expect(queued('adoption')).toEqual([]);
    expect(consent().history()).toEqual([{ category: 'scale-usage', enabled: true, at: T0 + 2 * H }]);
  });

  it('turning a category off drops its queued reports and stops new ones', () => {
    const r = reporter({ daily: 10 });
    r.ensureWindowOpen(T0);
    consent().set('adoption', true, T0);
    consent().set('scale-usage', true, T0);
    r.closeWindow(T0 + H);
    expect(queued('adoption')).toHaveLength(1);
    expect(queued('scale-usage')).toHaveLength(1);
    expect(consent().set('scale-usage', false, T0 + 90 * 60_000)).toEqual({ changed: true, droppedReports: 1 });
    expect(queued('scale-usage')).toHaveLength(0);
    expect(queued('adoption')).toHaveLength(1);
    const closed = r.closeWindow(T0 + 2 * H)!;
    expect(closed.outcomes.find((o) => o.category === 'scale-usage')!.status).toBe('consent-off');
    expect(queued('scale-usage')).toHaveLength(0);
  });

  it('holds the daily epsilon budget per category, across reporters (restarts, report now)', () => {
    consent().set('adoption', true, T0 - H);
    reporter().ensureWindowOpen(T0);
    const statuses: string[] = [];
    for (let i = 1; i <= 4; i++) statuses.push(reporter().closeWindow(T0 + i * 60_000)!.outcomes[0]!.status);
    expect(statuses).toEqual(['queued', 'queued', 'budget-spent', 'budget-spent']);
    // The next UTC day has a fresh budget.
    expect(reporter().closeWindow(Date.UTC(2026, 0, 11, 0, 5))!.outcomes[0]!.status).toBe('queued');
    const spent = hub.vault.db.prepare('SELECT day, epsilon_spent FROM privacy_budget WHERE category = ? ORDER BY day').all('adoption');
    expect(spent).toEqual([
      { day: '2026-01-10', epsilon_spent: 1 },
      { day: '2026-01-11', epsilon_spent: 0.5 },
    ]);
  });

  it('closes every due window after downtime, with the data of each', () => {
    consent().set('scale-usage', true, T0 - H);
    const r = reporter({ windowSeconds: 3600, daily: 20 });
    r.ensureWindowOpen(T0);
    event(scaleId, 'weigh_in', T0 + 10 * 60_000);
    event(scaleId, 'weigh_in', T0 + 2 * H + 60_000);
    event(scaleId, 'weigh_in', T0 + 2 * H + 120_000);
    const closed = r.closeDueWindows(T0 + 3.5 * H);
    expect(closed.map((w) => [w.start, w.end])).toEqual([
      [T0, T0 + H],
      [T0 + H, T0 + 2 * H],
      [T0 + 2 * H, T0 + 3 * H],
    ]);
    expect(queued('scale-usage').map((x) => x.metrics.weigh_ins)).toEqual([1, 0, 2]);
    expect(r.closeDueWindows(T0 + 3.9 * H)).toEqual([]);
    expect(r.windowStart()).toBe(T0 + 3 * H);
  });

  it('counts camera health, including refused broker logins while consented', () => {
    consent().set('device-health', true, T0 - H);
    const r = reporter();
    r.ensureWindowOpen(T0);
    hub.vault.db.prepare('INSERT INTO counters (name, value) VALUES (?, ?)').run(`device.auth_failed:${camId}`, 4);
    event(camId, 'online', T0 + H);
    event(camId, 'connect_failed', T0 + 2 * H);
    event(camId, 'reboot', T0 + 2 * H);
    event(camId, 'offline', T0 + 7 * H);
    r.closeWindow(T0 + 12 * H);
    expect(queued('device-health')[0]!.metrics).toEqual({ connect_attempts: 6, connect_failures: 5, online_percent: 50, reboots: 1 });
  });

  it('signs canonical bytes, validates against the schema file, and names no device', () => {
    for (const c of CATEGORIES) consent().set(c, true, T0 - H);
    const r = reporter({ random: undefined });
    r.ensureWindowOpen(T0);
    const outcomes = r.closeWindow(T0 + H)!.outcomes;
    expect(outcomes.map((o) => o.status)).toEqual(['queued', 'queued', 'queued']);
    const ajv = new Ajv({ strict: true });
    const validate = ajv.compile(JSON.parse(readFileSync(REPORT_SCHEMA_URL, 'utf8')));
    const sodium = hub.vault.sodium;
    for (const entry of outbox().list()) {
      const text = entry.payload.toString('utf8');
      const doc = JSON.parse(text) as Report;
      expect(validate(doc)).toBe(true);
      expect(canonicalJson(doc)).toBe(text); // the bytes sent are themselves canonical
      expect(verifyReport(sodium, doc, r.keys.publicKey)).toBe(true);
      expect(entry.topic).toBe(reportTopic(r.pseudonym));
      expect(doc.hub).toBe(r.pseudonym);
      expect(Object.keys(doc.metrics).sort()).toEqual(METRICS[doc.category].map((m) => m.name).sort());
      expect(doc.privacy).toMatchObject({ mechanism: 'discrete-laplace', epsilon: 0.5 });
      for (const secret of [camId, scaleId, 'Nursery', 'Bathroom']) expect(text).not.toContain(secret);
      // Any change to the signed content breaks the signature.
      expect(verifyReport(sodium, { ...doc, metrics: { ...doc.metrics, [Object.keys(doc.metrics)[0]!]: 999 } }, r.keys.publicKey)).toBe(false);
      expect(verifyReport(sodium, { ...doc, hub: '0'.repeat(32) })).toBe(false);
    }
  });

  it('keeps the pseudonym and signing key stable and random', async () => {
    const a = reporter();
    const b = reporter();
    expect(a.pseudonym).toBe(b.pseudonym);
    expect(a.pseudonym).toMatch(/^[0-9a-f]{32}$/);
    expect(Buffer.from(a.keys.publicKey)).toEqual(Buffer.from(b.keys.publicKey));
    const other = await testVault();
    try {
      expect(hubPseudonym(other.vault.db, other.vault.sodium)).not.toBe(a.pseudonym);
    } finally {
      await other.cleanup();
    }
  });
});

describe('report schema: an allow-list', () => {
  const validator = new ReportValidator();
  const valid: Report = {
    v: 1,
    id: '1b4e28ba-2fa1-4d2b-883f-0016d3cca427',
    hub: 'a'.repeat(32),
    key: 'A'.repeat(43) + '=',
    category: 'scale-usage',
    window: { start: 1768000000, end: 1768086400 },
    metrics: { weigh_ins: -3 },
    privacy: { mechanism: 'discrete-laplace', epsilon: 0.5, bounds: { weigh_ins: 20 } },
    signature: 'B'.repeat(86) + '==',
  };

  it('accepts a well-formed report', () => {
    expect(validator.problem(valid)).toBeUndefined();
  });

  it.each([
    ['an extra top-level field', { ...valid, mac: 'aa:bb:cc:dd:ee:ff' }],
    ['an extra metric', { ...valid, metrics: { weigh_ins: 1, weight_kg: 81 } }],
    ['a metric of another category', { ...valid, metrics: { cameras: 1 } }],
    ['a fractional value', { ...valid, metrics: { weigh_ins: 80.5 } }],
    ['a string value', { ...valid, metrics: { weigh_ins: '1' } }],
    ['an unknown category', { ...valid, category: 'location' }],
    ['another mechanism', { ...valid, privacy: { ...valid.privacy, mechanism: 'none' } }],
    ['an extra privacy field', { ...valid, privacy: { ...valid.privacy, note: 'x' } }],
    ['an extra window field', { ...valid, window: { ...valid.window, tz: 'Europe/Berlin' } }],
    ['a hub id that is not a pseudonym', { ...valid, hub: 'b8:27:eb:12:34:56' }],
    ['a missing signature', { ...valid, signature: undefined }],
  ])('refuses %s', (_what, doc) => {
    expect(validator.problem(JSON.parse(JSON.stringify(doc)))).toBeTruthy();
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every depth and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 'é' }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":"é","z":1}]},"b":1}');
  });
  it('refuses values JSON cannot carry exactly', () => {
    expect(() => canonicalJson({ a: NaN })).toThrow();
    expect(() => canonicalJson({ a: new Date() })).toThrow();
  });
});
