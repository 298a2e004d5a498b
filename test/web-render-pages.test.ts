import Fastify, { type FastifyInstance } from 'fastify';
import { enrolScale } from './helpers/enrol.js';
import { MemberService } from '../src/members/service.js';
import { DomainBus } from '../src/bus/bus.js';
import jsQR from 'jsqr';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ASSET_FILES, ASSETS_DIR } from '../src/web/pages/assets.js';
import { registerPages } from '../src/web/pages/index.js';
import { webValidatorCompiler } from '../src/web/validation.js';
import { NAV } from '../src/web/render/layout.js';
import { pagesDepsFromHub } from '../src/web/pages/deps.js';
import { MEMBER_ID_PATTERN, MemberStore } from '../src/members/store.js';
import { DEVICE_ID_PATTERN, newDeviceId } from '../src/devices/registry.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { testVault } from './uplink-helpers.js';

/** Rasterises the hub's QR SVG (one path of unit rectangles) and decodes it. */
function decodeQrSvg(svg: string): string | undefined {
  const n = Number(/viewBox="0 0 (\d+) \d+"/.exec(svg)![1]);
  const scale = 4;
  const size = n * scale;
  const data = new Uint8ClampedArray(size * size * 4).fill(255);
  for (const m of /<path d="([^"]*)"/.exec(svg)![1]!.matchAll(/M(\d+) (\d+)h(\d+)v1h-\d+z/g)) {
    const [x, y, w] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let py = y * scale; py < (y + 1) * scale; py++) data.fill(0, (py * size + x * scale) * 4, (py * size + (x + w) * scale) * 4);
  }
  // fill(0) also zeroed alpha; opaque again so the decoder sees black on white.
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return jsQR(data, size, size)?.data;
}

// The pages on a bare fastify app (no sessions: those are the server's hook, tested with it), with
// the web server's schema checks.
let app: FastifyInstance;
const t0 = Date.UTC(2026, 2, 1);

beforeAll(async () => {
  app = Fastify();
  app.setValidatorCompiler(webValidatorCompiler);
  registerPages(app, {
    weightHistory: (id) =>
      id === 'mem-0123456789ab'
        ? { name: 'Anna <A>', points: [{ at: t0, value: 70.2 }, { at: t0 + 86_400_000, value: 69.9 }] }
        : undefined,
    mqttEndpoint: (requestHost) => ({ host: requestHost, port: 18830 }),
  });
  await app.ready();
});
afterAll(() => app.close());

describe('pages', () => {
  it('every navigation target and the login page are HTML, no-store, with no inline script or style', async () => {
    for (const url of ['/login', ...NAV.map((n) => n.href), '/devices/cam-0123456789ab']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).not.toMatch(/<script(?![^>]*\ssrc="\/assets\/)[^>]*>|\sstyle=|<style|\son[a-z]+=/);
      // Every script and stylesheet the page names is an allowed asset.
      for (const m of res.body.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)) expect(ASSET_FILES as readonly string[]).toContain(m[1]);
      expect(res.body).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    }
  });

  it('a device page hands its id to the script; malformed ids are 404', async () => {
    const res = await app.inject({ url: '/devices/scale-0123456789ab' });
    expect(res.body).toContain('data-device-id="scale-0123456789ab"');
    for (const bad of ['/devices/..%2f..%2fetc', '/devices/cam-XYZ', '/devices/%3Cscript%3E']) expect((await app.inject({ url: bad })).statusCode).toBe(404);
  });

  it('camera and scale addresses lead to the device page; a kind that does not match the id is 404', async () => {
    const cam = await app.inject({ url: '/cameras/cam-0123456789ab' });
    expect(cam.statusCode).toBe(302);
    expect(cam.headers.location).toBe('/devices/cam-0123456789ab');
    expect((await app.inject({ url: '/scales/scale-0123456789ab' })).headers.location).toBe('/devices/scale-0123456789ab');
    for (const bad of ['/cameras/scale-0123456789ab', '/scales/cam-0123456789ab', '/cameras/cam-XYZ', '/scales/x']) expect((await app.inject({ url: bad })).statusCode, bad).toBe(404);
  });

  it('the enrol page names the broker (the configured host, or the one the browser used)', async () => {
    const res = await app.inject({ url: '/enrol', headers: { host: 'hub.local:8080' } });
    expect(res.body).toContain('data-mqtt-host="hub.local"');
    expect(res.body).toContain('data-mqtt-port="18830"');
  });
});

