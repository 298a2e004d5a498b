/**
 * The web UI's JSON API. Every route here sits behind the session hook (src/web/auth/plugin.ts);
 * state changes also need the session's CSRF token. Inputs are validated and bounded, errors say
 * what was wrong without quoting the request back.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Static } from '@sinclair/typebox';
import * as S from './schemas.js';
import { EnrolmentError, type DeviceView } from '../../devices/kind.js';
import { DEVICE_ID_PATTERN, type DeviceRecord } from '../../devices/registry.js';
import { MEASUREMENT_ID_PATTERN, ScaleStore, WEIGH_IN_EVENT, type StoredMeasurement } from '../../devices/scale/store.js';
import { MEMBER_ID_PATTERN, MemberExistsError, memberNameProblem } from '../../members/store.js';
import type { WebDeps } from '../deps.js';
import type { StorageStatus } from '../../store/health.js';
import { METRICS } from '../../metrics/categories.js';
import { PrivacyLedger } from '../../uplink/ledger.js';
import { readSettings, writeUplinkSettings } from './settings.js';
import { EventTotals } from '../../store/event-totals.js';
import { EventLog } from '../../store/event-log.js';
import { databaseStats } from '../../store/db-stats.js';
import { DAY_MS, rolledUpDays } from '../../store/retention.js';
import { RESERVED_EVENT_TYPES } from '../../devices/camera/protocol.js';
import { upstreamState as upstreamStateOf, type UpstreamState } from '../../uplink/upstream-state.js';

const MAX_LEDGER = 1000;

const UPSTREAM_DETAIL: Record<UpstreamState, string> = {
  'paused-by-switch': 'The privacy switch on the hub is on: nothing is sent.',
  paused: 'Paused from the web UI or with `hearth privacy pause`: nothing is sent.',
  off: 'No category is consented: nothing is sent.',
  on: 'Consented, noised reports are sent upstream.',
};

type Ctx = WebDeps;

function bad(reply: FastifyReply, ctx: Ctx, reason: string, code = 400): FastifyReply {
  ctx.counters.increment('http.refused.invalid');
  return reply.code(code).send({ error: reason });
}

function notFound(reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ error: 'not found' });
}

function startOfToday(): number {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** A whole-number query parameter its schema checked (digits within range, or empty); undefined when absent. */
function intParam(value: string | undefined): number | undefined {
  return value === undefined || value === '' ? undefined : Number(value);
}

/** The dashboard's words for the store's health. */
function storageView(s: StorageStatus) {
  return { healthy: s.healthy, problem: s.problem === 'SQLITE_FULL' ? 'the disk is full' : (s.problem ?? null), since: s.since };
}

