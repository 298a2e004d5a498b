/**
 * Closing report windows against a real SQLite vault: consent gates every category (and what was
 * recorded before consent), the home's one daily epsilon budget holds across `report now` runs and
 * categories, stable answers are memoized sealed, reports (format 2) are signed over canonical
 * bytes and match the schema, and both schemas are strict allow-lists.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConsentStore } from '../src/consent/consent.js';
import { DeviceRegistry, newDeviceId } from '../src/devices/registry.js';
import { silentLogger } from '../src/log/logger.js';
import { CATEGORIES } from '../src/metrics/categories.js';
import type { RandomSource } from '../src/metrics/dp.js';
import { questionsOf } from '../src/metrics/ldp/questions.js';
import { canonicalJson } from '../src/uplink/canonical.js';
import { hubPseudonym, reportTopic } from '../src/uplink/identity.js';
import { Outbox } from '../src/uplink/outbox.js';
import { ReportValidator, verifyReport, type ReportV1 } from '../src/uplink/report.js';
import { REPORT_V2_SCHEMA_URL, reportV2Schema, type ReportV2 } from '../src/uplink/report-v2.js';
import { Reporter } from '../src/uplink/reporter.js';
import { testVault, type TestHub } from './uplink-helpers.js';

const H = 3600_000;
const T0 = Date.UTC(2026, 0, 10, 6);

/**
 * Test only: a random source whose 53-bit draws all equal θ·2^53, so every bit the mechanisms draw
 * is 1 exactly when its probability exceeds θ; small draws (which question, α, bucket order) give
 * `pick`. With ε = 40 a 1BitMean bit's probability is x/bound to within 1e-17, so stepping θ
 * through (k − ½)/bound reads the aggregated value x back out of previews.
 */
class ThresholdRandom implements RandomSource {
  theta = 0.5;
  pick = 0;
  uniform(n: number): number {
    const u = Math.floor(this.theta * 2 ** 53);
    if (n === 2 ** 26) return Math.floor(u / 2 ** 27);
    if (n === 2 ** 27) return u % 2 ** 27;
    return Math.min(this.pick, n - 1);
  }
}

