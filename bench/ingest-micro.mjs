/**
 * The ingest path without MQTT: validation (camera protocol), the camera store's batch write
 * (sealing included) and the commit with synchronous=FULL, in one process on a fresh database with
 * 200 cameras. Prints one JSON line: CPU microseconds per message at a batch size near the one the
 * hub commits at saturation and at the one it commits at 2,000 msgs/s (4 ms of messages).
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
const dir = mkdtempSync(join(tmpdir(), 'hearth-ingest-micro-'));
try {
  const vault = await openVault(dir, {}, { create: true });
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
    run(Math.min(n, 20_000), batch); // warm up the JIT and the page cache
    const before = process.cpuUsage();
    const t0 = performance.now();
    run(n, batch);
    const cpu = process.cpuUsage(before);
    return { batch, cpu_us_per_msg: (cpu.user + cpu.system) / n, wall_us_per_msg: ((performance.now() - t0) * 1000) / n };
  };
  const saturated = measure(1700, messages);
  const trickle = measure(8, Math.max(2000, Math.floor(messages / 20)));
  vault.close();
  process.stdout.write(`${JSON.stringify({ cameras: ids.length, saturated, trickle })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
