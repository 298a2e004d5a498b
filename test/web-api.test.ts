/**
 * The web UI's server side through fastify.inject against a real hub (real SQLite on disk, real
 * broker): the authorization walk over every route, login, sessions and CSRF, the LAN guard,
 * headers and body limits, the API, and export/forget proven on the database file's bytes.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { get as httpGet } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { HUB_SERVICES } from '../src/hub/services.js';
import { silentLogger } from '../src/log/logger.js';
import { isPublicRoute } from '../src/web/auth/plugin.js';
import { routeTable } from '../src/web/server.js';
import { publishAcked, tempDir } from './helpers/hub.js';

const CANARY = { nickname: 'Nick-Canary-Attic', ssid: 'SSID-Canary-4471', member: 'Member Canary Zed' };

describe('web API', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let cookie = '';
  let csrf = '';
  let camera: { id: string; username: string; password: string };
  let memberId = '';

  const inject = (opts: Parameters<RunningHub['ctx']['web']['inject']>[0]) => hub.ctx.web.inject(opts as never);
  const authed = (method: string, url: string, payload?: unknown, extra: Record<string, string> = {}) =>
    inject({ method, url, payload: payload as never, headers: { cookie, 'x-csrf-token': csrf, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...extra } } as never);

  async function login(password: string, headers: Record<string, string> = {}) {
    return inject({ method: 'POST', url: '/api/login', payload: { password }, headers } as never);
  }

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' }, env: { HEARTH_BLE_ENABLED: 'false' } });
    hub = await startHub(config, { env: {}, logger: silentLogger, services: HUB_SERVICES });
    expect(hub.firstAdminPassword).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
    const res = await login(hub.firstAdminPassword!);
    expect(res.statusCode).toBe(200);
    cookie = String(res.headers['set-cookie']).split(';')[0]!;
    csrf = res.json().csrfToken;
    const cam = await authed('POST', '/api/devices/camera', { nickname: CANARY.nickname });
    expect(cam.statusCode).toBe(201);
    camera = cam.json();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: camera.username, password: camera.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${camera.id}/status`, JSON.stringify({ state: 'online', ssid: CANARY.ssid, rssi: -50, model: 'M', firmware: '1' }));
    await publishAcked(client, `hearth/cam/${camera.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now(), detail: 'front path' }));
    client.end(true);
    const m = await authed('POST', '/api/members', { name: CANARY.member });
    expect(m.statusCode).toBe(201);
    memberId = m.json().id;
  });

  afterAll(async () => {
    await hub?.stop();
    dir.cleanup();
  });

  it('refuses every route but the public ones without a session, and leaks nothing stored', async () => {
    const routes = routeTable(hub.ctx.web);
    expect(routes.length).toBeGreaterThan(25);
    const checked: string[] = [];
    for (const r of routes) {
      if (r.method === 'HEAD' || r.method === 'OPTIONS') continue;
      const url = r.url.replace(':id', camera.id).replace(':category', 'adoption').replace(':name', 'app.js');
      const res = await inject({ method: r.method, url, payload: r.method === 'GET' ? undefined : ({} as never), headers: { accept: 'text/html,application/json' } } as never);
      const body = res.body + JSON.stringify(res.headers);
      for (const v of Object.values(CANARY)) expect(body).not.toContain(v);
      if (isPublicRoute(r.method, r.url)) continue;
      expect([401, 302], `${r.method} ${r.url}`).toContain(res.statusCode);
      if (res.statusCode === 302) expect(res.headers.location).toBe('/login');
      checked.push(`${r.method} ${r.url}`);
    }
    expect(checked).toEqual(expect.arrayContaining(['GET /api/devices', 'POST /api/devices/camera', 'GET /api/ledger', 'GET /', 'GET /consent', 'GET /api/events']));
  });

  it('logs in with a fresh session id (no fixation), sets a strict HttpOnly cookie, and logs out', async () => {
    const planted = 'hearth_session=planted-by-someone-else';
    const res = await login(hub.firstAdminPassword!, { cookie: planted });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toContain('planted-by-someone-else');
    const fresh = setCookie.split(';')[0]!;
    expect((await inject({ method: 'GET', url: '/api/status', headers: { cookie: planted } } as never)).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/status', headers: { cookie: fresh } } as never)).statusCode).toBe(200);
    // Logging in again with the same cookie replaces it: the old id stops working.
    const again = await login(hub.firstAdminPassword!, { cookie: fresh });
    expect(String(again.headers['set-cookie']).split(';')[0]).not.toBe(fresh);
    expect((await inject({ method: 'GET', url: '/api/status', headers: { cookie: fresh } } as never)).statusCode).toBe(401);
    const newer = String(again.headers['set-cookie']).split(';')[0]!;
    const token = again.json().csrfToken as string;
    expect((await inject({ method: 'POST', url: '/api/logout', headers: { cookie: newer, 'x-csrf-token': token } } as never)).statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/api/status', headers: { cookie: newer } } as never)).statusCode).toBe(401);
  });

  it('slows password guessing per client address with 429 and Retry-After', async () => {
    const from = { remoteAddress: '192.168.50.9' };
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await inject({ method: 'POST', url: '/api/login', payload: { password: `guess-${i}` }, ...from } as never)).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    const throttled = await inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword }, ...from } as never);
    expect(throttled.statusCode).toBe(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // Another address on the LAN is not affected.
    expect((await inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword }, remoteAddress: '192.168.50.10' } as never)).statusCode).toBe(200);
    expect(hub.ctx.counters.snapshot()['http.refused.login_throttled']).toBeGreaterThan(0);
  });

  it('requires the CSRF token on state changes and refuses cross-origin posts', async () => {
    const noToken = await inject({ method: 'POST', url: '/api/members', payload: { name: 'Nobody' }, headers: { cookie } } as never);
    expect(noToken.statusCode).toBe(403);
    const wrong = await inject({ method: 'POST', url: '/api/members', payload: { name: 'Nobody' }, headers: { cookie, 'x-csrf-token': 'x'.repeat(csrf.length) } } as never);
    expect(wrong.statusCode).toBe(403);
    const cross = await authed('POST', '/api/members', { name: 'Nobody' }, { origin: 'http://evil.example' });
    expect(cross.statusCode).toBe(403);
    expect((await authed('GET', '/api/members')).json().members.map((m: { name: string }) => m.name)).not.toContain('Nobody');
  });

  it('answers only the local network unless configured otherwise', async () => {
    for (const addr of ['8.8.8.8', '100.64.1.1', '2001:db8::1']) expect((await inject({ method: 'GET', url: '/api/health', remoteAddress: addr } as never)).statusCode).toBe(403);
    for (const addr of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.7', '169.254.3.4', '::1', 'fd12::5', 'fe80::1', '::ffff:192.168.1.7'])
      expect((await inject({ method: 'GET', url: '/api/health', remoteAddress: addr } as never)).statusCode, addr).toBe(200);
  });

  it('sends the security headers, refuses oversized and malformed bodies, and does not traverse out of /assets', async () => {
    for (const url of ['/api/health', '/login', '/assets/app.js', '/nope']) {
      const res = await inject({ method: 'GET', url } as never);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await authed('POST', '/api/members', 'x'.repeat(70_000), { 'content-type': 'application/json' })).statusCode).toBe(413);
    const badJson = await inject({ method: 'POST', url: '/api/members', payload: '{"name":', headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' } } as never);
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error).toMatch(/JSON/);
    for (const url of ['/assets/../../package.json', '/assets/%2e%2e%2f%2e%2e%2fpackage.json', '/assets/..%2Fserver.ts', '/assets/%2e%2e/hearth.key']) {
      const res = await inject({ method: 'GET', url } as never);
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.body).not.toContain('"dependencies"');
    }
  });

  it('shows a camera decrypted with its timeline, and the dashboard status', async () => {
    const d = (await authed('GET', `/api/devices/${camera.id}`)).json().device;
    expect(d).toMatchObject({ nickname: CANARY.nickname, ssid: CANARY.ssid, rssi: -50 });
    const ev = (await authed('GET', `/api/devices/${camera.id}/events?type=motion`)).json();
    expect(ev.events).toHaveLength(1);
    expect(ev.events[0]).toMatchObject({ type: 'motion', detail: 'front path' });
    expect((await authed('GET', `/api/devices/${camera.id}/events?limit=abc`)).statusCode).toBe(400);
    const status = (await authed('GET', '/api/status')).json();
    expect(status).toMatchObject({ upstream: { state: 'off' }, storage: { healthy: true }, devices: { cameras: 1 } });
    expect(status.today.events).toBeGreaterThanOrEqual(1);
  });

  it('turns consent on and previews the next report without queueing it', async () => {
    expect((await authed('PUT', '/api/consent/adoption', { enabled: true })).json()).toMatchObject({ category: 'adoption', enabled: true, changed: true });
    expect((await authed('PUT', '/api/consent/bogus', { enabled: true })).statusCode).toBe(404);
    const preview = (await authed('GET', '/api/consent/preview')).json();
    expect(preview.reports).toHaveLength(1);
    const report = JSON.parse(preview.reports[0].json);
    expect(report).toMatchObject({ v: 2, category: 'adoption', privacy: { daily_epsilon: expect.any(Number) } });
    expect(preview.reports[0].json).not.toContain(CANARY.nickname);
    expect(hub.ctx.vault.db.prepare('SELECT COUNT(*) FROM report_outbox').pluck().get()).toBe(0);
  });

  it('pauses upstream from the UI and validates settings before writing hearth.json', async () => {
    expect((await authed('PUT', '/api/privacy', { paused: true })).json()).toEqual({ paused: true });
    expect((await authed('GET', '/api/status')).json().upstream.state).toBe('paused');
    await authed('PUT', '/api/privacy', { paused: false });
    const badSettings = await authed('PUT', '/api/settings', { uplink: { url: 'http://nope', epsilonPerReport: 99 } });
    expect(badSettings.statusCode).toBe(400);
    expect(existsSync(join(dir.path, 'hearth.json'))).toBe(false);
    const ok = await authed('PUT', '/api/settings', { uplink: { url: 'mqtts://collector.example:8883', epsilonPerReport: 0.25 } });
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(readFileSync(join(dir.path, 'hearth.json'), 'utf8'))).toEqual({ uplink: { url: 'mqtts://collector.example:8883', epsilonPerReport: 0.25 } });
    expect((await authed('GET', '/api/settings')).json().note).toMatch(/restart/);
  });

  it('streams device presence over server-sent events', async () => {
    const base = `http://127.0.0.1:${hub.httpPort}`;
    const received: string[] = [];
    const req = httpGet(`${base}/api/events`, { headers: { cookie } }, (res) => res.on('data', (d: Buffer) => received.push(d.toString())));
    await expect.poll(() => received.join('').includes('retry:')).toBe(true);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: camera.username, password: camera.password, reconnectPeriod: 0 });
    await expect.poll(() => received.join(''), { timeout: 5000 }).toMatch(new RegExp(`event: presence\\ndata: \\{"type":"presence","deviceId":"${camera.id}","online":true`));
    client.end(true);
    req.destroy();
    expect(received.join('')).not.toContain(CANARY.ssid);
  });

  it('exports a member and a device decrypted, then forgets them: the sealed bytes leave the database file', async () => {
    const member = (await authed('GET', `/api/export/member/${memberId}`)).json();
    expect(member.member.name).toBe(CANARY.member);
    const device = await authed('GET', `/api/export/device/${camera.id}`);
    expect(device.headers['content-disposition']).toMatch(/attachment/);
    expect(device.json()).toMatchObject({ device: { nickname: CANARY.nickname }, state: { ssid: CANARY.ssid } });

    const db = hub.ctx.vault.db;
    const sealedName = db.prepare('SELECT name FROM members WHERE id = ?').pluck().get(memberId) as Buffer;
    const nameTag = db.prepare('SELECT name_tag FROM members WHERE id = ?').pluck().get(memberId) as Buffer | string;
    const sealedNick = db.prepare('SELECT nickname FROM devices WHERE id = ?').pluck().get(camera.id) as Buffer;
    const sealedState = db.prepare('SELECT state FROM camera_state WHERE device_id = ?').pluck().get(camera.id) as Buffer;
    const fileBytes = () => Buffer.concat(['hearth.db', 'hearth.db-wal'].map((f) => join(dir.path, f)).filter(existsSync).map((p) => readFileSync(p)));
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(fileBytes().includes(sealedName)).toBe(true); // the check can see them before

    expect((await authed('POST', `/api/forget/member/${memberId}`, {})).statusCode).toBe(400); // no confirmation
    expect((await authed('POST', `/api/forget/member/${memberId}`, { confirm: true })).json()).toEqual({ forgotten: memberId });
    expect((await authed('POST', `/api/forget/device/${camera.id}`, { confirm: true })).json()).toEqual({ forgotten: camera.id });
    const after = fileBytes();
    for (const gone of [sealedName, Buffer.from(nameTag as never), sealedNick, sealedState]) expect(after.includes(gone)).toBe(false);
    expect((await authed('GET', `/api/devices/${camera.id}`)).statusCode).toBe(404);
    expect((await authed('GET', `/api/export/member/${memberId}`)).statusCode).toBe(404);
  });
});
