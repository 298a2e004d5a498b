/**
 * From the broker to the database. Each process opens `connections` MQTT 5 sessions on the shared
 * subscription `$share/<group>/hearth/v1/reports/+` at QoS 1: a report's PUBACK goes out only after
 * the transaction that stores it (or counts its refusal) has committed, in order per connection,
 * with up to RECEIVE_MAXIMUM messages in flight on each (ordered-acks.ts).
 *
 * The sessions persist (clean start off, a session expiry) and are named after the process's
 * instance name: messages in flight to a process that dies stay with its session at the broker and
 * are delivered again when it comes back; a redelivered report that was already committed is found
 * by its id and acknowledged without being stored twice.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Logger } from '../log/logger.js';
import { LogThrottle } from '../log/throttle.js';
import { REPORT_TOPIC_FILTER, type CheckResult, type RefusalReason } from './checks.js';
import { CheckPool } from './check-pool.js';
import { readSecretFile, type CollectorConfig } from './config.js';
import { OrderedAcks, RECEIVE_MAXIMUM } from './ordered-acks.js';
import type { CollectorMetrics } from './metrics.js';
import type { ReportSchemas } from './schema.js';
import { addDays, dayOf, type CollectorStore, type StoreItem } from './store.js';

type Ack = () => void;

interface Batch {
  items: StoreItem[];
  itemAcks: Ack[];
  arrivals: number[];
  refused: RefusalReason[];
  refusedIds: (string | undefined)[];
  refusedAcks: Ack[];
  firstAt: number;
}

const SESSION_EXPIRY_SECONDS = 7 * 86_400;
const MAX_CONCURRENT_COMMITS = 2;

export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** Exponential backoff with full jitter: a crowd of collectors does not come back in step. */
export function backoffDelay(attempt: number, b: Backoff, random = Math.random): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(b.initialMs / 2 + random() * (cap - b.initialMs / 2));
}

export class Intake {
  private readonly clients: MqttClient[] = [];
  private batch: Batch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly commits = new Set<Promise<void>>();
  private flushWhenFree = false;
  private stopping = false;
  /** Reports in batches being committed (or waiting for a commit slot). */
  private committing = 0;
  private readonly throttle = new LogThrottle(1000);
  private readonly connected = new Set<MqttClient>();
  private readonly subscribed = new Set<MqttClient>();
  /** Reports received and being checked (on a worker thread). */
  private checking = 0;
  private readonly checks: CheckPool;

