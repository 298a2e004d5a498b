/**
 * `npm run bench:collector`: reports per second verified and committed end to end (Mosquitto →
 * hearth-collector → PostgreSQL) with one and with two collector processes, the CPU each report
 * costs the collector and PostgreSQL, and the time to estimate a day of 1,000,000 reports.
 *
 * Real parts only: a throwaway PostgreSQL cluster (fsync on, default settings), Mosquitto, the
 * compiled collector as child processes. For each run the collectors first join the shared
 * subscription and stop, the reports are published and wait at the broker for their sessions, then
 * the collectors start again and drain them: the figure is the drain rate, from the first report
 * committed to the last. See docs/collector.md for the figures of a run on the reference machine.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { cpus, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import pg from 'pg';
import { foreignCoreShare, readCpuSeconds, readMachineBusySeconds, ratio } from './lib/measure.mjs';
import { startPostgres } from '../test/helpers/postgres.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const COLLECTOR = join(ROOT, 'bin', 'hearth-collector.js');

const USAGE = `usage: npm run bench:collector -- [--quick] [--reports N] [--estimate-reports N] [--connections C] [--json FILE]
  --quick               smoke run (5,000 reports, 100,000 for the estimate)
  --reports N           reports per throughput run (default 40,000)
  --estimate-reports N  reports in the day whose estimate is timed (default 1,000,000)
  --connections C       MQTT connections per collector process (default: the collector's default)
  --json FILE           also write the results as JSON`;

function parseArgs(argv) {
  const o = { reports: 40_000, estimateReports: 1_000_000, connections: undefined, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`);
      return n;
    };
    if (a === '--quick') Object.assign(o, { reports: 5000, estimateReports: 100_000 });
    else if (a === '--reports') o.reports = num();
    else if (a === '--estimate-reports') o.estimateReports = num();
    else if (a === '--connections') o.connections = num();
    else if (a === '--json') o.json = argv[++i];
    else if (a === '--help' || a === '-h') o.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

const log = (s) => process.stderr.write(`${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function startMosquitto(dir) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'mosquitto.conf');
  // Queued messages for a collector that is away are kept (the default drops beyond 1000 per session).
  writeFileSync(conf, [`user ${userInfo().username}`, 'allow_anonymous true', 'persistence false', 'log_dest none', 'max_queued_messages 0', `listener ${port} 127.0.0.1`, ''].join('\n'));
  const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
  const until = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((r) => {
      const s = tcpConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) break;
    if (Date.now() > until) throw new Error('mosquitto did not start');
    await sleep(50);
  }
  return { url: `mqtt://127.0.0.1:${port}`, pid: proc.pid, stop: () => new Promise((r) => (proc.once('exit', r), proc.kill('SIGTERM'))) };
}

async function startCollector({ broker, database, group, instance, connections }) {
  const args = [COLLECTOR, 'start', '--broker', broker, '--database', database, '--group', group, '--instance', instance, '--http-port', '0', '--log-level', process.env.BENCH_LOG ?? 'warn'];
  if (connections) args.push('--connections', String(connections));
  // BENCH_CPU_PROF=<dir>: each collector process writes a .cpuprofile there (for looking into where its time goes).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const proc = spawn(process.execPath, [...prof, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((r) => proc.once('exit', r));
  const until = Date.now() + 20_000;
  let port;
  while (!(port = /collector HTTP: http:\/\/[^:]+:(\d+)/.exec(out)?.[1]) || !out.includes('collector running')) {
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`collector did not start:\n${out}`);
    await sleep(20);
  }
  while ((await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > until) throw new Error(`collector not ready:\n${out}`);
    await sleep(20);
  }
  return { pid: proc.pid, port: Number(port), stop: async () => (proc.kill('SIGTERM'), exited), output: () => out };
}

/** PostgreSQL's postmaster and all its children (the backends serving the collectors among them). */
function postgresPids(dataDir) {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [postmaster];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(d));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** This benchmark's own process and Mosquitto. */
const ownCpu = (mosq) => (process.cpuUsage().user + process.cpuUsage().system) / 1e6 + (readCpuSeconds(mosq.pid) ?? 0);
const cpuOf = (pids) => pids.reduce((s, p) => s + (readCpuSeconds(p) ?? 0), 0);

