/**
 * Hostile HTTP below and behind the router: raw bytes on a real TCP connection (malformed request
 * lines and headers, request smuggling, oversized headers and URLs, bad chunking, protocol
 * upgrades, pipelining) and, with a valid session and CSRF token, generated hostile JSON for every
 * state-changing route. No 5xx, the hub keeps serving over TCP, no wire response carries a stored
 * personal value or a file from disk, and what the household stored is intact afterwards.
 * The wire cases worth keeping live in test/corpus/http-wire.json.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import type { RunningHub } from '../src/hub/hub.js';
import { routeTable } from '../src/web/server.js';
import { publishAcked } from './helpers/hub.js';
import { prng, recordTally } from './helpers/robustness.js';
import { logIn, startWebHub, type WebHub } from './helpers/web.js';

const SEED = Number(process.env.HEARTH_FUZZ_SEED ?? 90210);
const CANARY = { nickname: 'WireNick-Garage', ssid: 'WireSSID-5150', member: 'Wire Member Tamsin', weight: '83.417' };

interface WireCase {
  name: string;
  raw: string;
}

/** Sends raw bytes, returns everything the server wrote before closing (or going quiet). */
function exchange(port: number, bytes: Buffer, quietMs = 400): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(done, quietMs);
    };
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      arm();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.on('connect', () => {
      socket.write(bytes, () => arm());
    });
    arm();
  });
}

function expand(raw: string, rand: () => number): Buffer {
  const text = raw
    .replace('BIGHEADER', 'x'.repeat(20_000))
    .replace('LONGURL', 'a'.repeat(100_000))
    .replace('MANYCOOKIES', Array.from({ length: 3000 }, (_, i) => `c${i}=${Math.floor(rand() * 1e6)}`).join('; '))
    .replace('CHUNKS', `${'4000\r\n' + 'a'.repeat(0x4000) + '\r\n'}`.repeat(6) + '0\r\n\r\n');
  return Buffer.from(text, 'latin1');
}

/** Status codes in every response of a (possibly pipelined) exchange. */
function statuses(response: string): number[] {
  return [...response.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}

/** Random request heads: a mutated request line and headers, maybe a body. */
function generateWire(rand: () => number, n: number, routes: string[]): WireCase[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'G\u0000T', 'PROPFIND', 'X'.repeat(40), ''];
  const versions = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/0.9', 'HTTP/11', 'http/1.1', ''];
  const tails = ['', '/', '/..', '/%2e%2e', '/%00', '?q=%ff', '#frag', '/\u00ff\u00fe', '//', '?limit=-1', '/..%5c..%5c'];
  const headers = ['Host: h', 'Content-Type: application/json', 'Content-Type: text/plain', 'Cookie: hearth_session=AAAA', 'Cookie: ;;;==;', 'X-CSRF-Token: x', 'Content-Length: 3', 'Content-Length: abc', 'Transfer-Encoding: chunked', 'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue', 'Connection: close', 'Origin: null', 'Accept: text/html', 'Range: bytes=0-1,2-3', 'If-None-Match: *', 'X-Forwarded-For: 8.8.8.8'];
  const bodies = ['', '{}', '{"password":"x"}', '0\r\n\r\n', 'zz\r\n', '{"name":"' + 'n'.repeat(2000) + '"}', '\u0000\u00ff'];
  const eols = ['\r\n', '\r\n', '\r\n', '\n', '\r'];
  return Array.from({ length: n }, (_, i) => {
    const eol = pick(eols);
    const line = `${pick(methods)} ${pick(routes).replace(/:(\w+)/g, () => pick(['cam-000000000000', '..', '%zz', 'x']))}${pick(tails)} ${pick(versions)}`;
    const hs = Array.from({ length: Math.floor(rand() * 5) }, () => pick(headers));
    return { name: `wire ${i}`, raw: [line, ...hs].join(eol) + eol + eol + pick(bodies) };
  });
}

