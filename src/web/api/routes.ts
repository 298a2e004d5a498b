/**
 * The web UI's JSON API. Every route here sits behind the session hook (src/web/auth/plugin.ts);
 * state changes also need the session's CSRF token. Inputs are validated and bounded, errors say
 * what was wrong without quoting the request back.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { generateDevicePassword } from '../../crypto/password.js';
import { ConsentStore } from '../../consent/consent.js';
import { DEVICE_ID_PATTERN, nicknameProblem, type DeviceRecord } from '../../devices/registry.js';
import type { CameraView } from '../../devices/camera/store.js';
import { normalizeBleAddress, ScaleExistsError, ScaleStore, WEIGH_IN_EVENT, type StoredMeasurement } from '../../devices/scale/store.js';
import type { HubContext } from '../../hub/hub.js';
import { MEMBER_ID_PATTERN, MemberExistsError, memberNameProblem, MemberStore } from '../../members/store.js';
import { CATEGORIES, isCategory, METRICS } from '../../metrics/categories.js';
import { PrivacyLedger } from '../../uplink/ledger.js';
import { readSettings, writeUplinkSettings } from './settings.js';
import { EventTotals } from '../../store/event-totals.js';

const MEASUREMENT_ID = /^wi-[0-9a-f]{16}$/;
const MAX_EVENTS = 500;
const MAX_LEDGER = 1000;

type Ctx = Pick<HubContext, 'config' | 'vault' | 'registry' | 'cameras' | 'broker' | 'counters' | 'storage' | 'passwords' | 'events'> & Partial<Pick<HubContext, 'privacy' | 'uplink'>>;

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

/** An optional integer query parameter within bounds; undefined when absent, NaN when invalid. */
function intParam(value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return NaN;
  const n = Number(value);
  return n < min || n > max ? NaN : n;
}