  constructor(
    private readonly deps: {
      config: CollectorConfig;
      store: CollectorStore;
      sodium: SodiumApi;
      schemas: ReportSchemas;
      metrics: CollectorMetrics;
      logger: Logger;
      now?: () => number;
      brokerBackoff?: Backoff;
      databaseBackoff?: Backoff;
    },
  ) {
    const { config } = deps;
    this.checks = new CheckPool({
      threads: config.checkThreads,
      limits: config,
      now: () => this.now(),
      sodium: deps.sodium,
      schemas: deps.schemas,
      onRestart: () => {
        deps.metrics.checkThreadRestarts++;
        deps.logger.warn('a report check thread stopped; replaced');
      },
    });
    deps.metrics.checkThreads = this.checks.size;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  get brokerConnected(): number {
    return this.connected.size;
  }

  /** Connections whose session holds the shared subscription (ready to receive). */
  get brokerSubscribed(): number {
    return this.subscribed.size;
  }

  start(): void {
    const { config } = this.deps;
    const base: IClientOptions = {
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS, receiveMaximum: RECEIVE_MAXIMUM },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false, // done on every connect below
    };
    if (config.brokerUsername) base.username = config.brokerUsername;
    if (config.brokerPasswordFile) base.password = readSecretFile(config.brokerPasswordFile);
    if (config.brokerCaFile) base.ca = readFileSync(config.brokerCaFile);
    if (config.brokerCertFile) base.cert = readFileSync(config.brokerCertFile);
    if (config.brokerKeyFile) base.key = readFileSync(config.brokerKeyFile);
    const backoff = this.deps.brokerBackoff ?? { initialMs: 500, maxMs: 30_000 };
    for (let k = 0; k < config.connections; k++) {
      const clientId = `hearth-collector-${config.group}-${config.instance}-${k}`;
      // The PUBACK is held (mqtt.js goes on to the next message at once) until the report is committed.
      let acks: OrderedAcks | undefined;
      const client = mqtt.connect(config.brokerUrl, {
        ...base,
        clientId,
        customHandleAcks: (topic, message, packet, done) => {
          if (acks && packet.messageId !== undefined) this.onMessage(topic, message, acks.hold(packet.messageId));
          done(0);
        },
      });
      acks = new OrderedAcks(client);
      let attempt = 0;
      client.on('connect', () => {
        attempt = 0;
        client.options.reconnectPeriod = backoff.initialMs;
        this.connected.add(client);
        this.deps.metrics.brokerConnections = this.connected.size;
        // Subscribed again on every connect, even when the broker kept the session: subscribing is
        // idempotent, and a broker restored from persistence may have lost shared subscriptions
        // (Mosquitto 2.0.11 does) while still reporting the session present.
        client.subscribe(`$share/${config.group}/${REPORT_TOPIC_FILTER}`, { qos: 1 }, (err, granted) => {
          if (err || !granted?.every((g) => g.qos === 1)) this.deps.logger.warn('subscribe failed', { clientId, code: err?.message ?? 'not granted' });
          else if (this.connected.has(client)) this.subscribed.add(client);
        });
        if (k === 0) this.deps.logger.info('connected to the broker', { url: redactUrl(config.brokerUrl), count: config.connections });
      });
      client.on('close', () => {
        this.subscribed.delete(client);
        if (this.connected.delete(client) && k === 0 && !this.stopping) this.deps.logger.warn('broker connection lost; reconnecting', { clientId });
        this.deps.metrics.brokerConnections = this.connected.size;
        client.options.reconnectPeriod = backoffDelay(attempt++, backoff);
      });
      client.on('error', (err) => {
        if (this.throttle.shouldLog(`broker-error-${k}`) >= 0 && k === 0) this.deps.logger.warn('broker error', { code: (err as { code?: string | number }).code ?? err.message });
      });
      this.clients.push(client);
    }
  }

  /** Runs the stateless checks (on a worker thread when there are some); the report then waits for its batch's transaction. */
  private onMessage(topic: string, payload: Buffer, ack: Ack): void {
    if (this.stopping) return; // not acknowledged: the broker keeps it for this session
    const { metrics } = this.deps;
    metrics.received++;
    metrics.pending++;
    this.checking++;
    void this.checks.check(topic, payload).then((res) => {
      this.checking--;
      this.place(res, ack);
    });
  }

