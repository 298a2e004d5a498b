/**
 * Load generator: mqtt.js clients, one per camera, against a broker whose pid it is told, so it can
 * read the broker's CPU accounting (and its own) at the exact edges of each measurement window.
 *
 * Phases, each printed as one JSON line on stdout:
 *  - saturate: every client keeps `window` QoS 1 publishes in flight; acknowledged messages are
 *    counted over `windows` back-to-back windows of `measureMs` after `warmupMs` (for the hub a
 *    PUBACK means "committed"), and the window least disturbed by other processes is reported;
 *  - latency: open loop at a fixed offered rate spread round-robin over the clients; each message's
 *    PUBACK latency is taken from its publish call;
 *  - memory: the broker's RSS with every client still connected: right after connecting, and the
 *    median of samples taken every 250 ms over the last `rssWindowMs` of the fixed-rate phase.
 *
 * Usage: node bench/loadgen.mjs <config.json>
 */
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { eventPayloads, statusPayloads } from './lib/payloads.mjs';
import { cpuPerMessageUs, foreignCoreShare, latencySummary, percentile, readCpuSeconds, readMachineBusySeconds, readMemory } from './lib/measure.mjs';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const POOL = 64;
const statuses = statusPayloads(POOL);
const events = eventPayloads(POOL, Date.now());
const emit = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One connected camera: its client, topics and a cursor through the payload pools. */
function connect(cam) {
  return new Promise((resolve, reject) => {
    // Nagle off, as on the broker side: with it, small PUBLISHes wait for delayed ACKs.
    const openSocket = () => createConnection({ host: cfg.host, port: cfg.port, noDelay: true });
    const client = new mqtt.MqttClient(openSocket, {
      protocolVersion: 4,
      clientId: `${cam.id}-bench`,
      username: cam.username,
      password: cam.password,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
    });
    const onError = (err) => reject(new Error(`camera ${cam.id} could not connect: ${err.message}`));
    client.once('error', onError);
    client.once('connect', () => {
      client.off('error', onError);
      client.on('error', () => stats.clientErrors++);
      client.on('close', () => stats.closes++);
      resolve({ client, status: `hearth/cam/${cam.id}/status`, event: `hearth/cam/${cam.id}/event`, n: cam.offset ?? 0 });
    });
  });
}

const stats = { clientErrors: 0, closes: 0, publishErrors: 0 };

/** Publishes the camera's next message (alternating status and event); calls back on PUBACK. */
function publishNext(cam, cb) {
  const i = cam.n++;
  if ((i & 1) === 0) cam.client.publish(cam.status, statuses[(i >> 1) % POOL], { qos: 1 }, cb);
  else cam.client.publish(cam.event, events[(i >> 1) % POOL], { qos: 1 }, cb);
}

/**
 * The saturating phase's publish path. mqtt.js' own publish() costs the generator more CPU per
 * message than a bare broker spends on it, which would make the generator the limit. So, on the
 * connections mqtt.js opened and authenticated, each camera writes pre-encoded QoS 1 PUBLISH
 * packets (its topic, the shared payload pool, its own packet ids) and takes PUBACKs from mqtt.js'
 * parser ('packetreceive'); the publishes released by one incoming chunk go out in one write.
 */
function rawPublisher(cam) {
  const templates = [];
  for (let k = 0; k < POOL; k++) {
    templates.push(encodePublish(cam.status, statuses[k]));
    templates.push(encodePublish(cam.event, events[k]));
  }
  let nextId = 1;
  let queued = [];
  let queuedBytes = 0;
  const flush = () => {
    const out = queued.length === 1 ? queued[0] : Buffer.concat(queued, queuedBytes);
    queued = [];
    queuedBytes = 0;
    cam.client.stream.write(out);
  };
  return () => {
    const t = templates[cam.n++ % templates.length];
    const b = Buffer.allocUnsafe(t.bytes.length);
    t.bytes.copy(b);
    b.writeUInt16BE(nextId, t.idOffset);
    nextId = nextId === 65535 ? 1 : nextId + 1;
    if (queued.length === 0) queueMicrotask(flush);
    queued.push(b);
    queuedBytes += b.length;
  };
}

/** A QoS 1 PUBLISH (MQTT 3.1.1) with a zero packet id, and where the id goes. */
function encodePublish(topic, payload) {
  const topicBytes = Buffer.from(topic);
  const remaining = 2 + topicBytes.length + 2 + payload.length;
  const lengthBytes = [];
  let x = remaining;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    lengthBytes.push(byte);
  } while (x > 0);
  const bytes = Buffer.concat([Buffer.from([0x32, ...lengthBytes]), Buffer.from([topicBytes.length >> 8, topicBytes.length & 0xff]), topicBytes, Buffer.alloc(2), payload]);
  return { bytes, idOffset: 1 + lengthBytes.length + 2 + topicBytes.length };
}