/** Format 2 reports as hubs send them now: one device-health answer (1BitMean) each, signed. */
async function makeReports(n) {
  const { loadSodium } = await import(join(DIST, 'crypto/sodium.js'));
  const { reportBytes, newReportId } = await import(join(DIST, 'uplink/report.js'));
  const { signReportV2 } = await import(join(DIST, 'uplink/report-v2.js'));
  const sodium = await loadSodium();
  const hubs = Array.from({ length: Math.max(1, Math.ceil(n / 10)) }, () => {
    const pair = sodium.crypto_sign_keypair();
    return { pseudonym: Buffer.from(sodium.randombytes_buf(16)).toString('hex'), publicKey: Buffer.from(pair.publicKey).toString('base64'), privateKey: pair.privateKey };
  });
  const now = Date.now();
  const out = [];
  for (let i = 0; i < n; i++) {
    const hub = hubs[i % hubs.length];
    const end = Math.floor((now - 60_000 - Math.floor(i / hubs.length) * 3_600_000) / 1000);
    const report = signReportV2(sodium, hub.privateKey, {
      v: 2,
      id: newReportId(sodium),
      hub: hub.pseudonym,
      key: hub.publicKey,
      category: 'device-health',
      window: { start: end - 3600, end },
      answers: { connect_failures: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 50, bit: i % 2 } },
      privacy: { daily_epsilon: 1, spent: 1 },
    });
    out.push({ topic: `hearth/v1/reports/${hub.pseudonym}`, payload: reportBytes(report) });
  }
  return out;
}

async function publishAll(url, reports) {
  const clients = await Promise.all(Array.from({ length: 4 }, () => mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 })));
  const window = 2000;
  for (let i = 0; i < reports.length; i += window) {
    await Promise.all(reports.slice(i, i + window).map((r, k) => clients[k % clients.length].publishAsync(r.topic, r.payload, { qos: 1 })));
  }
  await Promise.all(clients.map((c) => c.endAsync()));
}

async function throughputRun({ processes, reports, mosq, pgc, dbName, connections }) {
  const database = await pgc.createDatabase(dbName);
  const group = `bench-${dbName}`;
  const instances = Array.from({ length: processes }, (_, i) => `p${i}`);
  // Join the shared subscription once and leave: the reports then wait at the broker for these sessions.
  const first = await Promise.all(instances.map((instance) => startCollector({ broker: mosq.url, database, group, instance, connections })));
  await Promise.all(first.map((c) => c.stop()));
  await publishAll(mosq.url, reports);
  const db = new pg.Client({ connectionString: database });
  await db.connect();
  const count = async () => Number((await db.query('SELECT count(*) AS n FROM reports')).rows[0].n);
  const collectors = await Promise.all(instances.map((instance) => startCollector({ broker: mosq.url, database, group, instance, connections })));
  const collectorPids = collectors.map((c) => c.pid);
  let startCount;
  let t0;
  let cpu0;
  for (;;) {
    const n = await count();
    if (n > 0) {
      [startCount, t0, cpu0] = [n, performance.now(), { collector: cpuOf(collectorPids), postgres: cpuOf(postgresPids(pgc.dataDir)), mosquitto: readCpuSeconds(mosq.pid) ?? 0, own: ownCpu(mosq), machine: readMachineBusySeconds() }];
      break;
    }
    await sleep(5);
  }
  let end;
  for (;;) {
    const n = await count();
    if (n >= reports.length) {
      end = { n, t: performance.now(), collector: cpuOf(collectorPids), postgres: cpuOf(postgresPids(pgc.dataDir)), mosquitto: readCpuSeconds(mosq.pid) ?? 0, own: ownCpu(mosq), machine: readMachineBusySeconds() };
      break;
    }
    await sleep(20);
  }
  const drained = end.n - startCount;
  const seconds = (end.t - t0) / 1000;
  const metrics = await Promise.all(collectors.map((c) => fetch(`http://127.0.0.1:${c.port}/metrics`).then((r) => r.text())));
  const total = (name) => metrics.reduce((s, text) => s + Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0), 0);
  await Promise.all(collectors.map((c) => c.stop()));
  if (process.env.BENCH_LOG) log(collectors.map((c) => c.output()).join('\n').split('\n').slice(0, 60).join('\n'));
  await db.end();
  return {
    processes,
    reports: reports.length,
    reports_per_s: Math.round(drained / seconds),
    mean_batch: Math.round((total('hearth_collector_stored_total') / Math.max(1, total('hearth_collector_batches_total'))) * 10) / 10,
    collector_cpu_us_per_report: Math.round(((end.collector - cpu0.collector) * 1e6) / drained),
    postgres_cpu_us_per_report: Math.round(((end.postgres - cpu0.postgres) * 1e6) / drained),
    mosquitto_cpu_us_per_report: Math.round(((end.mosquitto - cpu0.mosquitto) * 1e6) / drained),
    // Cores' worth of CPU taken by processes outside this benchmark while it measured (a busy machine).
    foreign_cores: Math.round(foreignCoreShare(end.machine - cpu0.machine, end.collector - cpu0.collector + end.postgres - cpu0.postgres + end.own - cpu0.own, seconds) * 100) / 100,
  };
}