/** A hostile value as query text; objects (some without a prototype, from a `__proto__` key) as JSON. */
function asQueryText(v: unknown): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** A JSON value meant to break a handler that trusts its input. */
function hostileValue(rand: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const r = rand();
  if (r < 0.25) return pick(['', ' ', 'a'.repeat(65), 'x'.repeat(5000), '\u0000', '\u202e\u200b', '<script>', '../../etc/passwd', 'mqtt://h:1', 'mqtts://[::1]:8883', 'AA:BB:CC:DD:EE:FF', 'mem-000000000000', 'adoption', '\ud800', 'Kitchen']);
  if (r < 0.45) return pick([0, -1, 1e308, -1e308, 0.1, 2 ** 53 + 1, 86400, 0.25, 5]);
  if (r < 0.55) return pick([true, false, null]);
  if (r < 0.7 && depth < 4) return Array.from({ length: Math.floor(rand() * 4) }, () => hostileValue(rand, depth + 1));
  if (depth < 4) {
    const keys = ['nickname', 'address', 'name', 'memberId', 'enabled', 'paused', 'confirm', 'uplink', 'url', 'windowSeconds', 'questionsPerDay', 'dailyEpsilonBudget', 'username', '__proto__', 'constructor', 'password'];
    const o: Record<string, unknown> = {};
    for (let k = Math.floor(rand() * 4); k >= 0; k--) o[pick(keys)] = hostileValue(rand, depth + 1);
    return o;
  }
  return 'deep';
}