describe('assets', () => {
  it('serves each listed file with its type, an ETag and 304 on revalidation', async () => {
    for (const name of ASSET_FILES) {
      const res = await app.inject({ url: `/assets/${name}` });
      expect(res.statusCode, name).toBe(200);
      expect(res.headers['content-type']).toMatch(name.endsWith('.js') ? /^text\/javascript/ : name.endsWith('.css') ? /^text\/css/ : /^image\/svg\+xml/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const again = await app.inject({ url: `/assets/${name}`, headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.statusCode).toBe(304);
    }
  });

  it('lists every file in the assets folder (nothing shipped unserved, nothing served unlisted)', () => {
    expect([...readdirSync(ASSETS_DIR)].sort()).toEqual([...ASSET_FILES].sort());
  });

  it('serves nothing outside the list, however the path is spelled', async () => {
    for (const url of ['/assets/../server.ts', '/assets/..%2fpages%2findex.ts', '/assets/%2e%2e/%2e%2e/package.json', '/assets/app.js.map', '/assets/', '/assets/APP.JS', '/assets/app.js%00.css']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.body).not.toContain('import');
    }
  });

  it('the scripts use no eval, no inline handlers and no markup from data (innerHTML)', async () => {
    for (const name of ASSET_FILES.filter((n) => n.endsWith('.js'))) {
      const res = await app.inject({ url: `/assets/${name}` });
      expect(res.body, name).not.toMatch(/\beval\(|new Function|innerHTML|outerHTML|insertAdjacentHTML|document\.write|https?:\/\//);
    }
  });
});

describe('hub-rendered images', () => {
  it('a member weight chart is SVG with the escaped name; unknown or malformed members are 404', async () => {
    const res = await app.inject({ url: '/members/mem-0123456789ab/weight.svg' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toContain('Weight of Anna &lt;A&gt;');
    expect(res.body.match(/<circle /g)).toHaveLength(2);
    expect((await app.inject({ url: '/members/mem-ffffffffffff/weight.svg' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/members/x/weight.svg' })).statusCode).toBe(404);
  });

  it('the credentials QR code decodes to the broker URI with them, and is never cached', async () => {
    const res = await app.inject({ method: 'POST', url: '/enrol/qr', headers: { host: '192.168.1.5:8080' }, payload: { username: 'cam-0123456789ab', password: 'p@ss/word' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(decodeQrSvg(res.body)).toBe('mqtt://cam-0123456789ab:p%40ss%2Fword@192.168.1.5:18830');
    // An IPv6 literal the browser used keeps exactly one pair of brackets.
    const v6 = await app.inject({ method: 'POST', url: '/enrol/qr', headers: { host: '[fe80::1]:8080' }, payload: { username: 'cam-0123456789ab', password: 'pw' } });
    expect(decodeQrSvg(v6.body)).toBe('mqtt://cam-0123456789ab:pw@[fe80::1]:18830');
  });

  it('refuses missing, oversized or control-character credentials and odd Host headers', async () => {
    const bad = [{}, { username: 'u' }, { username: 'u', password: 'x'.repeat(200) }, { username: 'u\n', password: 'p' }, { username: 1, password: 'p' }];
    for (const payload of bad) expect((await app.inject({ method: 'POST', url: '/enrol/qr', payload })).statusCode).toBe(400);
    const res = await app.inject({ method: 'POST', url: '/enrol/qr', headers: { host: 'evil"host' }, payload: { username: 'u', password: 'p' } });
    expect(res.statusCode).toBe(400);
  });
});

describe('pages wired to a hub store', () => {
  it('charts a member from the sealed store, oldest first, without weigh-ins that carry no weight', async () => {
    const hub = await testVault();
    try {
      const memberId = new MemberStore(hub.vault.db, hub.vault.sealer).add('Björn <b>').id;
      // The URL patterns accept exactly the ids the stores make.
      expect(memberId).toMatch(MEMBER_ID_PATTERN);
      for (const prefix of ['cam', 'scale']) expect(newDeviceId(prefix)).toMatch(DEVICE_ID_PATTERN);
      const scales = new ScaleStore(hub.vault.db, hub.vault.sealer);
      const scaleId = (await enrolScale(hub.vault, 'C8:47:8C:00:00:01', 'Bathroom')).id;
      const at = Date.UTC(2026, 4, 1);
      const weigh = (dt: number, kg: number | null) =>
        scales.record({ deviceId: scaleId, measuredAt: at + dt, measurement: { ...emptyMeasurement('mi-scale-2', 'kg'), weightKg: kg, stabilized: true } }, { memberId, reason: 'match' });
      weigh(2 * 86_400_000, 80.5);
      weigh(0, 81.25);
      weigh(86_400_000, null);
      const members = new MemberService({ db: hub.vault.db, sealer: hub.vault.sealer, bus: new DomainBus() });
      const deps = pagesDepsFromHub({ ...hub, members, mqttPort: 1883 });
      expect(deps.weightHistory(memberId)).toEqual({ name: 'Björn <b>', points: [{ at, value: 81.25 }, { at: at + 2 * 86_400_000, value: 80.5 }] });
      expect(deps.weightHistory('mem-000000000000')).toBeUndefined();
      // Bound to every interface, the QR code uses the host the browser used; a fixed host otherwise.
      expect(deps.mqttEndpoint('192.168.1.40')).toEqual({ host: '192.168.1.40', port: 1883 });
      expect(deps.mqttEndpoint('hearth.local')).toEqual({ host: 'hearth.local', port: 1883 });
      // A page opened on the hub itself (localhost) names an address a camera can reach instead.
      for (const local of ['localhost', '127.0.0.1', '[::1]']) expect(deps.mqttEndpoint(local).host).not.toMatch(/^(localhost|127\.|\[::1\])/);
      expect(pagesDepsFromHub({ ...hub, members, mqttPort: 1884, config: { ...hub.config, mqtt: { ...hub.config.mqtt, host: '192.168.1.9' } } }).mqttEndpoint('localhost')).toEqual({ host: '192.168.1.9', port: 1884 });

      const page = Fastify();
      page.setValidatorCompiler(webValidatorCompiler);
      registerPages(page, deps);
      const svg = (await page.inject({ url: `/members/${memberId}/weight.svg` })).body;
      expect(svg).toContain('Weight of Björn &lt;b&gt;');
      expect(svg.match(/<circle /g)).toHaveLength(2);
      await page.close();
    } finally {
      await hub.cleanup();
    }
  });
});

describe('chart dates', () => {
  it('are the hub time zone calendar day', async () => {
    const { hubLocalDate } = await import('../src/web/pages/index.js');
    const at = new Date(2026, 0, 31, 23, 30).getTime(); // local time
    expect(hubLocalDate(at)).toBe('2026-01-31');
    expect(hubLocalDate(new Date(2026, 11, 1, 0, 5).getTime())).toBe('2026-12-01');
  });
});
