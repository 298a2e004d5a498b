/**
 * `npm run bench`: the ingest path of the real hub measured against a bare aedes broker (and
 * Mosquitto when installed) in the same run, with the same load, pinned the same way.
 *
 * Each broker runs as its own process pinned to core 0; the load generator (bench/loadgen.mjs)
 * runs pinned to core 1. CPU time comes from the processes' own accounting (/proc/<pid>/stat).
 * See docs/benchmark.md for what each figure means, docs/performance.md for what was optimised.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attributeProfile, cpuShares } from './lib/profile.mjs';
import { ratio } from './lib/measure.mjs';
import { evaluateTargets, formatReport } from './lib/report.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const HUB_CORE = 0;
const LOADGEN_CORE = 1;

const USAGE = `usage: npm run bench -- [--quick] [--json FILE] [--cameras N] [--no-mosquitto] [--keep]
  --quick         smoke check (short phases, under a minute)
  --json FILE     also write the results as JSON to FILE
  --cameras N     enrolled cameras (default 200; latency and memory figures assume 200)
  --no-mosquitto  skip the Mosquitto reference line
  --keep          keep the temporary data dir (with the hub's .cpuprofile) and print its path`;

export function parseArgs(argv) {
  const opts = { quick: false, json: undefined, cameras: 200, mosquitto: true, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--no-mosquitto') opts.mosquitto = false;
    else if (a === '--json') {
      opts.json = argv[++i];
      if (!opts.json) throw new Error('--json needs a file name');
    } else if (a === '--cameras') {
      opts.cameras = Number(argv[++i]);
      if (!Number.isInteger(opts.cameras) || opts.cameras < 1 || opts.cameras > 2000) throw new Error('--cameras must be an integer from 1 to 2000');
    } else if (a === '--help' || a === '-h') {
      opts.help = true;
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

/** Phase lengths; the quick run keeps every phase but shortens it. */
function plan(opts) {
  return opts.quick
    ? { warmupMs: 1000, measureMs: 2000, windows: 2, latencyMs: 2000, profileMeasureMs: 2000, profileCameras: Math.min(opts.cameras, 40), coldStarts: 1, cryptoMs: 300, ingestMessages: 30_000 }
    : { warmupMs: 3000, measureMs: 10_000, windows: 3, latencyMs: 16_000, profileMeasureMs: 5000, profileCameras: opts.cameras, coldStarts: 3, cryptoMs: 1500, ingestMessages: 150_000 };
}