describe('HTTP hostile input on the wire and behind the session', () => {
  let web: WebHub;
  let hub: RunningHub;
  let cookie = '';
  let csrf = '';
  let cameraId = '';
  let memberId = '';
  const tally = { surface: 'http-wire', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };

  beforeAll(async () => {
    web = await startWebHub();
    hub = web.hub;
    const session = await logIn(hub);
    ({ cookie, csrf } = session);
    const cam = (await session.request('POST', '/api/devices/camera', { nickname: CANARY.nickname })).json();
    cameraId = cam.id;
    memberId = (await session.request('POST', '/api/members', { name: CANARY.member })).json().id;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${cameraId}/status`, JSON.stringify({ state: 'online', ssid: CANARY.ssid, rssi: -40 }));
    client.end(true);
    // A weigh-in of the member, as the BLE reader stores it: its weight must not leak either.
    const scaleId = (await session.request('POST', '/api/devices/scale', { address: 'C8:47:8C:44:55:66', nickname: 'Wire scale' })).json().id;
    new ScaleStore(hub.internals.vault.db, hub.internals.vault.sealer).record(
      { deviceId: scaleId, measuredAt: Date.now(), measurement: { ...emptyMeasurement('2a9d', 'kg'), weightKg: Number(CANARY.weight), weightReported: Number(CANARY.weight) } },
      { memberId, reason: 'only-member' },
    );
  });

  afterAll(async () => {
    await web?.stop();
    recordTally(tally);
  });

  const count = (status: number | undefined) => {
    tally.tried++;
    if (status === undefined || status >= 400) tally.refused++;
    else tally.accepted++;
    if (status !== undefined && status >= 500 && status !== 503) tally.crashes++;
  };

  it('answers raw hostile bytes with 4xx or a closed connection, never 5xx or anything stored', async () => {
    const rand = prng(SEED);
    const routes = [...new Set(routeTable(hub.internals.web).map((r) => r.url))];
    const corpus = JSON.parse(readFileSync(new URL('./corpus/http-wire.json', import.meta.url), 'utf8')) as WireCase[];
    const problems: string[] = [];
    for (const c of [...corpus, ...generateWire(rand, 400, routes)]) {
      const response = await exchange(hub.httpPort, expand(c.raw, rand));
      const codes = statuses(response);
      if (process.env.HEARTH_FUZZ_VERBOSE) console.log(c.name, codes);
      count(codes.length ? Math.max(...codes) : undefined);
      if (codes.some((s) => s >= 500)) problems.push(`${c.name}: ${codes.join(',')}`);
      // Only the public routes answer without a session: never a stored value, never a file.
      for (const v of Object.values(CANARY)) if (response.includes(v)) problems.push(`${c.name}: response holds a stored value`);
      if (response.includes('"dependencies"') || response.includes('hearth.key')) problems.push(`${c.name}: response holds a file`);
      if (/^HTTP\/1\.1 200/m.test(response) && /\/api\/(devices|members)/.test(c.raw.split('\n')[0]!) && !c.raw.includes('hearth_session=')) problems.push(`${c.name}: unauthenticated 200`);
    }
    expect(problems).toEqual([]);
    // The hub is still up, over real TCP.
    expect((await fetch(`http://127.0.0.1:${hub.httpPort}/api/health`)).status).toBe(200);
  }, 120_000);

  it('with a valid session and token, refuses hostile JSON on every state change without a 5xx, and keeps what was stored', async () => {
    const rand = prng(SEED + 1);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // Logging out would end the fuzzing session; the stream never ends; login is fuzzed elsewhere.
    const skip = new Set(['POST /api/logout', 'GET /api/events', 'POST /api/login']);
    const routes = routeTable(hub.internals.web).filter((r) => r.method !== 'HEAD' && !skip.has(`${r.method} ${r.url}`));
    // Never the stored camera or member as a target of a deletion: their survival is checked below.
    const ids = ['cam-000000000000', 'scale-000000000000', 'mem-000000000000', 'wi-0000000000000000', '..', 'cam-' + 'f'.repeat(200), '%00', 'adoption', 'presence', 'nope'];
    const problems: string[] = [];
    for (let i = 0; i < 1300; i++) {
      const r = pick(routes);
      const url = r.url.replace(/:(\w+)/g, () => encodeURIComponent(pick(ids))) + (rand() < 0.3 ? `?${pick(['q', 'limit', 'type', 'since', 'until'])}=${encodeURIComponent(asQueryText(hostileValue(rand)).toWellFormed())}` : '');
      // A '..' id can lead the URL onto a skipped route once the path is normalised.
      if (['/api/events', '/api/logout', '/api/login'].includes(new URL(url, 'http://hub').pathname)) continue;
      const body = JSON.stringify(hostileValue(rand));
      const hasBody = !['GET', 'OPTIONS'].includes(r.method) && rand() < 0.9;
      const res = await hub.internals.web.inject({ method: r.method as 'POST', url, headers: { cookie, 'x-csrf-token': csrf, ...(hasBody ? { 'content-type': 'application/json' } : {}) }, ...(hasBody ? { payload: body } : {}) });
      count(res.statusCode);
      if (res.statusCode >= 500) problems.push(`${r.method} ${url.slice(0, 80)} ${body.slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 100)}`);
    }
    expect(problems).toEqual([]);

    const headers = { cookie, 'x-csrf-token': csrf };
    const camera = (await hub.internals.web.inject({ method: 'GET', url: `/api/devices/${cameraId}`, headers })).json().device;
    const member = (await hub.internals.web.inject({ method: 'GET', url: `/api/members/${memberId}/history`, headers })).json().member;
    const weights = (await hub.internals.web.inject({ method: 'GET', url: `/api/members/${memberId}/history`, headers })).json().measurements?.map((m: { weightKg: number }) => m.weightKg);
    const intact = camera?.nickname === CANARY.nickname && camera?.ssid === CANARY.ssid && member?.name === CANARY.member && weights?.includes(Number(CANARY.weight));
    if (!intact) tally.dataLost++;
    expect(intact).toBe(true);
    expect(hub.internals.vault.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(tally.tried).toBeGreaterThanOrEqual(1600);
  }, 180_000);
});
