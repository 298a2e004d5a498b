/**
 * The stateless report checks spread over worker threads. The Ed25519 check is about half of a
 * report's CPU in the collector, and a process otherwise checks on one core only: with
 * `checkThreads` workers it uses that many more. Messages arriving in one turn of the event loop
 * go to the threads as one batch each (a message to a thread costs about as much as a JSON parse).
 * A worker that dies has its batches checked on the main thread and is replaced; with no workers
 * (0 threads, or no compiled worker file when running from sources) every check runs on the main
 * thread.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { SodiumApi } from '../crypto/sodium.js';
import { checkReport, type CheckLimits, type CheckResult } from './checks.js';
import type { CheckJob, CheckJobDone } from './check-worker.js';
import type { ReportSchemas } from './schema.js';

interface Waiting {
  topic: string;
  payload: Uint8Array;
  resolve(r: CheckResult): void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Waiting[]>;
}

const WORKER_URL = new URL('./check-worker.js', import.meta.url);

export class CheckPool {
  private readonly threads: Thread[] = [];
  private queue: Waiting[] = [];
  private scheduled = false;
  private nextJob = 1;
  private closed = false;

  constructor(
    private readonly opts: { threads: number; limits: CheckLimits; now: () => number; sodium: SodiumApi; schemas: ReportSchemas; workerUrl?: URL; onRestart?: () => void },
  ) {
    const url = opts.workerUrl ?? WORKER_URL;
    const count = url.protocol === 'file:' && existsSync(fileURLToPath(url)) ? opts.threads : 0;
    for (let i = 0; i < count; i++) this.threads.push(this.spawn(url));
  }

  /** Worker threads (0: every check is made on the calling thread). */
  get size(): number {
    return this.threads.length;
  }

  /** Checks one message; the payload is copied, so the caller's buffer may be reused at once. */
  check(topic: string, payload: Buffer): Promise<CheckResult> {
    // Too large is decided here: such a payload is never copied to a thread.
    if (this.threads.length === 0 || payload.length > this.opts.limits.maxReportBytes) return Promise.resolve(this.inline(topic, payload));
    return new Promise((resolve) => {
      this.queue.push({ topic, payload: new Uint8Array(payload), resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.dispatch());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.dispatch();
    const threads = this.threads.splice(0);
    // Batches still out are finished here: nothing waits on a thread that is going away.
    for (const t of threads) for (const waiting of t.jobs.values()) this.finishInline(waiting);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }

  private inline(topic: string, payload: Uint8Array): CheckResult {
    const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    return checkReport(buf, topic, this.opts.now(), this.opts.limits, this.opts);
  }

  private finishInline(waiting: Waiting[]): void {
    for (const w of waiting) w.resolve(this.inline(w.topic, w.payload));
  }

  private dispatch(): void {
    this.scheduled = false;
    const waiting = this.queue;
    this.queue = [];
    if (waiting.length === 0) return;
    const ready = this.threads.filter((t) => t.ready);
    if (this.closed || ready.length === 0) return this.finishInline(waiting);
    // The turn's messages split over the ready threads, least busy first.
    ready.sort((a, b) => a.jobs.size - b.jobs.size);
    const per = Math.ceil(waiting.length / ready.length);
    const now = this.opts.now();
    for (let i = 0; i < ready.length && i * per < waiting.length; i++) {
      const part = waiting.slice(i * per, (i + 1) * per);
      const job: CheckJob = { id: this.nextJob++, now, limits: this.opts.limits, items: part.map((w) => ({ topic: w.topic, payload: w.payload })) };
      ready[i]!.jobs.set(job.id, part);
      // Copied, not transferred: if the thread dies, its batches are checked here from these.
      ready[i]!.worker.postMessage(job);
    }
  }

  private spawn(url: URL): Thread {
    const t: Thread = { worker: new Worker(url), ready: false, jobs: new Map() };
    t.worker.on('message', (m: CheckJobDone | { ready: true }) => {
      if ('ready' in m) {
        t.ready = true;
        return;
      }
      const waiting = t.jobs.get(m.id);
      if (!waiting) return;
      t.jobs.delete(m.id);
      waiting.forEach((w, i) => w.resolve(m.results[i]!));
    });
    const replace = () => {
      const i = this.threads.indexOf(t);
      if (i < 0) return; // closing, or already replaced
      for (const waiting of t.jobs.values()) this.finishInline(waiting);
      t.jobs.clear();
      this.opts.onRestart?.();
      this.threads[i] = this.spawn(url);
    };
    t.worker.on('error', replace);
    t.worker.on('exit', replace);
    t.worker.unref();
    return t;
  }
}