export async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`hearth-bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!existsSync(join(DIST, 'cli', 'main.js'))) {
    process.stderr.write('hearth-bench: not built yet; run `npm run build` first\n');
    return 1;
  }
  const phases = plan(opts);
  const pinned = canPin();
  const work = mkdtempSync(join(tmpdir(), 'hearth-bench-'));
  const children = new Set();
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('SIGINT', () => {
    killAll();
    if (!opts.keep) rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });
  const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
  const started = performance.now();
  const results = {
    mode: opts.quick ? 'quick' : 'full',
    cameras: opts.cameras,
    machine: machineInfo(pinned),
    phases,
  };
  try {
    log(`enrolling ${opts.cameras} cameras (one Argon2id hash each) in ${work}`);
    const dataDir = join(work, 'hub');
    const cameras = await enrolCameras(dataDir, opts.cameras, children);

    log('cold start');
    results.cold_start = await measureColdStarts(dataDir, phases.coldStarts, pinned, children);

    log('hub: saturating load, then 2,000 msgs/s');
    results.hub = await runAgainst(
      'hub',
      (ports) => startHub(dataDir, ports, pinned, children),
      cameras,
      { ...phases, rate: 2000 },
      pinned,
      children,
      work,
    );

    log('bare aedes: same load');
    results.bare_aedes = await runAgainst('bare_aedes', (ports) => startBareAedes(ports, pinned, children), cameras, { ...phases, rate: 2000 }, pinned, children, work);

    if (opts.mosquitto && existsSync('/usr/sbin/mosquitto')) {
      log('mosquitto: same load');
      results.mosquitto = await runAgainst('mosquitto', (ports) => startMosquitto(work, ports, pinned, children), cameras, { ...phases, rate: 2000 }, pinned, children, work);
    } else results.mosquitto = null;

    log('hub under --cpu-prof: where the CPU goes');
    results.profile = await profileHub(dataDir, work, cameras.slice(0, phases.profileCameras), phases, pinned, children);

    log('crypto microbench');
    results.crypto = await runJson(pinCommand(pinned, HUB_CORE, [process.execPath, join(ROOT, 'bench', 'crypto-micro.mjs'), String(phases.cryptoMs)]), children);
    results.crypto.sealer_vs_bare_ratio = ratio(results.crypto.sealer_seals_per_s, results.crypto.bare_libsodium_seals_per_s);

    log('ingest path without MQTT');
    results.ingest = await runJson(pinCommand(pinned, HUB_CORE, [process.execPath, ...unitLaunch().nodeFlags, join(ROOT, 'bench', 'ingest-micro.mjs'), String(phases.ingestMessages)]), children);

    results.hub_launch = unitLaunch();
    results.throughput_ratio_vs_bare_aedes = ratio(results.hub.msgs_per_s, results.bare_aedes.msgs_per_s);
    results.puback_p99_ratio_vs_bare_aedes = ratio(results.hub.latency?.p99_ms, results.bare_aedes.latency?.p99_ms);
    results.rss_ratio_vs_bare_aedes = ratio(results.hub.rss_bytes_connected, results.bare_aedes.rss_bytes_connected);
    results.cold_start_ratio_vs_bare_aedes = ratio(results.cold_start.health_ok_ms, results.bare_aedes.start_ms);
    results.cpu_per_msg_ratio_vs_bare_aedes = ratio(results.hub.broker_cpu_us_per_msg, results.bare_aedes.broker_cpu_us_per_msg);
    results.throughput_ratio_vs_mosquitto = results.mosquitto ? ratio(results.hub.msgs_per_s, results.mosquitto.msgs_per_s) : null;
    results.cpu_per_msg_ratio_vs_mosquitto = results.mosquitto ? ratio(results.hub.broker_cpu_us_per_msg, results.mosquitto.broker_cpu_us_per_msg) : null;
    results.targets = evaluateTargets(results);
    results.elapsed_s = Math.round((performance.now() - started) / 100) / 10;
    results.machine.load_average_at_end = loadavg();

    results.json_file = opts.json ?? null;
    process.stdout.write(formatReport(results));
    if (opts.json) {
      writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
      process.stdout.write(`JSON results written to ${opts.json}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`hearth-bench: ${err.stack ?? err.message}\n`);
    return 1;
  } finally {
    killAll();
    if (opts.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/* ---------------- processes ---------------- */

function canPin() {
  if (cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function pinCommand(pinned, core, argv) {
  return pinned ? ['taskset', '-c', String(core), ...argv] : argv;
}

/** A hub's environment: this one minus HEARTH_* settings that would change what is measured. */
function hubEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARTH_')) env[k] = v;
  return { ...env, ...extra };
}

/**
 * How the service unit launches the hub (systemd/hearth.service): the node flags on its ExecStart
 * line and its MALLOC_* / NODE_OPTIONS environment, so the hub measured is the hub deployed.
 */
export function serviceLaunch(unitText) {
  const exec = /^ExecStart=\S*node\s+(.*?)\S*bin\/hearth\.js\b/m.exec(unitText);
  const nodeFlags = exec ? exec[1].split(/\s+/).filter((t) => t.startsWith('--')) : [];
  const env = {};
  for (const m of unitText.matchAll(/^Environment=((?:MALLOC_[A-Z_]+|NODE_OPTIONS)=.*)$/gm)) {
    const eq = m[1].indexOf('=');
    env[m[1].slice(0, eq)] = m[1].slice(eq + 1).replace(/^"|"$/g, '');
  }
  return { nodeFlags, env };
}

let launch;
function unitLaunch() {
  if (!launch) {
    const unit = join(ROOT, 'systemd', 'hearth.service');
    launch = existsSync(unit) ? serviceLaunch(readFileSync(unit, 'utf8')) : { nodeFlags: [], env: {} };
  }
  return launch;
}

function spawnTracked(argv, children, opts = {}) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, ...opts });
  children.add(child);
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  child.exited.then(() => children.delete(child));
  child.stderrText = '';
  child.stderr.on('data', (d) => {
    if (child.stderrText.length < 20_000) child.stderrText += d;
  });
  return child;
}

/** Resolves with the first stdout line matching `pattern`. */
function waitForLine(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} (stderr: ${child.stderrText.slice(-2000)})`)), timeoutMs);
    const onData = (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        const m = pattern.exec(line);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(m);
          return;
        }
      }
    };
    child.stdout.on('data', onData);
    child.exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code ?? signal}) before ${pattern}: ${child.stderrText.slice(-2000)}`));
    });
  });
}

async function stop(child, timeoutMs = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const res = await child.exited;
  clearTimeout(timer);
  return res;
}

