#!/usr/bin/env node
/**
 * `npm run bench:history -- [--events N] [--root DIR] [--json FILE] [--keep]`
 *
 * A hub with a long history: fills a fresh data dir to N events (default 1,000,000: a year of
 * timestamps, 30 cameras of which one is busy, a realistic mix of types, sealed details) through
 * the camera store's own batch writer, then starts the real daemon and, while a probe camera
 * publishes QoS 1 at 20 msgs/s (its own thread, its own mqtt.js client), runs each household
 * action against it: the device page, a filtered timeline, the export of the busy device, `hearth
 * db stats`, `hearth backup`, a purge of the oldest 90 days' worth of events, and forgetting the
 * busy device. Per action it prints its time, the probe's PUBACK p50/p99/max for the publishes sent
 * during it against the probe at rest in the same run, and the hub's RSS before and at most.
 *
 * --root runs another build of hearth (its bin/ and dist/), e.g. an older commit for a
 * before/after comparison; actions that build lacks are reported as n/a. The exit code is 0 when
 * the run completed, whatever the figures; targets are printed as PASS/MISS.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { latencySummary, readMemory } from './lib/measure.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    root: { type: 'string', default: join(HERE, '..') },
    json: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const EVENTS = Number(opts.events);
if (!Number.isInteger(EVENTS) || EVENTS < 1000) throw new Error('--events must be a whole number of at least 1000');
const ROOT = resolve(opts.root);
const DIST = join(ROOT, 'dist');
const BIN = join(ROOT, 'bin', 'hearth.js');
if (!existsSync(join(DIST, 'store', 'vault.js'))) throw new Error(`no build at ${DIST}: run npm run build first`);

const DAY = 86_400_000;
const CAMERAS = 30;
const PROBE_RATE = 20;
const ADMIN_PASSWORD = 'bench-history-admin-password-1';
const children = new Set();
const now = () => performance.timeOrigin + performance.now();

function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARTH_')) env[k] = v;
  return { ...env, ...extra };
}

function run(args, env = {}, input) {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => {
      children.delete(child);
      resolveRun({ code, out, err });
    });
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/* ---------------- fill ---------------- */

const TYPES = [
  ['motion', 0.55],
  ['sound', 0.2],
  ['person', 0.12],
  ['vehicle', 0.07],
  ['tamper', 0.03],
  ['connect_failed', 0.02],
  ['reboot', 0.01],
];
function pickType(r) {
  let acc = 0;
  for (const [t, p] of TYPES) if (r < (acc += p)) return t;
  return 'motion';
}

async function fill(dataDir) {
  const { openVault } = await import(join(DIST, 'store', 'vault.js'));
  const { DeviceRegistry, newDeviceId } = await import(join(DIST, 'devices', 'registry.js'));
  const { CameraStore } = await import(join(DIST, 'devices', 'camera', 'store.js'));
  const vault = await openVault(dataDir, cleanEnv(), { create: true });
  try {
    const registry = new DeviceRegistry(vault.db, vault.sealer);
    const ids = vault.db.transaction(() => Array.from({ length: CAMERAS }, (_, i) => registry.add('camera', newDeviceId('cam'), `history camera ${i + 1}`).id))();
    const busy = ids[0];
    const store = new CameraStore(vault.db, vault.sealer);
    const write = vault.db.transaction((records) => store.writeBatch(records));
    // A year of events in arrival order; the busy camera sends a fifth of them.
    const end = Date.now() - 60_000;
    const start = end - 365 * DAY;
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const BATCH = 20_000;
    for (let done = 0; done < EVENTS; ) {
      const n = Math.min(BATCH, EVENTS - done);
      const records = new Array(n);
      for (let i = 0; i < n; i++) {
        const at = Math.floor(start + ((done + i) / EVENTS) * (end - start));
        const deviceId = rnd() < 0.2 ? busy : ids[1 + Math.floor(rnd() * (CAMERAS - 1))];
        const type = pickType(rnd());
        records[i] = { kind: 'event', deviceId, at, event: { type, ts: at - Math.floor(rnd() * 2000), detail: `${type} zone ${Math.floor(rnd() * 8)} score ${rnd().toFixed(3)} clip ${Math.floor(rnd() * 1e9).toString(36)}` } };
      }
      write.immediate(records);
      done += n;
    }
    vault.db.pragma('wal_checkpoint(TRUNCATE)');
    return { busy, start, end };
  } finally {
    vault.close();
  }
}