describe('report windows, consent and the home budget', () => {
  let hub: TestHub;
  let scaleId: string;
  let camId: string;

  const reporter = (opts: { daily?: number; perDay?: number; windowSeconds?: number; random?: RandomSource } = {}) =>
    new Reporter({
      db: hub.vault.db,
      sealer: hub.vault.sealer,
      sodium: hub.vault.sodium,
      logger: silentLogger,
      config: { windowSeconds: opts.windowSeconds ?? 86400, dailyEpsilonBudget: opts.daily ?? 1, questionsPerDay: opts.perDay ?? 1 },
      ...(opts.random ? { random: opts.random } : {}),
    });
  const consent = () => new ConsentStore(hub.vault.db);
  const outbox = () => new Outbox(hub.vault.db);
  const event = (deviceId: string, type: string, at: number) =>
    hub.vault.db.prepare('INSERT INTO events (device_id, type, ts, received_at) VALUES (?, ?, ?, ?)').run(deviceId, type, at, at);
  const queued = (category: string): ReportV2[] =>
    outbox()
      .list()
      .filter((e) => e.category === category)
      .map((e) => JSON.parse(e.payload.toString('utf8')) as ReportV2);
  /** Reads a changing question's aggregated value back from previews (ε 40, see ThresholdRandom). */
  const revealed = (r: Reporter, random: ThresholdRandom, category: string, question: string, bound: number, now: number): number => {
    let x = 0;
    for (let k = 1; k <= bound; k++) {
      random.theta = (k - 0.5) / bound;
      const p = r.preview(now).find((v) => v.category === category)!;
      const a = p.report!.answers[question] as { bit: number; epsilon: number };
      expect(a.epsilon).toBe(40);
      x += a.bit;
    }
    return x;
  };

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
    expect(hub.vault.db.prepare('SELECT COUNT(*) FROM privacy_budget_home').pluck().get()).toBe(0);
  });

  it('closes windows on whole seconds: never an empty window in seconds, and what came after the second stays for the next', () => {
    const random = new ThresholdRandom();
    const r = reporter({ daily: 40, random });
    r.ensureWindowOpen(T0 + 250); // opened at a whole second
    consent().set('scale-usage', true, T0 + 400);
    event(scaleId, 'weigh_in', T0 + 600);
    // Within the first second there is nothing to close; consent given in the window's last second leaves it empty.
    expect(r.closeWindow(T0 + 900)).toBeUndefined();
    const first = r.closeWindow(T0 + 1700)!;
    expect([first.start, first.end]).toEqual([T0, T0 + 1000]);
    const [report] = queued('scale-usage');
    expect(report!.window).toEqual({ start: T0 / 1000, end: (T0 + 1000) / 1000 });
    expect(report!.window.start).toBeLessThan(report!.window.end);
    event(scaleId, 'weigh_in', T0 + 1500); // after the second the window closed on: the next window's
    consent().set('adoption', true, T0 + 2300);
    const second = r.closeWindow(T0 + 2800)!;
    expect([second.start, second.end]).toEqual([T0 + 1000, T0 + 2000]);
    expect(second.outcomes.find((o) => o.category === 'adoption')!.status).toBe('empty-window'); // consent came after its end
    const third = r.closeWindow(T0 + 3100)!;
    // 0.7 s under consent in a window of whole seconds: not empty (today's budget went on the first answer).
    expect(third.outcomes.find((o) => o.category === 'adoption')!.status).toBe('budget-spent');
    for (const q of queued('scale-usage')) expect(q.window.start).toBeLessThan(q.window.end);
  });

  it('aggregates only what happened after consent was given, and records each change with its time', () => {
    const random = new ThresholdRandom();
    const r = reporter({ daily: 40, random });
    r.ensureWindowOpen(T0);
    event(scaleId, 'weigh_in', T0 + H); // before consent: must not count
    consent().set('scale-usage', true, T0 + 2 * H);
    event(scaleId, 'weigh_in', T0 + 3 * H);
    event(scaleId, 'weigh_in', T0 + 4 * H);
    expect(revealed(r, random, 'scale-usage', 'weigh_ins', 20, T0 + 5 * H)).toBe(2);
    r.closeWindow(T0 + 5 * H);
    const [report] = queued('scale-usage');
    expect(report!.v).toBe(2);
    expect(Object.keys(report!.answers)).toEqual(['weigh_ins']);
    expect(report!.answers.weigh_ins).toEqual({ mechanism: '1bitmean', epsilon: 40, spent: 40, memo: false, bound: 20, bit: expect.any(Number) });
    expect(report!.privacy).toEqual({ daily_epsilon: 40, spent: 40 });
    expect(report!.window).toEqual({ start: (T0 + 2 * H) / 1000, end: (T0 + 5 * H) / 1000 });
    expect(queued('adoption')).toEqual([]);
    expect(consent().history()).toEqual([{ category: 'scale-usage', enabled: true, at: T0 + 2 * H }]);
  });

  it('turning a category off drops its queued reports and stops new ones', () => {
    const r = reporter({ daily: 10, perDay: 10 });
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

  it('holds one daily epsilon budget for the whole home, across categories and reporters (restarts, report now)', () => {
    for (const c of CATEGORIES) consent().set(c, true, T0 - H);
    reporter().ensureWindowOpen(T0);
    const runs = [1, 2, 3, 4].map((i) => reporter().closeWindow(T0 + i * 60_000)!.outcomes);
    // The first window spends the day's whole budget on one question (here: a memo of a stable value,
    // those come first); later windows only send memos again, which costs nothing.
    expect(runs[0]!.map((o) => o.status)).toEqual(['queued', 'budget-spent', 'budget-spent']);
    for (const later of runs.slice(1)) expect(later.map((o) => o.status)).toEqual(['queued', 'budget-spent', 'budget-spent']);
    const adoption = queued('adoption');
    expect(adoption.map((a) => a.privacy.spent)).toEqual([1, 0, 0, 0]);
    for (const a of adoption.slice(1)) expect(a.answers).toEqual(Object.fromEntries(Object.entries(adoption[0]!.answers).map(([q, x]) => [q, { ...x, spent: 0 }])));
    // The next UTC day has a fresh budget.
    expect(reporter().closeWindow(Date.UTC(2026, 0, 11, 0, 5))!.outcomes.map((o) => o.status)).toContain('queued');
    const spent = hub.vault.db.prepare('SELECT day, epsilon_spent FROM privacy_budget_home ORDER BY day').all();
    expect(spent).toEqual([
      { day: '2026-01-10', epsilon_spent: 1 },
      { day: '2026-01-11', epsilon_spent: 1 },
    ]);
  });

  it('memoizes stable answers sealed: the same value gives the same answer every day, at no cost after its memo', () => {
    consent().set('adoption', true, T0 - H);
    const r = reporter({ windowSeconds: 86400 });
    r.ensureWindowOpen(T0);
    const answers: ReportV2['answers'][] = [];
    for (let day = 1; day <= 30; day++) {
      r.closeWindow(T0 + day * 24 * H);
      answers.push(queued('adoption').at(-1)!.answers);
    }
    // 4 stable questions; the camera histogram is built one bucket bit a day: 3 + 6 = 9 memo pieces, then only fresh questions.
    const charged = hub.vault.db.prepare('SELECT SUM(epsilon_spent) FROM privacy_budget_home').pluck().get();
    expect(charged).toBe(30);
    const stable = questionsOf('adoption').filter((q) => q.stable).map((q) => q.name);
    const late = answers.slice(9).map((a) => Object.fromEntries(stable.map((q) => [q, { ...a[q]!, spent: 0 }])));
    for (const a of late) expect(a).toEqual(late[0]);
    expect(Object.keys((late[0]!.cameras_bucket as { bits: object }).bits)).toHaveLength(6);
    for (const a of answers.slice(9)) for (const q of stable) expect(a[q]!.spent).toBe(0);
    // Memos are sealed: no bit or rounding offset in the clear, and they open only for their own row.
    const rows = hub.vault.db.prepare('SELECT question, state FROM ldp_memos').all() as { question: string; state: Buffer }[];
    expect(rows.map((x) => x.question).sort()).toEqual([...stable].sort());
    for (const row of rows) {
      expect(row.state.toString('latin1')).not.toContain('bits');
      expect(hub.vault.sealer.openJson<{ bits: object }>('ldpMemo', `ldp_memo:${row.question}`, row.state).bits).toBeTruthy();
      expect(() => hub.vault.sealer.openJson('ldpMemo', 'ldp_memo:other', row.state)).toThrow();
    }
  });

  it('closes every due window after downtime, with the data of each', () => {
    consent().set('scale-usage', true, T0 - H);
    const random = new ThresholdRandom();
    random.theta = 0.5 / 20; // each bit says whether that window had a weigh-in
    // Three slots of 40/3 a day: one per window (the only question is weigh_ins); still far from 1/2 at θ.
    const r = reporter({ windowSeconds: 3600, daily: 40, perDay: 3, random });
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
    expect(queued('scale-usage').map((x) => (x.answers.weigh_ins as { bit: number }).bit)).toEqual([1, 0, 1]);
    expect(r.closeDueWindows(T0 + 3.9 * H)).toEqual([]);
    expect(r.windowStart()).toBe(T0 + 3 * H);
  });

  it('counts camera health, including refused broker logins while consented', () => {
    consent().set('device-health', true, T0 - H);
    const random = new ThresholdRandom();
    const r = reporter({ daily: 40, random });
    r.ensureWindowOpen(T0);
    hub.vault.db.prepare('INSERT INTO counters (name, value) VALUES (?, ?)').run(`device.auth_failed:${camId}`, 4);
    event(camId, 'online', T0 + H);
    event(camId, 'connect_failed', T0 + 2 * H);
    event(camId, 'reboot', T0 + 2 * H);
    event(camId, 'offline', T0 + 7 * H);
    const expected = { connect_attempts: 6, connect_failures: 5, online_percent: 50, reboots: 1 };
    const changing = questionsOf('device-health').filter((q) => !q.stable);
    for (const [name, value] of Object.entries(expected)) {
      random.pick = changing.findIndex((q) => q.name === name);
      expect(revealed(r, random, 'device-health', name, changing[random.pick]!.bound!, T0 + 12 * H)).toBe(value);
    }
  });

  it('signs canonical bytes, validates against the schema file, shows each answer\'s epsilon, and names no device', () => {
    for (const c of CATEGORIES) consent().set(c, true, T0 - H);
    const r = reporter({ daily: 12, perDay: 12 });
    r.ensureWindowOpen(T0);
    const preview = r.preview(T0 + H);
    expect(preview.map((p) => p.status)).toEqual(['queued', 'queued', 'queued']);
    for (const p of preview) {
      expect(p.dailyEpsilon).toBe(12);
      expect(Object.keys(p.epsilon!).sort()).toEqual(Object.keys(p.report!.answers).sort());
    }
    expect(hub.vault.db.prepare('SELECT COUNT(*) FROM ldp_memos').pluck().get()).toBe(0); // the preview stored nothing
    const outcomes = r.closeWindow(T0 + H)!.outcomes;
    expect(outcomes.map((o) => o.status)).toEqual(['queued', 'queued', 'queued']);
    const validate = new Ajv({ strict: true }).compile(JSON.parse(readFileSync(REPORT_V2_SCHEMA_URL, 'utf8')));
    const sodium = hub.vault.sodium;
    let spent = 0;
    for (const entry of outbox().list()) {
      const text = entry.payload.toString('utf8');
      const doc = JSON.parse(text) as ReportV2;
      expect(validate(doc)).toBe(true);
      expect(canonicalJson(doc)).toBe(text); // the bytes sent are themselves canonical
      expect(verifyReport(sodium, doc, r.keys.publicKey)).toBe(true);
      expect(entry.topic).toBe(reportTopic(r.pseudonym));
      expect(doc.hub).toBe(r.pseudonym);
      const allowed = questionsOf(doc.category).map((q) => q.name);
      for (const [q, a] of Object.entries(doc.answers)) {
        expect(allowed).toContain(q);
        // A dBitFlip vector's ε is twice its bits' (a different value changes two bucket bits).
        expect(a.epsilon).toBe(a.mechanism === 'dbitflip' ? 2 : 1);
        expect(a.spent).toBe(1);
      }
      spent += doc.privacy.spent;
      for (const secret of [camId, scaleId, 'Nursery', 'Bathroom']) expect(text).not.toContain(secret);
      // Any change to the signed content breaks the signature.
      const [q0, a0] = Object.entries(doc.answers)[0]!;
      expect(verifyReport(sodium, { ...doc, answers: { ...doc.answers, [q0]: { ...a0, epsilon: 0.01 } } }, r.keys.publicKey)).toBe(false);
      expect(verifyReport(sodium, { ...doc, hub: '0'.repeat(32) })).toBe(false);
    }
    // 4 memo pieces and all 8 changing questions: 12 = the day's cap, spent once.
    expect(spent).toBe(12);
    expect(hub.vault.db.prepare('SELECT epsilon_spent FROM privacy_budget_home').pluck().get()).toBe(12);
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

describe('report schema, format 1 (old outboxes and ledgers): an allow-list', () => {
  const validator = new ReportValidator();
  const valid: ReportV1 = {
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

describe('report schema, format 2: an allow-list', () => {
  const validator = new ReportValidator();
  const valid: ReportV2 = {
    v: 2,
    id: '1b4e28ba-2fa1-4d2b-883f-0016d3cca427',
    hub: 'a'.repeat(32),
    key: 'A'.repeat(43) + '=',
    category: 'adoption',
    window: { start: 1768000000, end: 1768086400 },
    answers: {
      activated: { mechanism: 'randomized-response', epsilon: 1, spent: 1, memo: false, bit: 1 },
      cameras: { mechanism: '1bitmean', epsilon: 1, spent: 0, memo: true, bound: 16, bit: 0, rounding: 4 },
      cameras_bucket: { mechanism: 'dbitflip', epsilon: 2, spent: 0, memo: true, buckets: 6, bits: { '0': 1, '4': 0 } },
    },
    privacy: { daily_epsilon: 1, spent: 1 },
    signature: 'B'.repeat(86) + '==',
  };
  const answers = valid.answers;

  it('is the file committed in schemas/, built from the question catalogue', () => {
    expect(JSON.parse(readFileSync(REPORT_V2_SCHEMA_URL, 'utf8'))).toEqual(reportV2Schema());
  });

  it('accepts a well-formed report', () => {
    expect(validator.problem(valid)).toBeUndefined();
  });

  it.each([
    ['an unknown version', { ...valid, v: 3 }],
    ['an extra top-level field', { ...valid, mac: 'aa:bb:cc:dd:ee:ff' }],
    ['format 1 metrics in a format 2 report', { ...valid, metrics: { cameras: 1 } }],
    ['no answers', { ...valid, answers: {} }],
    ['a question of another category', { ...valid, answers: { ...answers, weigh_ins: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 20, bit: 1 } } }],
    ['an unknown question', { ...valid, answers: { ...answers, weight_kg: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 20, bit: 1 } } }],
    ['a raw value instead of a bit', { ...valid, answers: { ...answers, activated: { ...answers.activated, bit: 3 } } }],
    ['another mechanism for a question', { ...valid, answers: { ...answers, activated: { ...answers.activated, mechanism: '1bitmean' } } }],
    ['another bound', { ...valid, answers: { ...answers, cameras: { ...answers.cameras, bound: 1000 } } }],
    ['a memo flag that does not fit the question', { ...valid, answers: { ...answers, activated: { ...answers.activated, memo: true } } }],
    ['a stable mean without its rounding step', { ...valid, answers: { ...answers, cameras: { ...answers.cameras, rounding: undefined } } }],
    ['a zero epsilon', { ...valid, answers: { ...answers, activated: { ...answers.activated, epsilon: 0 } } }],
    ['a histogram bucket out of range', { ...valid, answers: { ...answers, cameras_bucket: { ...answers.cameras_bucket, bits: { '6': 1 } } } }],
    ['an extra answer field', { ...valid, answers: { ...answers, activated: { ...answers.activated, value: 2 } } }],
    ['an extra privacy field', { ...valid, privacy: { ...valid.privacy, note: 'x' } }],
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