/**
 * A day of n format 2 reports as homes send them (a report per consented category, one answer
 * each, cycling through every question: a third of them memoized), stored through the collector's
 * own batch commit so the running figures are kept as in production (signatures are not checked by
 * the store, so they are left out here).
 */
async function loadFormatTwoDay(store, day, n) {
  const { QUESTIONS } = await import(join(DIST, 'metrics/ldp/questions.js'));
  const { randomUUID } = await import('node:crypto');
  const answerOf = (q, i) => {
    const base = { epsilon: 1, spent: 1, memo: q.stable };
    if (q.kind === 'yes-no') return { mechanism: 'randomized-response', ...base, bit: i % 3 === 0 ? 1 : 0 };
    if (q.kind === 'mean') return { mechanism: '1bitmean', ...base, bound: q.bound, bit: i % 2 };
    return { mechanism: 'dbitflip', ...base, buckets: q.buckets.length, bits: Object.fromEntries(q.buckets.map((_, b) => [String(b), (i + b) % 3 === 0 ? 1 : 0])) };
  };
  const end = Math.floor(Date.parse(`${day}T23:00:00Z`) / 1000);
  const now = Date.parse(`${day}T23:30:00Z`);
  const CHUNK = 5000;
  for (let from = 0; from < n; from += CHUNK) {
    const items = [];
    for (let i = from; i < Math.min(n, from + CHUNK); i++) {
      const q = QUESTIONS[i % QUESTIONS.length];
      const homes = Math.max(1, Math.ceil(n / 3)); // three reports per home, each in its own window
      const hub = i % homes;
      const k = Math.floor(i / homes);
      items.push({
        day,
        report: { v: 2, id: randomUUID(), hub: hub.toString(16).padStart(32, '0'), key: 'k', category: q.category, window: { start: end - 86_400 + k, end: end + k }, answers: { [q.name]: answerOf(q, i) }, privacy: { daily_epsilon: 1, spent: 1 }, signature: '' },
      });
    }
    const outcomes = await store.commitBatch(items, [], now);
    if (outcomes.some((o) => o !== 'stored')) throw new Error(`bench day: ${outcomes.find((o) => o !== 'stored')}`);
    if (from % 100_000 === 0) log(`  loading the day: ${from.toLocaleString('en')} of ${n.toLocaleString('en')}`);
  }
}

async function estimateRun(pgc, n) {
  const { CollectorStore } = await import(join(DIST, 'collector/store.js'));
  const { computeStats } = await import(join(DIST, 'collector/stats.js'));
  const database = await pgc.createDatabase('bench_estimate');
  const store = CollectorStore.connect(database, null, 4);
  await store.migrate();
  const day = new Date().toISOString().slice(0, 10);
  await store.ensurePartitions(day, day);
  await loadFormatTwoDay(store, day, n);
  await store.pool.query('VACUUM ANALYZE reports');
  const times = [];
  let stats;
  const busy0 = readMachineBusySeconds();
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    stats = await computeStats(store, day, 1);
    times.push(performance.now() - t);
  }
  const busyCores = (readMachineBusySeconds() - busy0) / ((performance.now() - t0) / 1000);
  // The week ending that day, as `stats` pools by default: each home's newest memo over seven days.
  const week = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await computeStats(store, day, 7);
    week.push(performance.now() - t);
  }
  await store.close();
  times.sort((a, b) => a - b);
  week.sort((a, b) => a - b);
  return { reports: n, estimate_ms: Math.round(times[2]), estimate_ms_best: Math.round(times[0]), week_estimate_ms: Math.round(week[1]), machine_busy_cores: Math.round(busyCores * 100) / 100, statistics: Object.keys(stats.statistics).length, stored: Object.values(stats.reports).reduce((a, b) => a + b, 0) };
}

