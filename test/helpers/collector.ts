/**
 * Test helpers for the collector: the compiled `hearth-collector` as a child process, its CLI, and
 * signed reports made with the hub's own signing code for hubs that exist only in the test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { SodiumApi } from '../../src/crypto/sodium.js';
import { CATEGORIES, METRICS, type Category } from '../../src/metrics/categories.js';
import { canonicalBytes } from '../../src/uplink/canonical.js';
import { newReportId, reportBytes, type ReportV1 } from '../../src/uplink/report.js';
import { signReportV2, type ReportV2 } from '../../src/uplink/report-v2.js';
import type { Answer } from '../../src/metrics/ldp/answers.js';
import { reportTopic, type SigningKeys } from '../../src/uplink/identity.js';
import { baseEnv, ROOT } from './hub.js';

export const COLLECTOR_BIN = join(ROOT, 'bin', 'hearth-collector.js');

export interface CollectorProcess {
  proc: ChildProcess;
  httpPort: number;
  output(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  metrics(): Promise<Record<string, number>>;
}

export async function startCollectorProcess(args: { broker: string; database: string; instance: string; group?: string; extra?: string[]; env?: Record<string, string> }): Promise<CollectorProcess> {
  const proc = spawn(
    process.execPath,
    [COLLECTOR_BIN, 'start', '--broker', args.broker, '--database', args.database, '--http-port', '0', '--instance', args.instance, '--group', args.group ?? 'test', ...(args.extra ?? [])],
    { env: { ...baseEnv(), ...args.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /collector HTTP: http:\/\/[^:]+:(\d+)/.exec(out);
      if (m && out.includes('collector running')) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}:\n${out}`));
    });
  });
  // Ready: the database is migrated and the shared subscription is in place.
  const until = Date.now() + 20_000;
  while ((await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > until) throw new Error(`collector not ready:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    httpPort,
    output: () => out,
    exited,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
    metrics: async () => parseMetrics(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()),
  };
}

/** Prometheus text to { 'name{labels}': value }. */
export function parseMetrics(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

export function collectorCli(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [COLLECTOR_BIN, ...args], { env: { ...baseEnv(), ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export interface FakeHub {
  pseudonym: string;
  keys: SigningKeys;
  topic: string;
}

export function fakeHub(sodium: SodiumApi): FakeHub {
  const pair = sodium.crypto_sign_keypair();
  const pseudonym = Buffer.from(sodium.randombytes_buf(16)).toString('hex');
  return { pseudonym, keys: { publicKey: pair.publicKey, privateKey: pair.privateKey }, topic: reportTopic(pseudonym) };
}

/**
 * A format 1 report (what hubs sent before format 2, still accepted), signed as the hub signed it:
 * Ed25519 over the canonical JSON without the signature. `values` default to 0 for every metric.
 */
export function signedReport(sodium: SodiumApi, hub: FakeHub, opts: { category?: Category; windowEndMs: number; windowMs?: number; values?: Record<string, number>; id?: string }): ReportV1 {
  const category = opts.category ?? CATEGORIES[2];
  const specs = METRICS[category];
  const unsigned: Omit<ReportV1, 'signature'> = {
    v: 1,
    id: opts.id ?? newReportId(sodium),
    hub: hub.pseudonym,
    key: Buffer.from(hub.keys.publicKey).toString('base64'),
    category,
    window: { start: Math.floor((opts.windowEndMs - (opts.windowMs ?? 86_400_000)) / 1000), end: Math.floor(opts.windowEndMs / 1000) },
    metrics: Object.fromEntries(specs.map((m) => [m.name, opts.values?.[m.name] ?? 0])),
    privacy: { mechanism: 'discrete-laplace', epsilon: 0.5, bounds: Object.fromEntries(specs.map((m) => [m.name, m.bound])) },
  };
  return { ...unsigned, signature: Buffer.from(sodium.crypto_sign_detached(canonicalBytes(unsigned), hub.keys.privateKey)).toString('base64') };
}

/** A format 2 report with the given answers, signed as the hub signs it. */
export function signedReportV2(sodium: SodiumApi, hub: FakeHub, opts: { category: Category; windowEndMs: number; answers: Record<string, Answer>; id?: string }): ReportV2 {
  const spent = Object.values(opts.answers).reduce((s, a) => s + a.spent, 0);
  return signReportV2(sodium, hub.keys.privateKey, {
    v: 2,
    id: opts.id ?? newReportId(sodium),
    hub: hub.pseudonym,
    key: Buffer.from(hub.keys.publicKey).toString('base64'),
    category: opts.category,
    window: { start: Math.floor((opts.windowEndMs - 86_400_000) / 1000), end: Math.floor(opts.windowEndMs / 1000) },
    answers: opts.answers,
    privacy: { daily_epsilon: 1, spent },
  });
}

export { reportBytes };
