/**
 * The collector's check threads (src/collector/check-pool.ts) with the compiled worker: the same
 * verdicts as the checks made inline, for good and bad reports alike, and a thread that dies has
 * its reports checked on the main thread and is replaced.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckPool } from '../src/collector/check-pool.js';
import { checkReport, type CheckLimits } from '../src/collector/checks.js';
import { reportSchemas } from '../src/collector/schema.js';
import { loadSodium, type SodiumApi } from '../src/crypto/sodium.js';
import { fakeHub, reportBytes, signedReport, signedReportV2 } from './helpers/collector.js';
import { ROOT, tempDir } from './helpers/hub.js';

const WORKER = pathToFileURL(join(ROOT, 'dist', 'collector', 'check-worker.js'));
const limits: CheckLimits = { maxReportBytes: 16_384, maxWindowAgeDays: 14, maxFutureSeconds: 300 };
const schemas = reportSchemas();

describe('report checks on worker threads', () => {
  let sodium: SodiumApi;
  const pools: CheckPool[] = [];
  const dir = tempDir('hearth-checks-');

  beforeAll(async () => {
    sodium = await loadSodium();
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    dir.cleanup();
  });

  const pool = (opts: { threads: number; workerUrl?: URL; onRestart?: () => void }) => {
    const p = new CheckPool({ limits, now: () => NOW, sodium, schemas, ...opts, workerUrl: opts.workerUrl ?? WORKER });
    pools.push(p);
    return p;
  };
  const NOW = Date.parse('2026-06-01T12:00:00Z');

  function messages(): { topic: string; payload: Buffer }[] {
    const hub = fakeHub(sodium);
    const other = fakeHub(sodium);
    const v1 = signedReport(sodium, hub, { windowEndMs: NOW - 60_000 });
    const v2 = signedReportV2(sodium, hub, { category: 'device-health', windowEndMs: NOW - 120_000, answers: { reboots: { mechanism: '1bitmean', epsilon: 1, spent: 1, memo: false, bound: 10, bit: 1 } } });
    const forged = { ...v2, answers: { reboots: { ...v2.answers['reboots']!, bit: 0 } } };
    return [
      { topic: hub.topic, payload: reportBytes(v1) },
      { topic: hub.topic, payload: reportBytes(v2) },
      { topic: hub.topic, payload: Buffer.from(JSON.stringify(forged)) },
      { topic: other.topic, payload: reportBytes(v2) },
      { topic: hub.topic, payload: Buffer.from('{"v":2,') },
      { topic: hub.topic, payload: Buffer.from(JSON.stringify({ v: 2, note: 'x' })) },
      { topic: hub.topic, payload: Buffer.alloc(20_000, 'a') },
      { topic: hub.topic, payload: reportBytes(signedReport(sodium, hub, { windowEndMs: NOW + 3_600_000, windowMs: 60_000 })) },
    ];
  }

  it('gives the verdicts the inline checks give, many messages at once over two threads', async () => {
    const p = pool({ threads: 2 });
    expect(p.size).toBe(2);
    await new Promise((r) => setTimeout(r, 500)); // the threads load libsodium
    const batch = Array.from({ length: 25 }, () => messages()).flat();
    const inline = batch.map((m) => checkReport(m.payload, m.topic, NOW, limits, { sodium, schemas }));
    const threaded = await Promise.all(batch.map((m) => p.check(m.topic, m.payload)));
    expect(threaded).toEqual(inline);
    expect(threaded.slice(0, 8).map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'ok', 'bad-signature', 'topic-mismatch', 'malformed-json', 'schema', 'too-large', 'window-future']);
  });

  it('checks on the main thread what a dying thread held, and replaces the thread', async () => {
    // A worker that says it is ready and dies on its first batch.
    const dying = join(dir.path, 'dying-worker.mjs');
    writeFileSync(dying, "import { parentPort } from 'node:worker_threads';\nparentPort.postMessage({ ready: true });\nparentPort.on('message', () => process.exit(3));\n");
    let restarts = 0;
    const p = pool({ threads: 1, workerUrl: pathToFileURL(dying), onRestart: () => restarts++ });
    await new Promise((r) => setTimeout(r, 300));
    const batch = messages();
    const results = await Promise.all(batch.map((m) => p.check(m.topic, m.payload)));
    expect(results).toEqual(batch.map((m) => checkReport(m.payload, m.topic, NOW, limits, { sodium, schemas })));
    expect(restarts).toBeGreaterThanOrEqual(1);
    expect(p.size).toBe(1);
  });

  it('checks on the main thread when there is no compiled worker (running from sources)', async () => {
    const p = pool({ threads: 4, workerUrl: pathToFileURL(join(dir.path, 'absent.js')) });
    expect(p.size).toBe(0);
    const [m] = messages();
    expect((await p.check(m!.topic, m!.payload)).ok).toBe(true);
  });
});