  private place(res: CheckResult, ack: Ack): void {
    const { config } = this.deps;
    const now = this.now();
    const b = (this.batch ??= { items: [], itemAcks: [], arrivals: [], refused: [], refusedIds: [], refusedAcks: [], firstAt: now });
    if (res.ok) {
      b.items.push(res.checked);
      b.itemAcks.push(ack);
      b.arrivals.push(now);
    } else {
      b.refused.push(res.reason);
      b.refusedIds.push(res.id);
      b.refusedAcks.push(ack);
    }
    const batched = b.items.length + b.refused.length;
    // Once every connection's in-flight window is in our hands nothing more can arrive, so waiting
    // for the timer would only add latency.
    if (batched >= config.batchMaxReports || batched + this.committing >= this.connected.size * RECEIVE_MAXIMUM) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), config.batchMaxDelayMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const b = this.batch;
    if (!b) return;
    if (this.commits.size >= MAX_CONCURRENT_COMMITS) {
      // Every commit slot is busy: keep filling this batch, it goes when a slot frees.
      this.flushWhenFree = true;
      return;
    }
    this.batch = undefined;
    this.deps.logger.debug('batch', { count: b.items.length + b.refused.length, committing: this.committing, connections: this.connected.size });
    const size = b.items.length + b.refused.length;
    this.committing += size;
    const p = this.commitWithRetry(b).finally(() => {
      this.committing -= size;
      this.commits.delete(p);
      const waiting = this.batch ? this.batch.items.length + this.batch.refused.length : 0;
      if (this.flushWhenFree || (waiting && waiting + this.committing >= this.connected.size * RECEIVE_MAXIMUM)) {
        this.flushWhenFree = false;
        this.flush();
      }
    });
    this.commits.add(p);
  }

  private async commitWithRetry(b: Batch): Promise<void> {
    const { store, metrics, logger } = this.deps;
    const backoff = this.deps.databaseBackoff ?? { initialMs: 200, maxMs: 30_000 };
    for (let attempt = 0; ; attempt++) {
      try {
        const days = b.items.map((it) => it.day).sort();
        if (days.length) await store.ensurePartitions(days[0]!, days[days.length - 1]!);
        const now = this.now();
        const outcomes = await store.commitBatch(b.items, b.refused, now);
        metrics.databaseUp = true;
        metrics.batches++;
        let oldestWindowEnd = Infinity;
        outcomes.forEach((o, i) => {
          const report = b.items[i]!.report;
          if (o === 'stored') {
            metrics.stored++;
            oldestWindowEnd = Math.min(oldestWindowEnd, report.window.end);
          } else if (o === 'duplicate-id') {
            metrics.duplicates++;
            metrics.refuse(o);
          } else {
            metrics.refuse(o);
            this.logRefusal(o, report.id);
          }
        });
        b.refused.forEach((r, i) => {
          metrics.refuse(r);
          this.logRefusal(r, b.refusedIds[i]);
        });
        metrics.lagSeconds = (now - Math.min(b.firstAt, ...b.arrivals)) / 1000;
        if (oldestWindowEnd !== Infinity) metrics.reportAgeSeconds = now / 1000 - oldestWindowEnd;
        for (const ack of b.itemAcks) ack();
        for (const ack of b.refusedAcks) ack();
        metrics.pending -= b.items.length + b.refused.length;
        return;
      } catch (e) {
        metrics.batchFailures++;
        metrics.databaseUp = false;
        if (this.throttle.shouldLog('db-error') >= 0) logger.warn('database write failed; retrying', { code: (e as { code?: string }).code ?? 'error', attempt });
        if (this.stopping && attempt >= 2) {
          // Not acknowledged: the broker delivers these again to this instance's sessions.
          metrics.pending -= b.items.length + b.refused.length;
          return;
        }
        await new Promise((r) => setTimeout(r, backoffDelay(attempt, backoff)));
      }
    }
  }

  private logRefusal(reason: RefusalReason, id: string | undefined): void {
    const suppressed = this.throttle.shouldLog(`refused-${reason}`);
    if (suppressed >= 0) this.deps.logger.info('report refused', { reason, reportId: id ?? 'none', count: suppressed + 1 });
  }

  /** Stops taking messages, commits what was received, acknowledges it, then disconnects. */
  async stop(deadlineMs = 10_000): Promise<void> {
    this.stopping = true;
    this.flush();
    const until = Date.now() + deadlineMs;
    while ((this.commits.size || this.batch || this.checking) && Date.now() < until) {
      if (this.batch && this.commits.size < MAX_CONCURRENT_COMMITS) this.flush(); await Promise.race([...this.commits, new Promise((r) => setTimeout(r, 50))]);
    }
    // Give the last PUBACKs a moment to be written before the sockets close.
    await Promise.all(this.clients.map((c) => new Promise<void>((resolve) => c.end(false, {}, () => resolve()))).map((p) => Promise.race([p, new Promise((r) => setTimeout(r, 2000))])));
    this.connected.clear();
    this.deps.metrics.brokerConnections = 0;
    await this.checks.close();
  }
}

/** A URL as it may appear in a log: scheme, host and port only. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'invalid';
  }
}

/** The days a report may belong to now: its window ended at most maxAge days ago, at most maxFuture seconds ahead. */
export function acceptedDays(nowMs: number, maxWindowAgeDays: number, maxFutureSeconds: number): { from: string; to: string } {
  return { from: addDays(dayOf(nowMs), -maxWindowAgeDays - 1), to: dayOf(nowMs + maxFutureSeconds * 1000) };
}
