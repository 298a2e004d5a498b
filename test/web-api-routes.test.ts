/**
 * The web API's routes beyond the basics, through fastify.inject on a real hub (SQLite file on
 * disk, real broker): the CSRF walk over every state-changing route, no-store on every API answer,
 * the event timeline's filters, weigh-ins (history, unassigned, assign), DELETE to forget a member
 * or remove a device (the sealed bytes, blind indexes and WAL copies leave the database file), and
 * session lifetimes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import type { RunningHub } from '../src/hub/hub.js';
import { isPublicRoute } from '../src/web/auth/plugin.js';
import { SessionStore } from '../src/web/auth/sessions.js';
import { routeTable } from '../src/web/server.js';
import { publishAcked } from './helpers/hub.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

const SCALE_ADDRESS = 'C8:47:8C:11:22:33';
const WEIGHT_KG = 71.937;

describe('web API routes', () => {
  let web: WebHub;
  let hub: RunningHub;
  let dir: string;
  let session: WebSession;
  let cookie = '';
  let cameraId = '';
  let scaleId = '';
  let memberId = '';
  let measurementId = '';

  const inject = (opts: object) => hub.internals.web.inject(opts as never);
  const authed = (method: string, url: string, payload?: unknown) => session.request(method, url, payload);

  beforeAll(async () => {
    web = await startWebHub();
    ({ hub, dataDir: dir } = web);
    session = await logIn(hub);
    cookie = session.cookie;
    const cam = (await authed('POST', '/api/devices/camera', { nickname: 'Porch' })).json();
    cameraId = cam.id;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${cameraId}/status`, JSON.stringify({ state: 'online', ssid: 'Porchnet', rssi: -61 }));
    for (const type of ['motion', 'motion', 'tamper']) await publishAcked(client, `hearth/cam/${cameraId}/event`, JSON.stringify({ type, ts: Date.now() }));
    client.end(true);
    const scale = await authed('POST', '/api/devices/scale', { address: SCALE_ADDRESS, nickname: 'Bathroom scale' });
    expect(scale.statusCode).toBe(201);
    scaleId = scale.json().id;
    memberId = (await authed('POST', '/api/members', { name: 'Orla Weighted' })).json().id;
    // A weigh-in as the BLE reader stores it, not matched to anyone yet.
    const stored = new ScaleStore(hub.internals.vault.db, hub.internals.vault.sealer).record(
      { deviceId: scaleId, measuredAt: Date.now() - 60_000, measurement: { ...emptyMeasurement('2a9d', 'kg'), weightKg: WEIGHT_KG, weightReported: WEIGHT_KG } },
      { memberId: null, reason: 'no-members' },
    );
    measurementId = stored.id;
  });

  afterAll(async () => {
    await web?.stop();
  });

  it('refuses every state-changing route with a valid session but without the CSRF token', async () => {
    const walked: string[] = [];
    for (const r of routeTable(hub.internals.web)) {
      if (['GET', 'HEAD', 'OPTIONS'].includes(r.method) || isPublicRoute(r.method, r.url)) continue;
      const url = r.url.replace(':id', 'cam-000000000000').replace(':category', 'adoption');
      for (const token of [undefined, 'x'.repeat(session.csrf.length), session.csrf.slice(0, -1), '']) {
        const res = await inject({ method: r.method, url, payload: {}, headers: { cookie, ...(token !== undefined ? { 'x-csrf-token': token } : {}) } });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      }
      walked.push(`${r.method} ${r.url}`);
    }
    expect(walked).toEqual(expect.arrayContaining(['POST /api/devices/:kind', 'DELETE /api/devices/:id', 'DELETE /api/forget/member/:id', 'PUT /api/settings', 'POST /api/logout']));
    expect(hub.internals.counters.snapshot()['http.refused.csrf']).toBeGreaterThanOrEqual(walked.length * 4);
  });

  it('marks every API answer no-store and sends the security headers with it', async () => {
    for (const r of routeTable(hub.internals.web)) {
      if (r.method !== 'GET' || !r.url.startsWith('/api/') || r.url === '/api/events') continue;
      const res = await authed('GET', r.url.replace(':id', memberId.startsWith('mem-') && r.url.includes('member') ? memberId : cameraId));
      expect(res.statusCode, r.url).toBeLessThan(500);
      expect(res.headers['cache-control'], r.url).toBe('no-store');
      expect(res.headers['content-security-policy'], r.url).toBe("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
      expect(res.headers['x-frame-options']).toBe('DENY');
    }
  });

  it('filters a camera timeline by type, time and count', async () => {
    const events = async (query: string) => (await authed('GET', `/api/devices/${cameraId}/events?${query}`)).json().events as { type: string }[];
    expect((await events('type=motion')).map((e) => e.type)).toEqual(['motion', 'motion']);
    expect(await events('type=tamper')).toHaveLength(1);
    expect(await events('limit=1')).toHaveLength(1);
    expect(await events(`since=${Date.now() + 60_000}`)).toHaveLength(0);
    expect(await events('until=1')).toHaveLength(0);
    expect((await events(`since=${Date.now() - 600_000}&until=${Date.now() + 1000}&type=motion`)).length).toBe(2);
    for (const q of ['limit=0', 'limit=501', 'since=-1', 'until=1e9', 'type=DROP%20TABLE', 'type=a&type=b']) expect((await authed('GET', `/api/devices/${cameraId}/events?${q}`)).statusCode, q).toBe(400);
    // The device route carries the same timeline, so one call fills the device page.
    const device = (await authed('GET', `/api/devices/${cameraId}?type=tamper`)).json();
    expect(device.device.nickname).toBe('Porch');
    expect(device.events.map((e: { type: string }) => e.type)).toEqual(['tamper']);
    expect(device.types).toEqual(expect.arrayContaining(['tamper', 'motion', 'online']));
    expect((await authed('GET', `/api/devices/${cameraId}?limit=0`)).statusCode).toBe(400);
  });

  it('lists an unassigned weigh-in, assigns it to a member, and shows it in their history', async () => {
    const unassigned = (await authed('GET', '/api/measurements/unassigned')).json().measurements;
    expect(unassigned).toEqual([expect.objectContaining({ id: measurementId, weightKg: WEIGHT_KG, scale: 'Bathroom scale', memberId: null })]);
    expect((await authed('POST', `/api/measurements/${measurementId}/assign`, { memberId: 'mem-000000000000' })).statusCode).toBe(400);
    expect((await authed('POST', '/api/measurements/wi-0000000000000000/assign', { memberId })).statusCode).toBe(404);
    expect((await authed('POST', `/api/measurements/${measurementId}/assign`, { memberId })).json()).toEqual({ ok: true });
    const history = (await authed('GET', `/api/members/${memberId}/history`)).json();
    expect(history.measurements.map((m: { weightKg: number }) => m.weightKg)).toEqual([WEIGHT_KG]);
    expect((await authed('GET', '/api/measurements/unassigned')).json().measurements).toEqual([]);
    const devices = (await authed('GET', '/api/devices')).json().devices;
    expect(devices.find((d: { id: string }) => d.id === scaleId)).toMatchObject({ kind: 'scale', nickname: 'Bathroom scale', eventsToday: 1 });
    expect(devices.find((d: { id: string }) => d.id === cameraId)).toMatchObject({ kind: 'camera', eventsToday: 3 });
  });

  it('forgets a member and removes a scale with DELETE: their sealed bytes and blind indexes leave the database file', async () => {
    const db = hub.internals.vault.db;
    const secrets = [
      db.prepare('SELECT name FROM members WHERE id = ?').pluck().get(memberId) as Buffer,
      Buffer.from(db.prepare('SELECT name_tag FROM members WHERE id = ?').pluck().get(memberId) as string),
      db.prepare('SELECT metrics FROM measurements WHERE id = ?').pluck().get(measurementId) as Buffer,
      db.prepare('SELECT nickname FROM devices WHERE id = ?').pluck().get(scaleId) as Buffer,
      Buffer.from(db.prepare('SELECT lookup_tag FROM devices WHERE id = ?').pluck().get(scaleId) as string),
    ];
    for (const s of secrets) expect(s.length).toBeGreaterThan(8);
    const fileBytes = () => Buffer.concat(['hearth.db', 'hearth.db-wal'].map((f) => join(dir, f)).filter(existsSync).map((p) => readFileSync(p)));
    db.pragma('wal_checkpoint(TRUNCATE)');
    for (const s of secrets) expect(fileBytes().includes(s)).toBe(true);

    expect((await authed('DELETE', `/api/forget/member/${memberId}`)).json()).toEqual({ forgotten: memberId });
    expect((await authed('DELETE', `/api/devices/${scaleId}`)).json()).toEqual({ forgotten: scaleId });
    const after = fileBytes();
    for (const s of secrets) expect(after.includes(s)).toBe(false);
    expect((await authed('GET', `/api/members/${memberId}/history`)).statusCode).toBe(404);
    expect((await authed('GET', `/api/devices/${scaleId}`)).statusCode).toBe(404);
    expect((await authed('DELETE', `/api/devices/${scaleId}`)).statusCode).toBe(404);
    // The camera is untouched, and the scale can be enrolled again (its address index is free).
    expect((await authed('GET', `/api/devices/${cameraId}`)).json().device.nickname).toBe('Porch');
    expect((await authed('POST', '/api/devices/scale', { address: SCALE_ADDRESS, nickname: 'Scale again' })).statusCode).toBe(201);
  });

  it('refuses malformed logins with a reason and counts malformed JSON', async () => {
    for (const payload of [{ password: { $ne: null } }, { password: ['a'] }, { password: '' }, {}, { password: 'x'.repeat(300) }]) {
      const res = await inject({ method: 'POST', url: '/api/login', payload, remoteAddress: '10.9.9.9' });
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toBe('a password is required');
    }
    const before = hub.internals.counters.snapshot()['http.refused.bad_json'] ?? 0;
    const res = await inject({ method: 'POST', url: '/api/login', payload: '{"password":', headers: { 'content-type': 'application/json' }, remoteAddress: '10.9.9.9' });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('the body is not valid JSON');
    expect(hub.internals.counters.snapshot()['http.refused.bad_json']).toBe(before + 1);
  });
});

describe('web sessions', () => {
  it('end after the idle time and at the absolute age, and stay bounded in number', () => {
    let now = 1_000_000;
    const store = new SessionStore({ idleMs: 60_000, absoluteMs: 300_000, maxSessions: 3, now: () => now });
    const a = store.create();
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 random bits
    now += 59_000;
    expect(store.get(a.id)).toBe(a.session);
    now += 61_000;
    expect(store.get(a.id)).toBeUndefined(); // idle too long

    const b = store.create();
    for (let i = 0; i < 6; i++) {
      now += 50_000;
      expect(store.get(b.id)).toBe(b.session); // kept alive by use...
    }
    now += 1;
    expect(store.get(b.id)).toBeUndefined(); // ...but not past its absolute age

    const ids = [store.create(), store.create(), store.create(), store.create()].map((s) => s.id);
    expect(store.size).toBe(3);
    expect(store.get(ids[0])).toBeUndefined(); // the oldest made room
    expect(store.get(ids[3])).toBeDefined();
    expect(store.get('x'.repeat(5000))).toBeUndefined();
  });
});
