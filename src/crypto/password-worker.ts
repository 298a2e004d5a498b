/**
 * Argon2id off the event loop, for the daemon. A hash costs tens of milliseconds on a PC and
 * several hundred on a Pi, and 19–64 MiB of WebAssembly memory that a WASM instance never gives
 * back. Run on the main thread, a reconnect storm would stall every PUBACK and the systemd
 * watchdog, and one admin login would add 64 MiB to the hub's memory for good. So hashes run in
 * one worker thread with its own libsodium instance, one at a time, and the worker is ended after
 * a while without work, which returns its memory to the system.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SodiumApi } from './sodium.js';
import { passwordCost, type PasswordCost } from './password.js';

/** CommonJS source of the worker: it needs nothing of the hub but libsodium. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodiumPath);
sodium.ready.then(() => {
  parentPort.on('message', (job) => {
    if (job.op === 'verify') {
      let ok = false;
      try { ok = sodium.crypto_pwhash_str_verify(job.hash, job.password); } catch { ok = false; }
      parentPort.postMessage({ id: job.id, ok });
    } else {
      try { parentPort.postMessage({ id: job.id, hash: sodium.crypto_pwhash_str(job.password, job.ops, job.mem) }); }
      catch { parentPort.postMessage({ id: job.id, error: 'hashing failed' }); }
    }
  });
  parentPort.postMessage({ ready: true });
});
`;

export class PasswordWorkerBusyError extends Error {
  constructor() {
    super('too many password checks waiting');
    this.name = 'PasswordWorkerBusyError';
  }
}

interface Pending {
  resolve(value: { ok?: boolean; hash?: string }): void;
  reject(err: Error): void;
}

export interface PasswordWorkerOptions {
  /** End the worker after this long without work (its memory goes back to the system). */
  idleMs?: number;
  /** Refuse new jobs beyond this many waiting: a flood must not queue without bound. */
  maxPending?: number;
}

export class PasswordWorker {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly idleMs: number;
  private readonly maxPending: number;
  private readonly sodiumPath = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo');

  constructor(
    private readonly sodium: SodiumApi,
    opts: PasswordWorkerOptions = {},
  ) {
    this.idleMs = opts.idleMs ?? 10_000;
    this.maxPending = opts.maxPending ?? 256;
  }

  async verify(hash: string, password: string): Promise<boolean> {
    const out = await this.run({ op: 'verify', hash, password });
    return out.ok === true;
  }

  async hash(password: string, cost: PasswordCost): Promise<string> {
    const [ops, mem] = passwordCost(this.sodium, cost);
    const out = await this.run({ op: 'hash', password, ops, mem });
    if (typeof out.hash !== 'string') throw new Error('password hashing failed');
    return out.hash;
  }

  /** Jobs waiting or running (for tests and the status page). */
  get queued(): number {
    return this.pending.size;
  }

  /** Whether a worker thread currently exists. */
  get running(): boolean {
    return this.worker !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopWorker(new Error('the password worker was closed'));
  }

  private run(job: Record<string, unknown>): Promise<{ ok?: boolean; hash?: string }> {
    if (this.closed) return Promise.reject(new Error('the password worker was closed'));
    if (this.pending.size >= this.maxPending) return Promise.reject(new PasswordWorkerBusyError());
    clearTimeout(this.idleTimer);
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...job, id });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodiumPath: this.sodiumPath } });
    worker.on('message', (m: { id?: number; ok?: boolean; hash?: string; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error));
      else p.resolve(m);
      if (this.pending.size === 0) this.scheduleIdleStop();
    });
    worker.on('error', (err) => {
      if (this.worker === worker) void this.stopWorker(err);
    });
    worker.on('exit', () => {
      // An exit we did not ask for (a crash): fail what it held. Ours went through stopWorker.
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new Error('the password worker stopped'));
    });
    // The worker never keeps the process alive on its own.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private scheduleIdleStop(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.pending.size === 0) void this.stopWorker();
    }, this.idleMs);
    this.idleTimer.unref();
  }

  private async stopWorker(err?: Error): Promise<void> {
    clearTimeout(this.idleTimer);
    const w = this.worker;
    this.worker = undefined;
    this.failAll(err ?? new Error('the password worker stopped'));
    if (w) await w.terminate();
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