async function runJson(argv, children) {
  const child = spawnTracked(argv, children);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (${code}): ${child.stderrText.slice(-2000)}`);
  return JSON.parse(out);
}

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

async function ports() {
  return { mqtt: await freePort(), http: await freePort() };
}

/* ---------------- setup ---------------- */

async function enrolCameras(dataDir, count, children) {
  // Hash in one process per core, then enrol through the registry exactly as the CLI does.
  const workers = Math.max(1, Math.min(cpus().length, count));
  const shares = Array.from({ length: workers }, (_, i) => Math.floor(count / workers) + (i < count % workers ? 1 : 0));
  const hashed = (await Promise.all(shares.map((n) => runJson([process.execPath, join(ROOT, 'bench', 'hash-secrets.mjs'), String(n)], children)))).flat();
  const { openVault } = await import(join(DIST, 'store', 'vault.js'));
  const { DeviceRegistry, newDeviceId } = await import(join(DIST, 'devices', 'registry.js'));
  const vault = await openVault(dataDir, hubEnv(), { create: true });
  try {
    const registry = new DeviceRegistry(vault.db, vault.sealer);
    return vault.db.transaction(() =>
      hashed.map(({ password, hash }, i) => {
        const device = registry.add('camera', newDeviceId('cam'), `bench camera ${i + 1}`, { secretHash: hash });
        return { id: device.id, username: device.id, password };
      }),
    )();
  } finally {
    vault.close();
  }
}

/* ---------------- the brokers ---------------- */

async function startHub(dataDir, p, pinned, children, nodeFlags = []) {
  const argv = pinCommand(pinned, HUB_CORE, [
    process.execPath,
    ...unitLaunch().nodeFlags,
    ...nodeFlags,
    join(ROOT, 'bin', 'hearth.js'),
    'start',
    '--data-dir',
    dataDir,
    '--mqtt-host',
    '127.0.0.1',
    '--mqtt-port',
    String(p.mqtt),
    '--http-host',
    '127.0.0.1',
    '--http-port',
    String(p.http),
    '--log-level',
    'warn',
  ]);
  const t0 = performance.now();
  const child = spawnTracked(argv, children, { env: hubEnv(unitLaunch().env) });
  const line = waitForLine(child, /hearth is running/, 30_000).then(() => performance.now() - t0);
  const health = pollHealth(p.http, 30_000).then(() => performance.now() - t0);
  const [lineMs, healthMs] = await Promise.all([line, health]);
  return { child, pid: child.pid, lineMs, healthMs };
}

async function pollHealth(httpPort, timeoutMs) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/api/health`);
      if (res.ok && (await res.json()).status === 'ok') return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the hub did not report healthy in time');
}

async function startBareAedes(p, pinned, children) {
  const t0 = performance.now();
  const child = spawnTracked(pinCommand(pinned, HUB_CORE, [process.execPath, join(ROOT, 'bench', 'bare-aedes.mjs'), String(p.mqtt)]), children);
  await waitForLine(child, /^ready \d+/, 15_000);
  return { child, pid: child.pid, startMs: performance.now() - t0 };
}

