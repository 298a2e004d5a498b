/**
 * The web routes' schemas on a real hub (SQLite file on disk, real broker), through fastify.inject:
 * every registered route declares what it takes and what it answers; the response schemas are an
 * allow-list (a property a handler adds that is not declared never reaches the client, at any depth);
 * a bad URL parameter, query or body is refused with a reason from the schema (not the request's
 * bytes), the security headers and a count.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import type { RunningHub } from '../src/hub/hub.js';
import { silentLogger } from '../src/log/logger.js';
import { QUERY_LIMIT_1000_PATTERN, QUERY_LIMIT_500_PATTERN, QUERY_MS_PATTERN } from '../src/web/api/schemas.js';
import { isPublicRoute } from '../src/web/auth/plugin.js';
import { createWebServer, routeTable } from '../src/web/server.js';
import { registerWebUi } from '../src/web/ui.js';
import { publishAcked } from './helpers/hub.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

const LEAK = 'Leaked-Field-Canary-5521';
const ECHO = 'Echoed-Input-Canary-8830';
const BODY_FAT = 23.75;

/** A copy of a JSON value with an undeclared property added to every object in it. */
function withExtras(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withExtras);
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) return { ...Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withExtras(v)])), leakedField: LEAK };
  return value;
}

describe('web route schemas', () => {
  let web: WebHub;
  let hub: RunningHub;
  let session: WebSession;
  let cameraId = '';
  let scaleId = '';
  let memberId = '';

  const counted = (name: string) => hub.internals.counters.snapshot()[`http.refused.${name}`] ?? 0;

  beforeAll(async () => {
    web = await startWebHub();
    hub = web.hub;
    session = await logIn(hub);
    const cam = (await session.request('POST', '/api/devices/camera', { nickname: 'Schema porch' })).json();
    cameraId = cam.id;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${cameraId}/status`, JSON.stringify({ state: 'online', ssid: 'Schemanet', rssi: -58, model: 'M1', firmware: '2.0' }));
    await publishAcked(client, `hearth/cam/${cameraId}/event`, JSON.stringify({ type: 'motion', ts: Date.now(), detail: 'gate' }));
    client.end(true);
    scaleId = (await session.request('POST', '/api/devices/scale', { address: 'C8:47:8C:77:88:99', nickname: 'Schema scale' })).json().id;
    memberId = (await session.request('POST', '/api/members', { name: 'Schema Member' })).json().id;
    new ScaleStore(hub.internals.vault.db, hub.internals.vault.sealer).record(
      { deviceId: scaleId, measuredAt: Date.now() - 1000, measurement: { ...emptyMeasurement('2a9c', 'kg'), weightKg: 64.2, weightReported: 64.2, bodyFatPercent: BODY_FAT } },
      { memberId: null, reason: 'no-members' },
    );
  });

  afterAll(async () => {
    await web?.stop();
  });

  it('declares params, query, body and response schemas on every registered route', () => {
    const routes = routeTable(hub.internals.web);
    expect(routes.length).toBeGreaterThan(35);
    const missing: string[] = [];
    for (const r of routes) {
      const name = `${r.method} ${r.url}`;
      const s = r.schema as { params?: unknown; querystring?: unknown; body?: unknown; response?: Record<string, unknown> } | undefined;
      if (!s) {
        missing.push(`${name}: no schema`);
        continue;
      }
      const codes = Object.keys(s.response ?? {});
      // The old camera and scale addresses only redirect (302, no body).
      const redirect = /^\/(cameras|scales)\/:id$/.test(r.url);
      if (!redirect && !codes.some((c) => /^2\d\d$/.test(c))) missing.push(`${name}: no success response`);
      if (!codes.includes('4xx') || !codes.includes('5xx')) missing.push(`${name}: no error response`);
      if (!s.querystring) missing.push(`${name}: no querystring`);
      if (r.url.includes('/:') !== Boolean(s.params)) missing.push(`${name}: params schema does not match the URL`);
      if (['POST', 'PUT', 'DELETE'].includes(r.method) && !s.body) missing.push(`${name}: no body schema`);
    }
    expect(missing).toEqual([]);
    // Every success answer of the JSON API is an object schema (so it is serialised from it).
    for (const r of routes) {
      if (!r.url.startsWith('/api/') || r.url === '/api/events') continue;
      const response = (r.schema as { response: Record<string, { type?: string }> }).response;
      for (const [code, schema] of Object.entries(response)) if (/^2/.test(code)) expect(schema.type, `${r.method} ${r.url} ${code}`).toBe('object');
    }
  });

  it('answers reads without choosing between schemas: no anyOf or oneOf in what a GET of the API answers', () => {
    // fast-json-stringify picks an anyOf branch by compiling (on first use, on the event loop) and
    // running a validator; a nullable field is a type list instead, told apart by typeof.
    const branching = (schema: unknown, path: string, out: string[]): string[] => {
      if (Array.isArray(schema)) schema.forEach((s, i) => branching(s, `${path}[${i}]`, out));
      else if (schema && typeof schema === 'object') {
        for (const [k, v] of Object.entries(schema)) {
          if (k === 'anyOf' || k === 'oneOf') out.push(path);
          branching(v, `${path}.${k}`, out);
        }
      }
      return out;
    };
    const found: string[] = [];
    for (const r of routeTable(hub.internals.web)) {
      if (r.method !== 'GET' || !r.url.startsWith('/api/')) continue;
      const response = (r.schema as { response: Record<string, unknown> }).response;
      for (const [code, schema] of Object.entries(response)) if (/^2/.test(code)) branching(schema, `${r.url} ${code}`, found);
    }
    expect(found).toEqual([]);
  });

  it('writes a nullable field as its value or as null', async () => {
    const page = (await session.request('GET', `/api/devices/${cameraId}`)).json();
    expect(page.device.ssid).toBe('Schemanet');
    expect(page.device.online).toBe(true);
    expect(page.device.lastRefusal).toBeNull();
    expect(page.events[0].detail).toBe('gate');
    const status = (await session.request('GET', '/api/status')).json();
    expect(status.storage.problem).toBeNull();
    expect(['on', 'paused-by-switch', 'paused', 'off']).toContain(status.upstream.state);
  });

  it('sends only declared properties, at every depth, whatever a handler returns', async () => {
    // A second server on the same hub, whose every JSON answer gets an undeclared property added to
    // each object in it before it is serialised: what a handler returning too much would send.
    const app = createWebServer({ logger: silentLogger, isReady: () => true });
    app.addHook('preSerialization', async (_req, _reply, payload) => withExtras(payload));
    await registerWebUi(app, hub.ctx);
    await app.ready();
    try {
      const login = await app.inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword } });
      expect(login.statusCode).toBe(200);
      const headers = { cookie: String(login.headers['set-cookie']).split(';')[0]!, 'x-csrf-token': login.json().csrfToken as string };
      expect(login.body).not.toContain(LEAK);
      const checked: string[] = [];
      for (const r of routeTable(app)) {
        if (r.method !== 'GET' || !r.url.startsWith('/api/') || r.url === '/api/events') continue;
        const url = r.url.replace(':id', r.url.includes('member') ? memberId : cameraId);
        const res = await app.inject({ method: 'GET', url, headers });
        expect(res.statusCode, url).toBe(200);
        expect(res.body, url).not.toContain(LEAK);
        checked.push(url);
      }
      expect(checked.length).toBeGreaterThan(15);
      // Declared fields still arrive, nested ones too.
      const device = (await app.inject({ method: "GET", url: `/api/devices/${cameraId}?type=motion`, headers })).json();
      expect(device.device).toMatchObject({ nickname: 'Schema porch', ssid: 'Schemanet', online: expect.any(Boolean), eventCounts: { motion: 1 } });
      expect(device.events[0]).toEqual({ type: 'motion', at: expect.any(Number), detail: 'gate' });
      // State changes and refusals go through the same allow-list.
      for (const [method, url, payload] of [
        ['POST', '/api/members', { name: 'Second Member' }],
        ['PUT', '/api/consent/adoption', { enabled: false }],
        ['POST', '/api/members', { name: 42 }],
        ['GET', '/api/devices/cam-000000000000', undefined],
      ] as const) {
        const res = await app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
        expect(res.statusCode, url).toBeLessThan(500);
        expect(res.body, `${method} ${url}`).not.toContain(LEAK);
      }
    } finally {
      await app.close();
    }
  });

  it('keeps what lists do not need out of them: a weigh-in lists its weight, not its body composition', async () => {
    const [m] = (await session.request('GET', '/api/measurements/unassigned')).json().measurements;
    expect(m).toEqual({ id: expect.stringMatching(/^wi-/), deviceId: scaleId, scale: 'Schema scale', memberId: null, measuredAt: expect.any(Number), weightKg: 64.2 });
    // The export is where everything is, by design.
    const exported = (await session.request('GET', `/api/export/device/${scaleId}`)).json();
    expect(exported.measurements[0].measurement).toMatchObject({ weightKg: 64.2, bodyFatPercent: BODY_FAT });
    // Every field a weigh-in has is declared for the export: nothing stored is silently left out.
    expect(Object.keys(exported.measurements[0].measurement).sort()).toEqual(Object.keys(emptyMeasurement('2a9c', 'kg')).sort());
  });

  it('answers a settings change with the editable settings only, not the rest of hearth.json', async () => {
    writeFileSync(join(web.dataDir, 'hearth.json'), JSON.stringify({ uplink: { username: 'collector-user-canary', passwordFile: 'secret.txt' } }));
    const res = await session.request('PUT', '/api/settings', { uplink: { dailyEpsilonBudget: 0.3 } });
    expect(res.statusCode).toBe(200);
    expect(res.json().saved).toEqual({ dailyEpsilonBudget: 0.3 });
    expect(res.body).not.toContain('collector-user-canary');
    expect(JSON.parse(readFileSync(join(web.dataDir, 'hearth.json'), 'utf8')).uplink).toEqual({ username: 'collector-user-canary', passwordFile: 'secret.txt', dailyEpsilonBudget: 0.3 });
    expect((await session.request('GET', '/api/settings')).body).not.toContain('collector-user-canary');
  });

  it('refuses a bad query, body or URL parameter with a reason from the schema, the headers and a count', async () => {
    const cases: { method: string; url: string; payload?: unknown; status: number; error: string }[] = [
      // Queries: whole numbers by pattern, not coercion; unknown parameters refused.
      { method: 'GET', url: `/api/devices/${cameraId}/events?limit=1e2`, status: 400, error: 'from, to and limit must be whole numbers (milliseconds, 1–500)' },
      { method: 'GET', url: `/api/devices/${cameraId}/events?since=0x10`, status: 400, error: 'from, to and limit must be whole numbers (milliseconds, 1–500)' },
      { method: 'GET', url: `/api/devices/${cameraId}/events?type=${ECHO}`, status: 400, error: 'type must be an event type such as motion' },
      { method: 'GET', url: `/api/devices/${cameraId}/events?${ECHO}=1`, status: 400, error: 'the query takes only from, to, since, until, limit, type' },
      { method: 'GET', url: `/api/devices?x=${ECHO}`, status: 400, error: 'the query takes no fields' },
      { method: 'GET', url: '/api/ledger?limit=1001', status: 400, error: 'limit must be 1–1000' },
      { method: 'GET', url: `/api/ledger?q=${'q'.repeat(201)}`, status: 400, error: 'q must be a short text' },
      // Bodies: no coercion, no unknown fields, the right shape.
      { method: 'PUT', url: '/api/consent/adoption', payload: { enabled: 'true' }, status: 400, error: 'enabled must be true or false' },
      { method: 'PUT', url: '/api/privacy', payload: { paused: 1 }, status: 400, error: 'paused must be true or false' },
      { method: 'POST', url: '/api/members', payload: { name: 'Valid Name', [ECHO]: true }, status: 400, error: 'the body takes only name' },
      { method: 'POST', url: '/api/members', payload: [ECHO], status: 400, error: 'name is required' },
      { method: 'POST', url: '/api/devices/camera', payload: { nickname: { x: ECHO } }, status: 400, error: 'send the enrolment fields as a JSON object of short texts' },
      { method: 'PUT', url: '/api/settings', payload: { uplink: { url: 'mqtt://h:1', [ECHO]: 1 } }, status: 400, error: 'uplink takes only url, windowSeconds, questionsPerDay, dailyEpsilonBudget' },
      { method: 'POST', url: `/api/forget/member/${memberId}`, payload: { confirm: 'true' }, status: 400, error: 'send { "confirm": true } to delete for good' },
      { method: 'POST', url: '/api/logout', payload: { [ECHO]: 1 }, status: 400, error: 'this request takes no body' },
      // URL parameters: an id that cannot exist names nothing.
      { method: 'GET', url: `/api/members/${ECHO}/history`, status: 404, error: 'not found' },
      { method: 'GET', url: '/api/devices/cam-00000000000G', status: 404, error: 'not found' },
      { method: 'POST', url: '/api/measurements/wi-123/assign', payload: { memberId: null }, status: 404, error: 'not found' },
      { method: 'PUT', url: `/api/consent/${ECHO}`, payload: { enabled: true }, status: 404, error: 'unknown category; one of adoption, device-health, scale-usage' },
    ];
    for (const c of cases) {
      const before = counted('invalid');
      const res = await session.request(c.method, c.url, c.payload);
      const name = `${c.method} ${c.url}`;
      expect(res.statusCode, name).toBe(c.status);
      expect(res.json(), name).toEqual({ error: c.error });
      expect(res.body, name).not.toContain(ECHO);
      expect(res.headers['content-security-policy'], name).toContain("default-src 'self'");
      expect(res.headers['x-frame-options'], name).toBe('DENY');
      expect(res.headers['cache-control'], name).toBe('no-store');
      expect(counted('invalid'), name).toBe(before + 1);
    }
    // Nothing of a refused request was done.
    expect((await session.request('GET', '/api/members')).json().members.map((m: { name: string }) => m.name)).not.toContain('Valid Name');
    expect((await session.request('GET', `/api/members/${memberId}/history`)).statusCode).toBe(200);
    // A malformed login counts as its own kind of refusal, as it did before the schemas.
    const login = counted('login_bad_request');
    const res = await hub.internals.web.inject({ method: 'POST', url: '/api/login', payload: { password: 5 }, remoteAddress: '10.1.1.1' });
    expect(res.json()).toEqual({ error: 'a password is required' });
    expect(counted('login_bad_request')).toBe(login + 1);
  });

  it('matches whole numbers in a query by pattern, exactly within the range', () => {
    const ok = (pattern: string, s: string) => new RegExp(pattern).test(s);
    for (let n = 0; n <= 1100; n++) {
      expect(ok(QUERY_LIMIT_500_PATTERN, String(n)), String(n)).toBe(n >= 1 && n <= 500);
      expect(ok(QUERY_LIMIT_1000_PATTERN, String(n)), String(n)).toBe(n >= 1 && n <= 1000);
    }
    for (const p of [QUERY_LIMIT_500_PATTERN, QUERY_LIMIT_1000_PATTERN, QUERY_MS_PATTERN]) {
      expect(ok(p, '')).toBe(true); // absent
      for (const s of ['1e2', '0x10', ' 5', '5 ', '5.0', '-1', '+5', '１']) expect(ok(p, s), s).toBe(false);
    }
    expect(ok(QUERY_MS_PATTERN, '999999999999999')).toBe(true);
    expect(ok(QUERY_MS_PATTERN, '1000000000000000')).toBe(false);
    expect(ok(QUERY_LIMIT_500_PATTERN, '007')).toBe(false);
  });

  it('lets a refusal from the schema through only after the session check', async () => {
    // Deny-by-default first: without a session, a malformed request learns nothing about its shape.
    for (const r of routeTable(hub.internals.web)) {
      if (isPublicRoute(r.method, r.url) || r.method === 'HEAD' || r.method === 'OPTIONS') continue;
      const res = await hub.internals.web.inject({ method: r.method as 'GET', url: `${r.url.replace(/:\w+/g, ECHO)}?${ECHO}=1`, ...(r.method === 'GET' ? {} : { payload: { [ECHO]: 1 } }) });
      expect([401, 302], `${r.method} ${r.url}`).toContain(res.statusCode);
    }
    // The hook is the server's, not the plugin's: unknown addresses are behind it too.
    expect((await hub.internals.web.inject({ method: 'GET', url: `/api/${ECHO}` })).statusCode).toBe(401);
  });
});