async function saturate(cams) {
  let counting = false;
  let stopping = false;
  let acked = 0;
  let inFlight = 0;
  for (const cam of cams) {
    const send = rawPublisher(cam);
    cam.client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'puback') return;
      inFlight--;
      if (counting) acked++;
      if (!stopping) {
        inFlight++;
        send();
      }
    });
    for (let w = 0; w < cfg.window; w++) {
      inFlight++;
      send();
    }
  }
  await sleep(cfg.warmupMs);
  // Several back-to-back windows: on a shared machine other processes take CPU now and then; the
  // window they disturbed least (least foreign CPU) is the one reported, all are kept.
  const windows = [];
  for (let w = 0; w < (cfg.windows ?? 1); w++) {
    acked = 0;
    const t0 = nowUs();
    const broker0 = readCpuSeconds(cfg.brokerPid);
    const self0 = readCpuSeconds(process.pid);
    const machine0 = readMachineBusySeconds();
    counting = true;
    await sleep(cfg.measureMs);
    counting = false;
    const t1 = nowUs();
    const broker1 = readCpuSeconds(cfg.brokerPid);
    const self1 = readCpuSeconds(process.pid);
    const machine1 = readMachineBusySeconds();
    const n = acked;
    const seconds = (t1 - t0) / 1e6;
    windows.push({
      acked: n,
      seconds,
      msgs_per_s: n / seconds,
      broker_cpu_s: broker1 - broker0,
      loadgen_cpu_s: self1 - self0,
      broker_cpu_us_per_msg: cpuPerMessageUs(broker0, broker1, n),
      loadgen_cpu_us_per_msg: cpuPerMessageUs(self0, self1, n),
      broker_core_utilisation: (broker1 - broker0) / seconds,
      loadgen_core_utilisation: (self1 - self0) / seconds,
      // Cores' worth of CPU used by everything else on the machine (kernel network work included).
      foreign_cores: foreignCoreShare(machine1 - machine0, broker1 - broker0 + (self1 - self0), seconds),
      window_from_us: t0,
      window_to_us: t1,
    });
  }
  stopping = true;
  const drainUntil = Date.now() + 10_000;
  while (inFlight > 0 && Date.now() < drainUntil && stats.closes === 0) await sleep(20);
  for (const cam of cams) cam.client.removeAllListeners('packetreceive');
  return { phase: 'saturate', ...leastDisturbed(windows), windows, undrained: inFlight };
}

/** The window with the least foreign CPU; among windows within 0.1 core of it, the fastest. */
function leastDisturbed(windows) {
  const calmest = Math.min(...windows.map((w) => w.foreign_cores));
  return windows.filter((w) => w.foreign_cores <= calmest + 0.1).sort((a, b) => b.msgs_per_s - a.msgs_per_s)[0];
}

async function fixedRate(cams) {
  const latencies = [];
  let outstanding = 0;
  let sent = 0;
  let next = 0;
  const perMs = cfg.rate / 1000;
  // The first second at the rate warms the JIT and the database cache; it is not recorded.
  const warmMs = cfg.latencyWarmupMs ?? 1000;
  const totalMs = cfg.latencyMs + warmMs;
  const t0 = performance.now();
  // The broker's RSS every 250 ms; the figure is the median of the phase's last `rssWindowMs`.
  rssSamples.length = 0;
  const cpu0 = readCpuSeconds(cfg.brokerPid) + readCpuSeconds(process.pid);
  const machine0 = readMachineBusySeconds();
  const sampler = setInterval(() => rssSamples.push({ at: performance.now(), rss: readMemory(cfg.brokerPid).rssBytes }), 250);
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor(elapsed * perMs), Math.floor(totalMs * perMs)) - sent;
      const recorded = elapsed >= warmMs;
      for (let k = 0; k < due; k++) {
        const cam = cams[next];
        next = (next + 1) % cams.length;
        const start = performance.now();
        outstanding++;
        sent++;
        publishNext(cam, (err) => {
          outstanding--;
          if (err) stats.publishErrors++;
          else if (recorded) latencies.push(performance.now() - start);
        });
      }
      if (elapsed >= totalMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  clearInterval(sampler);
  const actualS = (performance.now() - t0) / 1000;
  const foreign = foreignCoreShare(readMachineBusySeconds() - machine0, readCpuSeconds(cfg.brokerPid) + readCpuSeconds(process.pid) - cpu0, actualS);
  const drainUntil = Date.now() + 10_000;
  while (outstanding > 0 && Date.now() < drainUntil) await sleep(5);
  return { phase: 'latency', offered_per_s: cfg.rate, sent, offered_actual_per_s: sent / actualS, warmup_ms: warmMs, unacked: outstanding, foreign_cores: foreign, ...latencySummary(latencies) };
}

const cams = [];
for (let i = 0; i < cfg.cameras.length; i += cfg.connectConcurrency) {
  cams.push(...(await Promise.all(cfg.cameras.slice(i, i + cfg.connectConcurrency).map((c, k) => connect({ ...c, offset: i + k })))));
}
emit({ phase: 'connected', cameras: cams.length });
const rssSamples = [];
/** The broker's RSS now, or (after the fixed-rate phase) the median of its last samples. */
const memoryPhase = (phase, samples = []) => {
  const mem = readMemory(cfg.brokerPid);
  const until = samples.length > 0 ? samples[samples.length - 1].at : 0;
  const recent = samples.filter((x) => x.at >= until - (cfg.rssWindowMs ?? 4000)).map((x) => x.rss);
  const rss = recent.length > 0 ? percentile(recent, 50) : mem.rssBytes;
  emit({ phase, connected: cams.length - stats.closes, rss_bytes: rss, rss_samples: recent.length, rss_now_bytes: mem.rssBytes, peak_rss_bytes: mem.peakRssBytes });
};
memoryPhase('memory_idle');
// The fixed-rate phase runs first, so neither its latencies nor the memory figure taken right after
// it carry what a saturating burst leaves behind (grown heaps, full socket buffers).
if (cfg.latencyMs > 0) {
  emit(await fixedRate(cams));
  memoryPhase('memory', rssSamples);
}
if (cfg.measureMs > 0) {
  if (cfg.latencyMs > 0) await sleep(300);
  emit(await saturate(cams));
  memoryPhase('memory_after_saturation');
}
await Promise.all(cams.map((c) => c.client.endAsync(true).catch(() => {})));
emit({ phase: 'done', ...stats });
process.exit(0);
