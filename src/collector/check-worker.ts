/**
 * A worker thread of the check pool (check-pool.ts): runs the stateless report checks (JSON,
 * schema, topic, window, Ed25519 signature) on batches of payloads with its own libsodium and
 * schema validator, so a collector process verifies on more than one core. Nothing but the pure checks.
 */
import { parentPort } from 'node:worker_threads';
import { loadSodium } from '../crypto/sodium.js';
import { checkReport, type CheckLimits, type CheckResult } from './checks.js';
import { reportSchemas } from './schema.js';

export interface CheckJob {
  id: number;
  now: number;
  limits: CheckLimits;
  items: { topic: string; payload: Uint8Array }[];
}

export interface CheckJobDone {
  id: number;
  results: CheckResult[];
}

const port = parentPort;
if (!port) throw new Error('check-worker runs as a worker thread only');
const deps = { sodium: await loadSodium(), schemas: reportSchemas() };
port.on('message', (job: CheckJob) => {
  const results = job.items.map((it) => checkReport(Buffer.from(it.payload.buffer, it.payload.byteOffset, it.payload.byteLength), it.topic, job.now, job.limits, deps));
  port.postMessage({ id: job.id, results } satisfies CheckJobDone);
});
port.postMessage({ ready: true });