export function registerApi(app: FastifyInstance, ctx: Ctx): void {
  const db = ctx.vault.db;
  const members = new MemberStore(db, ctx.vault.sealer);
  const scales = new ScaleStore(db, ctx.vault.sealer);
  const consent = new ConsentStore(db);
  const ledger = new PrivacyLedger(db);
  const eventsToday = db.prepare('SELECT device_id, COUNT(*) AS n FROM events WHERE received_at >= ? AND type NOT IN (\'online\', \'offline\') GROUP BY device_id');
  const totals = new EventTotals(db);
  const timelineSql = 'SELECT id, type, ts, received_at, detail FROM events WHERE device_id = @id AND received_at >= @from AND received_at < @to';
  const eventsAll = db.prepare(`${timelineSql} ORDER BY received_at DESC, id DESC LIMIT @limit`);
  const eventsOfType = db.prepare(`${timelineSql} AND type = @type ORDER BY received_at DESC, id DESC LIMIT @limit`);
  const weighInsToday = db.prepare('SELECT COUNT(*) FROM events WHERE type = ? AND received_at >= ?').pluck();

  function deviceSummary(d: DeviceRecord, today: Map<string, number>, view?: CameraView) {
    if (d.kind === 'camera') {
      const v = view ?? ctx.cameras.view(d.id);
      return { id: d.id, kind: d.kind, nickname: d.nickname, createdAt: d.createdAt, online: v.online, lastSeen: v.lastSeen, eventsToday: today.get(d.id) ?? 0 };
    }
    return { id: d.id, kind: d.kind, nickname: d.nickname, createdAt: d.createdAt, online: null, lastSeen: totals.lastReceivedAt(d.id), eventsToday: today.get(d.id) ?? 0 };
  }

  function todayCounts(): Map<string, number> {
    return new Map((eventsToday.all(startOfToday()) as { device_id: string; n: number }[]).map((r) => [r.device_id, r.n]));
  }

  function upstreamState(): { state: 'on' | 'paused-by-switch' | 'paused' | 'off'; detail: string } {
    const p = ctx.privacy?.status();
    if (p?.bySwitch) return { state: 'paused-by-switch', detail: 'The privacy switch on the hub is on: nothing is sent.' };
    if (p?.paused) return { state: 'paused', detail: 'Paused from the web UI or with `hearth privacy pause`: nothing is sent.' };
    if (!ctx.config.uplink.url) return { state: 'off', detail: 'No upstream is configured: nothing is sent.' };
    if (!consent.all().some((c) => c.enabled)) return { state: 'off', detail: 'No category is consented: nothing is sent.' };
    return { state: 'on', detail: 'Consented, noised reports are sent upstream.' };
  }

  app.get('/api/status', async () => {
    const today = todayCounts();
    const p = ctx.privacy?.status();
    return {
      upstream: upstreamState(),
      privacy: { paused: p?.paused ?? false, pausedBySwitch: p?.bySwitch ?? false, pausedByCommand: p?.byCommand ?? false, switchPresent: p?.switchPresent ?? false },
      storage: { healthy: ctx.storage.healthy, problem: ctx.storage.problem === 'SQLITE_FULL' ? 'the disk is full' : ctx.storage.problem ?? null, since: ctx.storage.since },
      today: { events: [...today.values()].reduce((a, b) => a + b, 0), weighIns: weighInsToday.get(WEIGH_IN_EVENT, startOfToday()) as number },
      devices: { cameras: ctx.registry.list('camera').length, scales: ctx.registry.list('scale').length, online: ctx.broker.connectedDeviceIds().length },
    };
  });

  // Devices
  app.get('/api/devices', async () => {
    const today = todayCounts();
    return { devices: ctx.registry.list().map((d) => deviceSummary(d, today)) };
  });

  /** A device's events, newest first, by the query's filters; a reason when a filter is malformed. */
  function timeline(deviceId: string, q: Record<string, unknown>): { error: string } | { events: unknown[]; types: string[] } {
    // since/until are the same as from/to (milliseconds since the epoch; until is exclusive).
    const from = intParam(q.from ?? q.since, 0, 8.64e15);
    const to = intParam(q.to ?? q.until, 0, 8.64e15);
    const limit = intParam(q.limit, 1, MAX_EVENTS) ?? 200;
    const type = q.type;
    if (Number.isNaN(from) || Number.isNaN(to) || Number.isNaN(limit)) return { error: 'from, to and limit must be whole numbers (milliseconds, 1–500)' };
    if (type !== undefined && type !== '' && (typeof type !== 'string' || !/^[a-z][a-z0-9_]{0,31}$/.test(type))) return { error: 'type must be an event type such as motion' };
    const rows = (type ? eventsOfType : eventsAll).all({ id: deviceId, ...(type ? { type } : {}), from: from ?? 0, to: to ?? 8.64e15, limit }) as { id: number; type: string; ts: number; received_at: number; detail: Buffer | null }[];
    return {
      events: rows.map((r) => ({ id: r.id, type: r.type, ts: r.ts, at: r.received_at, detail: r.detail ? ctx.cameras.openDetail(r.id, r.detail) : null })),
      types: totals.types(deviceId),
    };
  }

  // The device with its timeline (same filters as /events), so one call fills a device page.
  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>('/api/devices/:id', async (req, reply) => {
    const d = DEVICE_ID_PATTERN.test(req.params.id) ? ctx.registry.get(req.params.id) : undefined;
    if (!d) return notFound(reply);
    const events = timeline(d.id, req.query);
    if ('error' in events) return bad(reply, ctx, events.error);
    if (d.kind !== 'camera') return { device: deviceSummary(d, todayCounts()), ...events };
    // One decryption of the camera's state serves both the summary and the details.
    const v = ctx.cameras.view(d.id);
    const summary = deviceSummary(d, todayCounts(), v);
    return { device: { ...summary, model: v.model, firmware: v.firmware, ssid: v.ssid, ip: v.ip, rssi: v.rssi, eventCounts: v.eventCounts, lastRefusal: ctx.counters.lastRefusal(d.id) }, ...events };
  });

  app.get<{ Params: { id: string }; Querystring: Record<string, unknown> }>('/api/devices/:id/events', async (req, reply) => {
    if (!DEVICE_ID_PATTERN.test(req.params.id) || !ctx.registry.exists(req.params.id)) return notFound(reply);
    const events = timeline(req.params.id, req.query);
    return 'error' in events ? bad(reply, ctx, events.error) : events;
  });

  app.post<{ Body: { nickname?: unknown } }>('/api/devices/camera', async (req, reply) => {
    const nickname = req.body?.nickname;
    if (typeof nickname !== 'string') return bad(reply, ctx, 'nickname is required');
    const problem = nicknameProblem(nickname);
    if (problem) return bad(reply, ctx, problem);
    const password = generateDevicePassword();
    const secretHash = await ctx.passwords.hash(password, 'device');
    const d = ctx.registry.add('camera', nickname.trim(), { secretHash });
    ctx.events.emit({ type: 'devices', at: Date.now() });
    // The password is in this response only: the hub keeps its Argon2id hash.
    return reply.code(201).header('cache-control', 'no-store').send({ id: d.id, username: d.id, password, topics: { status: `hearth/cam/${d.id}/status`, event: `hearth/cam/${d.id}/event`, commands: `hearth/cam/${d.id}/cmd/#` } });
  });

  app.post<{ Body: { address?: unknown; nickname?: unknown } }>('/api/devices/scale', async (req, reply) => {
    const { address, nickname } = req.body ?? {};
    if (typeof address !== 'string' || typeof nickname !== 'string') return bad(reply, ctx, 'address and nickname are required');
    if (!normalizeBleAddress(address)) return bad(reply, ctx, 'the address must look like AA:BB:CC:DD:EE:FF');
    const problem = nicknameProblem(nickname);
    if (problem) return bad(reply, ctx, problem);
    try {
      const d = scales.enroll(address, nickname.trim());
      ctx.events.emit({ type: 'devices', at: Date.now() });
      return reply.code(201).send({ id: d.id, kind: d.kind, nickname: d.nickname });
    } catch (err) {
      if (err instanceof ScaleExistsError) return bad(reply, ctx, 'a scale with this address is already enrolled', 409);
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

  app.get('/api/members', async () => ({ members: members.list() }));

  app.post<{ Body: { name?: unknown } }>('/api/members', async (req, reply) => {
    const name = req.body?.name;
    if (typeof name !== 'string') return bad(reply, ctx, 'name is required');
    const problem = memberNameProblem(name);
    if (problem) return bad(reply, ctx, problem);
    try {
      return reply.code(201).send(members.add(name));
    } catch (err) {
      if (err instanceof MemberExistsError) return bad(reply, ctx, 'a member with this name exists', 409);
      throw err;
    }
  });

  app.get<{ Params: { id: string } }>('/api/members/:id/history', async (req, reply) => {
    const m = MEMBER_ID_PATTERN.test(req.params.id) ? members.get(req.params.id) : undefined;
    if (!m) return notFound(reply);
    const names = nicknames();
    return { member: m, measurements: scales.history(m.id, 1000).map((x) => measurementView(x, names)) };
  });

  app.get('/api/measurements/unassigned', async () => {
    const names = nicknames();
    return { measurements: scales.list({ unassignedOnly: true, limit: 200 }).map((x) => measurementView(x, names)) };
  });

  app.post<{ Params: { id: string }; Body: { memberId?: unknown } }>('/api/measurements/:id/assign', async (req, reply) => {
    if (!MEASUREMENT_ID.test(req.params.id)) return notFound(reply);
    const memberId = req.body?.memberId;
    if (memberId !== null && (typeof memberId !== 'string' || !MEMBER_ID_PATTERN.test(memberId) || !members.get(memberId))) return bad(reply, ctx, 'memberId must name a member (or be null to unassign)');
    if (!scales.assign(req.params.id, memberId)) return notFound(reply);
    ctx.events.emit({ type: 'measurement', at: Date.now() });
    return { ok: true };
  });

  // Consent, preview, ledger, privacy, settings
  app.get('/api/consent', async () => ({
    categories: consent.all().map((c) => ({ category: c.category, enabled: c.enabled, since: c.since, metrics: METRICS[c.category].map((m) => ({ name: m.name, help: m.help })) })),
    history: consent.history(50),
  }));

  app.put<{ Params: { category: string }; Body: { enabled?: unknown } }>('/api/consent/:category', async (req, reply) => {
    const category = req.params.category;
    if (!isCategory(category)) return bad(reply, ctx, `unknown category; one of ${CATEGORIES.join(', ')}`, 404);
    const enabled = req.body?.enabled;
    if (typeof enabled !== 'boolean') return bad(reply, ctx, 'enabled must be true or false');
    const res = consent.set(category, enabled, Date.now());
    ctx.uplink?.wake();
    return { category, enabled, changed: res.changed, droppedReports: res.droppedReports };
  });

  app.get('/api/consent/preview', async () => {
    if (!ctx.uplink) return { reports: [], note: 'The uplink is not running; no preview.' };
    const previews = ctx.uplink.reporter.preview(Date.now());
    return {
      reports: previews.filter((p) => p.report).map((p) => ({ category: p.category, json: JSON.stringify(p.report, null, 2) })),
      skipped: previews.filter((p) => !p.report).map((p) => ({ category: p.category, status: p.status })),
      note: 'This is what the open window would send if it closed now. The numbers carry fresh noise each time, so the report actually sent will differ.',
    };
  });

  app.get<{ Querystring: { q?: unknown; limit?: unknown } }>('/api/ledger', async (req, reply) => {
    const q = req.query.q;
    if (q !== undefined && (typeof q !== 'string' || q.length > 200)) return bad(reply, ctx, 'q must be a short text');
    const limit = intParam(req.query.limit, 1, MAX_LEDGER) ?? MAX_LEDGER;
    if (Number.isNaN(limit)) return bad(reply, ctx, `limit must be 1–${MAX_LEDGER}`);
    const all = ledger.list(MAX_LEDGER).map((e) => ({ seq: e.seq, reportId: e.reportId, topic: e.topic, sentAt: e.sentAt, bytes: e.payload.length, payload: e.payload.toString('utf8') }));
    const needle = typeof q === 'string' ? q.trim().toLowerCase() : '';
    const entries = needle ? all.filter((e) => e.payload.toLowerCase().includes(needle) || e.topic.toLowerCase().includes(needle) || e.reportId.toLowerCase().includes(needle)) : all;
    return { entries: entries.slice(0, limit), total: ledger.size() };
  });

  app.get('/api/ledger/export', async (_req, reply) => {
    const entries = ledger.list(Number.MAX_SAFE_INTEGER).map((e) => ({ seq: e.seq, reportId: e.reportId, topic: e.topic, sentAt: new Date(e.sentAt).toISOString(), payload: e.payload.toString('utf8') }));
    return reply.header('content-disposition', 'attachment; filename="hearth-privacy-ledger.json"').header('cache-control', 'no-store').send({ exportedAt: new Date().toISOString(), entries });
  });

  app.put<{ Body: { paused?: unknown } }>('/api/privacy', async (req, reply) => {
    const paused = req.body?.paused;
    if (typeof paused !== 'boolean') return bad(reply, ctx, 'paused must be true or false');
    if (!ctx.privacy) return bad(reply, ctx, 'the privacy switch is not running', 503);
    ctx.privacy.setPausedByCommand(paused);
    ctx.events.emit({ type: 'privacy', at: Date.now() });
    return { paused: ctx.privacy.status().paused };
  });

  app.get('/api/settings', async () => readSettings(ctx.config));

  app.put<{ Body: unknown }>('/api/settings', async (req, reply) => {
    const result = writeUplinkSettings(ctx.config, req.body);
    if ('problems' in result) return bad(reply, ctx, result.problems.join('; '));
    return result;
  });
}