async function startMosquitto(work, p, pinned, children) {
  const conf = join(work, `mosquitto-${p.mqtt}.conf`);
  writeFileSync(conf, [`listener ${p.mqtt} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_connections -1', 'log_dest none', ''].join('\n'));
  const child = spawnTracked(pinCommand(pinned, HUB_CORE, ['/usr/sbin/mosquitto', '-c', conf]), children);
  const until = performance.now() + 10_000;
  while (!(await canConnect(p.mqtt))) {
    if (performance.now() > until || child.exitCode !== null) throw new Error(`mosquitto did not start: ${child.stderrText.slice(-1000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, pid: child.pid };
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/* ---------------- phases ---------------- */

async function measureColdStarts(dataDir, times, pinned, children) {
  const runs = [];
  for (let i = 0; i < times; i++) {
    const hub = await startHub(dataDir, await ports(), pinned, children);
    runs.push({ ready_line_ms: hub.lineMs, health_ok_ms: hub.healthMs });
    await stop(hub.child);
  }
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { runs, ready_line_ms: median(runs.map((r) => r.ready_line_ms)), health_ok_ms: median(runs.map((r) => r.health_ok_ms)) };
}

/** Starts a broker, runs the load generator's phases against it, stops it. */
async function runAgainst(name, start, cameras, phases, pinned, children, work, extra = {}) {
  const p = await ports();
  const broker = await start(p);
  try {
    const out = await runLoadgen(name, work, p.mqtt, broker.pid, cameras, phases, pinned, children, extra);
    const sat = out.saturate ?? {};
    return {
      start_ms: broker.startMs ?? broker.healthMs,
      msgs_per_s: sat.msgs_per_s,
      broker_cpu_us_per_msg: sat.broker_cpu_us_per_msg,
      loadgen_cpu_us_per_msg: sat.loadgen_cpu_us_per_msg,
      broker_core_utilisation: sat.broker_core_utilisation,
      loadgen_core_utilisation: sat.loadgen_core_utilisation,
      limit: limitOf(sat),
      foreign_cores: sat.foreign_cores,
      acked: sat.acked,
      seconds: sat.seconds,
      window_from_us: sat.window_from_us,
      window_to_us: sat.window_to_us,
      windows: (sat.windows ?? []).map((w) => ({ msgs_per_s: w.msgs_per_s, broker_cpu_us_per_msg: w.broker_cpu_us_per_msg, broker_core_utilisation: w.broker_core_utilisation, foreign_cores: w.foreign_cores })),
      latency: out.latency ?? null,
      rss_bytes_connected_idle: out.memory_idle?.rss_bytes,
      rss_bytes_connected: out.memory?.rss_bytes,
      rss_bytes_after_saturation: out.memory_after_saturation?.rss_bytes,
      peak_rss_bytes: (out.memory_after_saturation ?? out.memory)?.peak_rss_bytes,
      connected: out.memory?.connected,
      client_errors: out.done?.clientErrors,
      publish_errors: out.done?.publishErrors,

    };
  } finally {
    await stop(broker.child);
  }
}

/** Which side held the throughput back, from each process's share of its core. */
export function limitOf(sat) {
  if (!sat || !Number.isFinite(sat.broker_core_utilisation)) return 'unknown';
  if (sat.broker_core_utilisation >= 0.9) return 'broker';
  if (sat.loadgen_core_utilisation >= 0.9) return 'load generator';
  return 'neither core saturated';
}

async function runLoadgen(name, work, port, brokerPid, cameras, phases, pinned, children, extra) {
  const cfg = {
    host: '127.0.0.1',
    port,
    brokerPid,
    cameras,
    window: 16,
    warmupMs: phases.warmupMs,
    measureMs: phases.measureMs,
    windows: phases.windows,
    rate: phases.rate,
    latencyMs: phases.latencyMs,
    connectConcurrency: 20,
    ...extra,
  };
  const cfgPath = join(work, `loadgen-${name}.json`);
  writeFileSync(cfgPath, JSON.stringify(cfg));
  const child = spawnTracked(pinCommand(pinned, LOADGEN_CORE, [process.execPath, join(ROOT, 'bench', 'loadgen.mjs'), cfgPath]), children);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const { code } = await child.exited;
  if (code !== 0) throw new Error(`load generator against ${name} failed (${code}): ${child.stderrText.slice(-2000)}`);
  const phasesOut = {};
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const rec = JSON.parse(line);
    phasesOut[rec.phase] = rec;
  }
  return phasesOut;
}

async function profileHub(dataDir, work, cameras, phases, pinned, children) {
  const profDir = join(work, 'cpuprofile');
  mkdirSync(profDir, { recursive: true });
  const p = await ports();
  const hub = await startHub(dataDir, p, pinned, children, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=250']);
  let sat;
  try {
    const out = await runLoadgen('hub-profile', work, p.mqtt, hub.pid, cameras, { ...phases, measureMs: phases.profileMeasureMs, windows: 1, latencyMs: 0 }, pinned, children, {});
    sat = out.saturate;
  } finally {
    const res = await stop(hub.child);
    if (res.signal === 'SIGKILL') throw new Error('the profiled hub did not stop in time; no profile written');
  }
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error('the profiled hub wrote no .cpuprofile');
  const largest = files.map((f) => join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  const profile = JSON.parse(readFileSync(largest, 'utf8'));
  const attributed = attributeProfile(profile, { fromUs: sat.window_from_us, toUs: sat.window_to_us });
  const cpu = cpuShares(attributed, sat.broker_cpu_s * 1000);
  return {
    msgs_per_s_under_profiler: sat.msgs_per_s,
    cameras: cameras.length,
    file: largest,
    window_from_us: sat.window_from_us,
    window_to_us: sat.window_to_us,
    samples: attributed.samples,
    busyMs: attributed.busyMs,
    cpuMs: sat.broker_cpu_s * 1000,
    blocked_ms: cpu.blockedMs,
    // Shares of the hub's CPU (fsync waiting removed) and, for reference, of its busy wall time.
    shares: cpu.shares,
    wall_shares: attributed.shares,
  };
}

function machineInfo(pinned) {
  let model = 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    /* not Linux */
  }
  return { nproc: cpus().length, cpu_model: model, node: process.version, pinned, load_average_at_start: loadavg() };
}