export function registerApi(server: FastifyInstance, ctx: Ctx): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.vault.db;
  const members = ctx.members.store;
  const scales = new ScaleStore(db, ctx.vault.sealer);
  const consent = ctx.consent.store;
  const ledger = new PrivacyLedger(db);
  const totals = new EventTotals(db);
  // A camera's online/offline markers are not events of the day.
  const eventLog = new EventLog(db, [...RESERVED_EVENT_TYPES]);

  /** A device in lists; its kind says whether it has a presence and when it was last heard from. */
  function deviceSummary(d: DeviceRecord, today: Map<string, number>, details: DeviceView = ctx.devices.details(d)) {
    return { id: d.id, kind: d.kind, nickname: d.nickname, createdAt: d.createdAt, online: details.online, lastSeen: details.lastSeen, eventsToday: today.get(d.id) ?? 0 };
  }

  function todayCounts(): Map<string, number> {
    return eventLog.countsSince(startOfToday());
  }

  function upstreamState(): { state: UpstreamState; detail: string } {
    const state = upstreamStateOf(ctx.privacy?.status(), Boolean(ctx.config.uplink.url), consent.all().some((c) => c.enabled));
    if (state === 'off' && !ctx.config.uplink.url) return { state, detail: 'No upstream is configured: nothing is sent.' };
    return { state, detail: UPSTREAM_DETAIL[state] };
  }

  function diskView(): { lowDisk: boolean; diskFreeBytes: number | null } {
    const d = ctx.retention?.disk();
    return { lowDisk: d?.low ?? false, diskFreeBytes: d?.freeBytes ?? null };
  }

  app.get('/api/db/stats', { schema: S.DbStatsRoute }, async () => {
    const s = databaseStats(db, ctx.config.dataDir);
    const threshold = ctx.config.retention.lowDiskMb * 1_000_000;
    return { ...s, lowDisk: threshold > 0 && s.diskFreeBytes !== null && s.diskFreeBytes < threshold, retention: ctx.config.retention };
  });

  // Runs in the daemon, on its connection, in short steps beside the cameras' commits (a second
  // process purging would contend with them for the write lock).
  app.post('/api/db/purge', { schema: S.DbPurgeRoute }, async (_req, reply) => {
    const report = await ctx.retention?.purgeNow();
    if (!report) return reply.code(503).send({ error: 'the retention service is not running' });
    return report;
  });

  app.get('/api/status', { schema: S.StatusRoute }, async () => {
    const today = todayCounts();
    const p = ctx.privacy?.status();
    return {
      upstream: upstreamState(),
      privacy: { paused: p?.paused ?? false, pausedBySwitch: p?.bySwitch ?? false, pausedByCommand: p?.byCommand ?? false, switchPresent: p?.switchPresent ?? false },
      storage: { ...storageView(ctx.storage.status()), ...diskView() },
      today: { events: [...today.values()].reduce((a, b) => a + b, 0), weighIns: eventLog.countOfTypeSince(WEIGH_IN_EVENT, startOfToday()) },
      devices: { cameras: ctx.registry.list('camera').length, scales: ctx.registry.list('scale').length, online: ctx.presence.connectedDeviceIds().length },
    };
  });

  // Devices
  app.get('/api/devices', { schema: S.DevicesRoute }, async () => {
    const today = todayCounts();
    return { devices: ctx.registry.list().map((d) => deviceSummary(d, today)) };
  });

  /** A device's events, newest first, by the query's filters (checked by the route's schema). */
  function timeline(deviceId: string, q: Static<typeof S.TimelineQuery>): { events: { id: number; type: string; ts: number; at: number; detail: string | null }[]; types: string[] } {
    // since/until are the same as from/to (milliseconds since the epoch; until is exclusive).
    const from = intParam(q.from ?? q.since);
    const to = intParam(q.to ?? q.until);
    const limit = intParam(q.limit) ?? 200;
    const type = q.type;
    const rows = eventLog.timeline(deviceId, { from: from ?? 0, to: to ?? 8.64e15, limit, ...(type ? { type } : {}) });
    return {
      events: rows.map((r) => ({ id: r.id, type: r.type, ts: r.ts, at: r.receivedAt, detail: r.detail ? ctx.cameras.openDetail(r.id, deviceId, r.detail) : null })),
      types: totals.types(deviceId),
    };
  }

  // The device with its timeline (same filters as /events), so one call fills a device page.
  app.get('/api/devices/:id', { schema: S.DeviceRoute }, async (req, reply) => {
    const d = DEVICE_ID_PATTERN.test(req.params.id) ? ctx.registry.get(req.params.id) : undefined;
    if (!d) return notFound(reply);
    const events = timeline(d.id, req.query);
    // One read of the device's details (a camera's state decrypted once) serves the summary too.
    const details = ctx.devices.details(d);
    return { device: { ...deviceSummary(d, todayCounts(), details), ...details.fields, eventCounts: details.eventCounts, lastRefusal: details.lastRefusal }, ...events };
  });

  // History older than the raw events' retention, from the roll-ups (one row per day and type; a
  // few thousand at most for years of a camera): the page shows it beside the timeline.
  app.get('/api/devices/:id/days', { schema: S.DeviceDaysRoute }, async (req, reply) => {
    if (!DEVICE_ID_PATTERN.test(req.params.id) || !ctx.registry.exists(req.params.id)) return notFound(reply);
    const days = rolledUpDays(db, req.params.id, 0, Number.MAX_SAFE_INTEGER);
    return { days: days.map((d) => ({ day: new Date(d.day * DAY_MS).toISOString().slice(0, 10), type: d.type, n: d.n })) };
  });

  app.get('/api/devices/:id/events', { schema: S.DeviceEventsRoute }, async (req, reply) => {
    if (!DEVICE_ID_PATTERN.test(req.params.id) || !ctx.registry.exists(req.params.id)) return notFound(reply);
    return timeline(req.params.id, req.query);
  });

  // Enrolment of any registered kind: the kind checks the fields; credentials are in this answer only.
  app.post('/api/devices/:kind', { schema: S.EnrolRoute }, async (req, reply) => {
    if (!ctx.devices.kind(req.params.kind)) return notFound(reply);
    const body = req.body;
    try {
      const { device, shownOnce } = await ctx.devices.enrol(req.params.kind, body);
      // MQTT credentials come with the TLS port and the certificate to pin when the hub serves MQTT over TLS.
      const tls = 'username' in shownOnce && ctx.mqttTls ? { tls: ctx.mqttTls } : {};
      return reply.code(201).header('cache-control', 'no-store').send({ id: device.id, kind: device.kind, nickname: device.nickname, ...shownOnce, ...tls });
    } catch (err) {
      if (err instanceof EnrolmentError) return bad(reply, ctx, err.message, err.kind === 'conflict' ? 409 : 400);
      throw err;
    }
  });

  // Members and weigh-ins
  const measurementView = (m: StoredMeasurement, nicknames: Map<string, string>) => ({
    id: m.id,
    deviceId: m.deviceId,
    scale: nicknames.get(m.deviceId) ?? m.deviceId,
    memberId: m.memberId,
    assignment: m.assignment,
    measuredAt: m.measuredAt,
    weightKg: m.measurement.weightKg,
    measurement: m.measurement,
  });
  const nicknames = () => new Map(ctx.registry.list('scale').map((d) => [d.id, d.nickname]));

  app.get('/api/members', { schema: S.MembersRoute }, async () => ({ members: members.list() }));

  app.post('/api/members', { schema: S.AddMemberRoute }, async (req, reply) => {
    const name = req.body.name;
    const problem = memberNameProblem(name);
    if (problem) return bad(reply, ctx, problem);
    try {
      return reply.code(201).send(ctx.members.add(name));
    } catch (err) {
      if (err instanceof MemberExistsError) return bad(reply, ctx, 'a member with this name exists', 409);
      throw err;
    }
  });

  app.get('/api/members/:id/history', { schema: S.MemberHistoryRoute }, async (req, reply) => {
    const m = MEMBER_ID_PATTERN.test(req.params.id) ? members.get(req.params.id) : undefined;
    if (!m) return notFound(reply);
    const names = nicknames();
    return { member: m, measurements: scales.history(m.id, 1000).map((x) => measurementView(x, names)) };
  });

  app.get('/api/measurements/unassigned', { schema: S.UnassignedRoute }, async () => {
    const names = nicknames();
    return { measurements: scales.list({ unassignedOnly: true, limit: 200 }).map((x) => measurementView(x, names)) };
  });

  app.post('/api/measurements/:id/assign', { schema: S.AssignRoute }, async (req, reply) => {
    if (!MEASUREMENT_ID_PATTERN.test(req.params.id)) return notFound(reply);
    const memberId = req.body.memberId;
    const result = ctx.members.assignWeighIn(req.params.id, memberId);
    if (result === 'no_member') return bad(reply, ctx, 'memberId must name a member (or be null to unassign)');
    if (result === 'no_measurement') return notFound(reply);
    return { ok: true as const };
  });

  // Consent, preview, ledger, privacy, settings
  app.get('/api/consent', { schema: S.ConsentRoute }, async () => ({
    categories: consent.all().map((c) => ({ category: c.category, enabled: c.enabled, since: c.since, metrics: METRICS[c.category].map((m) => ({ name: m.name, help: m.help })) })),
    history: consent.history(50),
  }));

  app.put('/api/consent/:category', { schema: S.SetConsentRoute }, async (req, reply) => {
    const category = req.params.category;
    const enabled = req.body.enabled;
    const res = ctx.consent.set(category, enabled);
    return { category, enabled, changed: res.changed, droppedReports: res.droppedReports };
  });

  app.get('/api/consent/preview', { schema: S.PreviewRoute }, async () => {
    if (!ctx.uplink) return { reports: [], note: 'The uplink is not running; no preview.' };
    const previews = ctx.uplink.reporter.preview(Date.now());
    return {
      reports: previews.filter((p) => p.report).map((p) => ({ category: p.category, json: JSON.stringify(p.report, null, 2) })),
      skipped: previews.filter((p) => !p.report).map((p) => ({ category: p.category, status: p.status })),
      note: 'This is what the open window would send if it closed now. The numbers carry fresh noise each time, so the report actually sent will differ.',
    };
  });

  app.get('/api/ledger', { schema: S.LedgerRoute }, async (req, reply) => {
    const q = req.query.q;
    const limit = intParam(req.query.limit) ?? MAX_LEDGER;
    const all = ledger.list(MAX_LEDGER).map((e) => ({ seq: e.seq, reportId: e.reportId, topic: e.topic, sentAt: e.sentAt, bytes: e.payload.length, payload: e.payload.toString('utf8') }));
    const needle = q?.trim().toLowerCase() ?? '';
    const entries = needle ? all.filter((e) => e.payload.toLowerCase().includes(needle) || e.topic.toLowerCase().includes(needle) || e.reportId.toLowerCase().includes(needle)) : all;
    return { entries: entries.slice(0, limit), total: ledger.size() };
  });

  app.get('/api/ledger/export', { schema: S.LedgerExportRoute }, async (_req, reply) => {
    const entries = ledger.list(Number.MAX_SAFE_INTEGER).map((e) => ({ seq: e.seq, reportId: e.reportId, topic: e.topic, sentAt: new Date(e.sentAt).toISOString(), payload: e.payload.toString('utf8') }));
    return reply.header('content-disposition', 'attachment; filename="hearth-privacy-ledger.json"').header('cache-control', 'no-store').send({ exportedAt: new Date().toISOString(), entries });
  });

  app.put('/api/privacy', { schema: S.PrivacyRoute }, async (req, reply) => {
    const paused = req.body.paused;
    if (!ctx.privacy) return bad(reply, ctx, 'the privacy switch is not running', 503);
    ctx.privacy.setPausedByCommand(paused);
    return { paused: ctx.privacy.status().paused };
  });

  app.get('/api/settings', { schema: S.SettingsRoute }, async () => readSettings(ctx.config));

  app.put('/api/settings', { schema: S.SetSettingsRoute }, async (req, reply) => {
    const result = writeUplinkSettings(ctx.config, req.body);
    if ('problems' in result) return bad(reply, ctx, result.problems.join('; '));
    return result;
  });
}