/* ---------------- hub and probe ---------------- */

async function startHub(dataDir, env) {
  const mqtt = await freePort();
  const http = await freePort();
  const unit = readFileSync(join(HERE, '..', 'systemd', 'hearth.service'), 'utf8');
  const flags = (/^ExecStart=\S*node\s+(.*?)\S*bin\/hearth\.js\b/m.exec(unit)?.[1] ?? '').split(/\s+/).filter((t) => t.startsWith('--'));
  const unitEnv = Object.fromEntries([...unit.matchAll(/^Environment=(MALLOC_\w+)=(\S+)/gm)].map((m) => [m[1], m[2]]));
  const child = spawn(process.execPath, [...flags, BIN, 'start', '--data-dir', dataDir, '--mqtt-host', '127.0.0.1', '--mqtt-port', String(mqtt), '--http-host', '127.0.0.1', '--http-port', String(http), '--log-level', 'warn'], {
    env: cleanEnv({ ...unitEnv, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  await new Promise((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => rej(new Error(`hub did not start: ${err}`)), 600_000);
    child.stdout.on('data', (d) => {
      buf += d;
      if (/hearth is running/.test(buf)) {
        clearTimeout(timer);
        res();
      }
    });
    child.once('exit', (code) => rej(new Error(`hub exited (${code}): ${err}`)));
  });
  return { child, pid: child.pid, mqtt, http, stderr: () => err };
}

function startProbe(port, cam) {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const mqtt = require(workerData.mqtt);
    const samples = [];
    const now = () => performance.timeOrigin + performance.now();
    const client = mqtt.connect('mqtt://127.0.0.1:' + workerData.port, { username: workerData.cam.username, password: workerData.cam.password, protocolVersion: 4, reconnectPeriod: 0 });
    client.on('connect', () => {
      parentPort.postMessage({ ready: true });
      setInterval(() => {
        const sent = now();
        client.publish('hearth/cam/' + workerData.cam.id + '/event', JSON.stringify({ type: 'motion', ts: Date.now() }), { qos: 1 }, (err) => {
          samples.push([sent, err ? -1 : now() - sent]);
        });
      }, 1000 / workerData.rate);
    });
    client.on('error', (e) => parentPort.postMessage({ error: String(e) }));
    // An event type the hub does not count is refused, and over MQTT 3.1.1 that closes the connection.
    client.on('close', () => parentPort.postMessage({ closed: true }));
    parentPort.on('message', (m) => {
      if (m === 'samples') parentPort.postMessage({ samples: samples.splice(0) });
      if (m === 'stop') client.end(true, () => process.exit(0));
    });
    `,
    { eval: true, workerData: { port, cam, rate: PROBE_RATE, mqtt: join(ROOT, 'node_modules', 'mqtt') } },
  );
  const all = [];
  let pending;
  worker.on('message', (m) => {
    if (m.samples) {
      all.push(...m.samples);
      pending?.();
    }
  });
  const ready = new Promise((res, rej) => {
    worker.on('message', (m) => (m.ready ? res() : m.error ? rej(new Error(m.error)) : undefined));
  });
  return {
    ready,
    /** Latencies of the publishes sent in [t0, t1) (after letting them settle). */
    async between(t0, t1) {
      await new Promise((r) => setTimeout(r, 600));
      await new Promise((r) => {
        pending = r;
        worker.postMessage('samples');
      });
      const lat = all.filter(([s, l]) => s >= t0 && s < t1 && l >= 0).map(([, l]) => l);
      const failed = all.filter(([s, l]) => s >= t0 && s < t1 && l < 0).length;
      return { ...latencySummary(lat), failed };
    },
    stop: () => worker.postMessage('stop'),
  };
}

/* ---------------- actions ---------------- */

async function login(http) {
  const res = await fetch(`http://127.0.0.1:${http}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: ADMIN_PASSWORD }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  const cookie = String(res.headers.get('set-cookie')).split(';')[0];
  const { csrfToken } = await res.json();
  return { cookie, csrf: csrfToken };
}

async function request(http, session, method, path) {
  const res = await fetch(`http://127.0.0.1:${http}${path}`, { method, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) }, ...(method === 'POST' ? { body: '{}' } : {}) });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length; // consumed as it streams, never parsed whole
  return { status: res.status, bytes };
}

async function measure(name, hub, probe, fn) {
  const rss0 = readMemory(hub.pid).rssBytes;
  let rssMax = rss0;
  const sampler = setInterval(() => {
    try {
      rssMax = Math.max(rssMax, readMemory(hub.pid).rssBytes);
    } catch {
      /* the hub is gone; reported below */
    }
  }, 50);
  const t0 = now();
  let result;
  try {
    result = await fn();
  } catch (err) {
    result = { error: String(err.message ?? err) };
  }
  const t1 = now();
  clearInterval(sampler);
  const latency = await probe.between(t0, t1);
  return { action: name, ms: t1 - t0, ...result, probe: latency, rssBeforeMB: rss0 / 1e6, rssMaxMB: rssMax / 1e6 };
}

/**
 * Runs fn at least `times` times and for at least `minMs` back to back: a quick answer repeated
 * only ten times is over in a few publishes of the probe, too few to see a stall.
 */
async function repeat(times, fn, minMs = 0) {
  const each = [];
  let last;
  const t0 = performance.now();
  while (each.length < times || performance.now() - t0 < minMs) {
    const t = performance.now();
    last = await fn();
    each.push(performance.now() - t);
  }
  each.sort((a, b) => a - b);
  return { times: each.length, eachMedianMs: each[Math.floor(each.length / 2)], eachMaxMs: each.at(-1), ...last };
}

async function cli(args, env = {}) {
  const r = await run(args, env);
  if (r.code !== 0) {
    if (/unknown command|no command/i.test(r.err)) return { na: true };
    throw new Error(`hearth ${args.join(' ')} failed (${r.code}): ${r.err.slice(-500)}`);
  }
  return {};
}

/* ---------------- main ---------------- */

async function main() {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-history-'));
  const report = { events: EVENTS, root: ROOT, at: new Date().toISOString(), actions: [] };
  let hub;
  let probe;
  try {
    const tFill = performance.now();
    const { busy } = await fill(dataDir);
    report.fillSeconds = (performance.now() - tFill) / 1000;
    const cam = JSON.parse((await run(['device', 'add', 'camera', 'probe', '--json', '--data-dir', dataDir])).out);
    const pw = await run(['admin', 'set-password', '--stdin', '--data-dir', dataDir], {}, `${ADMIN_PASSWORD}\n`);
    if (pw.code !== 0) throw new Error(`admin set-password failed: ${pw.err}`);
    const stats0 = await run(['db', 'stats', '--json', '--data-dir', dataDir]);
    if (stats0.code === 0) report.statsBefore = JSON.parse(stats0.out);
    console.log(`filled ${EVENTS} events in ${report.fillSeconds.toFixed(1)} s${report.statsBefore ? `: ${(report.statsBefore.databaseBytes / 1e6).toFixed(1)} MB, ${report.statsBefore.bytesPerEvent} bytes per event` : ''}`);

    // The daemon keeps everything on its own (its timed purge must not land inside another action); the purge is an action.
    const tStart = performance.now();
    hub = await startHub(dataDir, { HEARTH_RETENTION_EVENT_DAYS: '36500' });
    report.startSeconds = (performance.now() - tStart) / 1000;
    probe = startProbe(hub.mqtt, { id: cam.id, username: cam.username ?? cam.id, password: cam.password });
    await probe.ready;
    const session = await login(hub.http);
    await new Promise((r) => setTimeout(r, 2000)); // connection settles

    const rest = await measure('at rest (6 s)', hub, probe, () => new Promise((r) => setTimeout(() => r({}), 6000)));
    // A probe whose publishes are refused (the hub closes a 3.1.1 client for that) measures nothing.
    if (!(rest.probe.count > 0)) throw new Error('the probe camera got no PUBACK at rest: its publishes are refused or it was disconnected');
    report.actions.push(rest);
    const http = hub.http;
    const actions = [
      ['device page (GET /api/devices/:busy) for 3 s', () => repeat(10, () => request(http, session, 'GET', `/api/devices/${busy}`), 3000)],
      ['filtered timeline (?type=reboot) for 3 s', () => repeat(10, () => request(http, session, 'GET', `/api/devices/${busy}/events?type=reboot`), 3000)],
      ['export of the busy device', () => request(http, session, 'GET', `/api/export/device/${busy}`)],
      ['hearth db stats ×3', () => repeat(3, () => cli(['db', 'stats', '--json', '--data-dir', dataDir]))],
      ['hearth backup', () => cli(['backup', join(dataDir, 'bench-backup.db'), '--data-dir', dataDir])],
    ];
    for (const [name, fn] of actions) {
      report.actions.push(await measure(name, hub, probe, fn));
      await new Promise((r) => setTimeout(r, 1500)); // the hub settles between actions
    }

    // The purge runs in the daemon (its own timer, or the settings page's POST /api/db/purge): the
    // hub is restarted keeping 275 days of a year, so the purge removes the oldest 90 days' worth.
    probe.stop();
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));
    hub = await startHub(dataDir, { HEARTH_RETENTION_EVENT_DAYS: '275' });
    probe = startProbe(hub.mqtt, { id: cam.id, username: cam.username ?? cam.id, password: cam.password });
    await probe.ready;
    const session2 = await login(hub.http);
    await new Promise((r) => setTimeout(r, 1500));
    report.actions.push(await measure('at rest (restarted hub, 4 s)', hub, probe, () => new Promise((r) => setTimeout(() => r({}), 4000))));
    const http2 = hub.http;
    const later = [
      ['purge of 90 days (POST /api/db/purge)', async () => {
        const res = await fetch(`http://127.0.0.1:${http2}/api/db/purge`, { method: 'POST', headers: { cookie: session2.cookie, 'x-csrf-token': session2.csrf, 'content-type': 'application/json' }, body: '{}' });
        if (res.status === 404) return { na: true };
        const purge = await res.json().catch(() => ({}));
        // The hub's own account of the time its event loop was held (builds before it say nothing).
        return { status: res.status, purgeBusyMs: typeof purge.busyMs === 'number' ? purge.busyMs : undefined, purgedEvents: purge.events };
      }],
      ['hearth db purge beside the hub (nothing left)', () => cli(['db', 'purge', '--json', '--data-dir', dataDir], { HEARTH_RETENTION_EVENT_DAYS: '275' })],
      ['forget the busy device', () => request(http2, session2, 'DELETE', `/api/devices/${busy}`)],
    ];
    for (const [name, fn] of later) {
      report.actions.push(await measure(name, hub, probe, fn));
      await new Promise((r) => setTimeout(r, 1500));
    }
    const stats1 = await run(['db', 'stats', '--json', '--data-dir', dataDir]);
    if (stats1.code === 0) report.statsAfter = JSON.parse(stats1.out);
  } finally {
    probe?.stop();
    if (hub) {
      hub.child.kill('SIGTERM');
      await new Promise((r) => hub.child.once('exit', r));
    }
    for (const c of children) c.kill('SIGKILL');
    if (opts.keep) console.log(`data dir kept: ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
  print(report);
  if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2));
}

const f = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

function print(r) {
  const rest = r.actions[0].probe;
  console.log(`\nhearth history bench: ${r.events} events, hub started in ${f(r.startSeconds, 1)} s (build: ${r.root})`);
  console.log(`probe at rest: PUBACK p50 ${f(rest.p50_ms, 1)} ms, p99 ${f(rest.p99_ms, 1)} ms, max ${f(rest.max_ms, 1)} ms (${rest.count} publishes)\n`);
  console.log('action                                      time ms  each p50/max ms   PUBACK p50/p99/max ms   RSS MB before→max  target');
  const allMisses = [];
  for (const a of r.actions.slice(1)) {
    if (a.action.startsWith('at rest')) {
      console.log(`${a.action.padEnd(42)} ${''.padStart(8)}  ${''.padStart(15)}   ${`${f(a.probe.p50_ms, 1)}/${f(a.probe.p99_ms, 1)}/${f(a.probe.max_ms, 1)}`.padStart(21)}   ${`${f(a.rssBeforeMB)}→${f(a.rssMaxMB)}`.padStart(17)}`);
      continue;
    }
    const na = a.na || a.error;
    const each = a.times ? `${f(a.eachMedianMs)}/${f(a.eachMaxMs)}` : '';
    // Fewer than ten publishes during an action say nothing about its stalls.
    const sampled = a.probe.count >= 10;
    const probeOk = sampled && a.probe.max_ms <= 100 && a.probe.max_ms <= 5 * rest.p99_ms;
    const target = na ? (a.error ? `ERROR ${a.error.slice(0, 60)}` : 'n/a') : `${probeOk ? 'PASS' : 'MISS'} (max ≤ 100 ms and ≤ 5× rest p99${sampled ? '' : `; only ${a.probe.count} publishes during it`})`;
    console.log(
      `${a.action.padEnd(42)} ${f(a.ms).padStart(8)}  ${each.padStart(15)}   ${`${f(a.probe.p50_ms, 1)}/${f(a.probe.p99_ms, 1)}/${f(a.probe.max_ms, 1)}`.padStart(21)}   ${`${f(a.rssBeforeMB)}→${f(a.rssMaxMB)}`.padStart(17)}  ${target}${a.probe.failed ? ` (${a.probe.failed} publishes failed)` : ''}`,
    );
    if (na) continue;
    const misses = probeOk ? [] : [a.action];
    if (a.times && /GET \/api|\?type=/.test(a.action)) {
      const pageOk = a.eachMaxMs <= 200;
      if (!pageOk) misses.push(`${a.action}: answers`);
      console.log(`${''.padEnd(42)} slowest answer ${f(a.eachMaxMs)} ms: ${pageOk ? 'PASS' : 'MISS'} (page and API answers ≤ 200 ms)`);
    }
    if (a.action.startsWith('export')) {
      const growth = a.rssMaxMB - a.rssBeforeMB;
      if (growth > 20) misses.push(`${a.action}: RSS`);
      console.log(`${''.padEnd(42)} the hub's RSS grew ${f(growth, 1)} MB: ${growth <= 20 ? 'PASS' : 'MISS'} (export RSS growth ≤ 20 MB)`);
    }
    if (a.purgeBusyMs !== undefined) {
      if (a.purgeBusyMs > 1000) misses.push(`${a.action}: stall total`);
      console.log(`${''.padEnd(42)} the hub's event loop held ${f(a.purgeBusyMs)} ms in all for ${a.purgedEvents} events: ${a.purgeBusyMs <= 1000 ? 'PASS' : 'MISS'} (≤ 1 s of stall for 90 days' worth)`);
    }
    allMisses.push(...misses);
  }
  console.log(allMisses.length === 0 ? '\nevery target met' : `\ntargets missed: ${allMisses.join('; ')}`);
  if (r.statsAfter) console.log(`\nafter: ${(r.statsAfter.databaseBytes / 1e6).toFixed(1)} MB, ${r.statsAfter.rows.events} events, ${r.statsAfter.rows.event_days ?? 0} roll-up rows`);
}

main().catch((err) => {
  for (const c of children) c.kill('SIGKILL');
  console.error(err);
  process.exit(1);
});
