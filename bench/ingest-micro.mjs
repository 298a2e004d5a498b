/**
 * The ingest path without MQTT: validation (camera protocol), the camera store's batch write
 * (sealing included) and the commit with synchronous=FULL, in one process on a fresh database with
 * 200 cameras. Prints one JSON line: CPU microseconds per message at a batch size near the one the
 * hub commits at saturation and at the one it commits at 2,000 msgs/s (4 ms of messages).
 *
 * The same cases also run on a second database without the index that filtered timelines read
 * (migration 61, events(type, received_at)), alternating with the first, so its cost on every
 * insert is a ratio measured in the same run.
 *
 * Usage: node bench/ingest-micro.mjs <messages per case>
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventPayloads, statusPayloads } from './lib/payloads.mjs';

const messages = Number(process.argv[2] ?? 100_000);
const dist = new URL('../dist/', import.meta.url);
const { openVault } = await import(new URL('store/vault.js', dist).href);
const { DeviceRegistry, newDeviceId } = await import(new URL('devices/registry.js', dist).href);
const { CameraStore } = await import(new URL('devices/camera/store.js', dist).href);
const { parseEvent, parseStatus } = await import(new URL('devices/camera/protocol.js', dist).href);

const MAX_PAYLOAD = 16 * 1024;
const TIMELINE_INDEX = 'events_by_type_time';
const dirs = [];

/** A fresh hub database with 200 cameras; without the timeline index when asked. */
async function hubDatabase(withTimelineIndex) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-ingest-micro-'));
  dirs.push(dir);
  const vault = await openVault(dir, {}, { create: true });
  if (!withTimelineIndex) vault.db.exec(`DROP INDEX ${TIMELINE_INDEX}`);
  const registry = new DeviceRegistry(vault.db, vault.sealer);
  const ids = vault.db.transaction(() => Array.from({ length: 200 }, (_, i) => registry.add('camera', newDeviceId('cam'), `bench camera ${i + 1}`, { secretHash: 'unused' }).id))();
  const store = new CameraStore(vault.db, vault.sealer);
  const write = vault.db.transaction((records) => store.writeBatch(records));
  const statuses = statusPayloads(64);
  const events = eventPayloads(64, Date.now());

  /** Validates and stores `n` messages (alternating status and event over the cameras) in batches. */
  const run = (n, batch) => {
    let records = [];
    for (let i = 0; i < n; i++) {
      const deviceId = ids[i % ids.length];
      const at = Date.now();
      const k = (i >> 1) % 64;
      if (i & 1) {
        const parsed = parseEvent(events[k], MAX_PAYLOAD, at);
        if (parsed.ok) records.push({ kind: 'event', deviceId, event: parsed.value, at });
      } else {
        const parsed = parseStatus(statuses[k], MAX_PAYLOAD);
        if (parsed.ok) records.push({ kind: 'status', deviceId, status: parsed.value, at });
      }
      if (records.length >= batch) {
        write.immediate(records);
        records = [];
      }
    }
    if (records.length > 0) write.immediate(records);
  };
  const measure = (batch, n) => {
    const before = process.cpuUsage();
    const t0 = performance.now();
    run(n, batch);
    const cpu = process.cpuUsage(before);
    return { batch, cpu_us_per_msg: (cpu.user + cpu.system) / n, wall_us_per_msg: ((performance.now() - t0) * 1000) / n };
  };
  return { cameras: ids.length, run, measure, close: () => vault.close() };
}

/** The better of `rounds` alternating measurements on each database (less noise from other work). */
function compare(a, b, batch, n, rounds) {
  a.run(Math.min(n, 20_000), batch); // warm up the JIT and the page cache
  b.run(Math.min(n, 20_000), batch);
  let best = { a: undefined, b: undefined };
  for (let r = 0; r < rounds; r++) {
    const ma = a.measure(batch, n);
    const mb = b.measure(batch, n);
    if (!best.a || ma.cpu_us_per_msg < best.a.cpu_us_per_msg) best.a = ma;
    if (!best.b || mb.cpu_us_per_msg < best.b.cpu_us_per_msg) best.b = mb;
  }
  return best;
}

try {
  const hub = await hubDatabase(true);
  const without = await hubDatabase(false);
  const saturated = compare(hub, without, 1700, messages, 2);
  const trickle = compare(hub, without, 8, Math.max(2000, Math.floor(messages / 20)), 2);
  hub.close();
  without.close();
  const ratio = (x, y) => Math.round((x / y) * 1000) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      cameras: hub.cameras,
      saturated: saturated.a,
      trickle: trickle.a,
      timeline_index: {
        saturated_without_cpu_us_per_msg: saturated.b.cpu_us_per_msg,
        trickle_without_cpu_us_per_msg: trickle.b.cpu_us_per_msg,
        saturated_cost_ratio: ratio(saturated.a.cpu_us_per_msg, saturated.b.cpu_us_per_msg),
        trickle_cost_ratio: ratio(trickle.a.cpu_us_per_msg, trickle.b.cpu_us_per_msg),
      },
    })}\n`,
  );
} finally {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