export async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    log(`${e.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    log(USAGE);
    return 0;
  }
  const work = mkdtempSync(join(tmpdir(), 'hearth-bench-collector-'));
  let pgc;
  let mosq;
  try {
    log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), node ${process.version}`);
    [pgc, mosq] = await Promise.all([startPostgres(), startMosquitto(join(work, 'mosquitto'))]);
    log(`signing ${opts.reports} reports`);
    const reports = await makeReports(opts.reports);
    const results = { reports: opts.reports };
    log('1 collector process');
    results.one = await throughputRun({ processes: 1, reports, mosq, pgc, dbName: 'bench_one', connections: opts.connections });
    log(`  ${JSON.stringify(results.one)}`);
    log('2 collector processes');
    results.two = await throughputRun({ processes: 2, reports, mosq, pgc, dbName: 'bench_two', connections: opts.connections });
    log(`  ${JSON.stringify(results.two)}`);
    results.two_vs_one = ratio(results.two.reports_per_s, results.one.reports_per_s);
    log(`estimate over a day of ${opts.estimateReports} reports`);
    results.estimate = await estimateRun(pgc, opts.estimateReports);
    log(`  ${JSON.stringify(results.estimate)}`);
    results.targets = {
      one_process_reports_per_s_min_10000: results.one.reports_per_s >= 10_000,
      two_processes_vs_one_min_1_6: results.two_vs_one >= 1.6,
      estimate_1m_under_2s: opts.estimateReports >= 1_000_000 ? results.estimate.estimate_ms < 2000 : null,
    };
    process.stdout.write(
      [
        '',
        `collector end to end (Mosquitto → hearth-collector → PostgreSQL, fsync on), ${opts.reports} reports:`,
        `  1 process:   ${results.one.reports_per_s} reports/s; CPU per report: collector ${results.one.collector_cpu_us_per_report} µs, PostgreSQL ${results.one.postgres_cpu_us_per_report} µs, Mosquitto ${results.one.mosquitto_cpu_us_per_report} µs; other processes used ${results.one.foreign_cores} cores meanwhile`,
        `  2 processes: ${results.two.reports_per_s} reports/s; CPU per report: collector ${results.two.collector_cpu_us_per_report} µs, PostgreSQL ${results.two.postgres_cpu_us_per_report} µs, Mosquitto ${results.two.mosquitto_cpu_us_per_report} µs; other processes used ${results.two.foreign_cores} cores meanwhile`,
        `  2 processes / 1 process: ${results.two_vs_one}×`,
        `  estimate of a day of ${results.estimate.reports} reports: ${results.estimate.estimate_ms} ms median of 5, best ${results.estimate.estimate_ms_best} ms (${results.estimate.statistics} statistics; machine busy ${results.estimate.machine_busy_cores} cores); pooled over the week ending that day: ${results.estimate.week_estimate_ms} ms`,
        `  capacity check: at ${results.one.collector_cpu_us_per_report} µs of collector CPU per report one core verifies at most ${Math.round(1e6 / results.one.collector_cpu_us_per_report)} reports/s`,
        `  targets: ${Object.entries(results.targets).map(([k, v]) => `${k}=${v === null ? 'n/a' : v ? 'met' : 'MISSED'}`).join(', ')}`,
        '',
      ].join('\n'),
    );
    if (opts.json) writeFileSync(opts.json, JSON.stringify(results, null, 2) + '\n');
    return 0;
  } finally {
    await mosq?.stop();
    await pgc?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
