/**
 * The connection upstream: one mqtt.js client at a time, publishing the outbox oldest first at
 * QoS 1, one report in flight, removing each only on PUBACK. Reconnection is ours, not mqtt.js's
 * (reconnectPeriod 0), so that nothing is ever re-sent behind the ledger's back: every publish
 * is preceded by a committed ledger row. Exponential backoff with full jitter between attempts.
 * While the privacy gate is paused there is no connection at all.
 */
import { randomInt } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { ConsentStore } from '../consent/consent.js';
import type { Logger } from '../log/logger.js';
import type { Db } from '../store/database.js';
import type { PrivacyLedger } from './ledger.js';
import type { Outbox, OutboxEntry } from './outbox.js';
import type { PrivacyGate } from './privacy-gate.js';
import type { SodiumApi } from '../crypto/sodium.js';
import { verifyReport, type Report, type ReportValidator } from './report.js';
import { limitIncomingPackets, MAX_INCOMING_PACKET_BYTES } from './packet-limit.js';

/**
 * mqtt.js is loaded when an uplink first connects: a hub without an upstream (the default) never
 * holds the client library in memory (about 2 MB resident).
 */
let mqttConnect: (typeof import('mqtt'))['connect'] | undefined;
async function loadMqtt(): Promise<void> {
  mqttConnect ??= (await import('mqtt')).connect;
}

export interface SendHooks {
  /** A report is about to be sent (e.g. light an LED). */
  onSendStart?(reportId: string): void;
  /** The send finished; ok is true when the broker acknowledged it. */
  onSendEnd?(reportId: string, ok: boolean): void;
}

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 5 * 60_000 };

/** A PUBACK that takes longer means a stuck connection: drop it and send again on a fresh one. */
export const PUBACK_TIMEOUT_MS = 30_000;

/** Full jitter: a uniformly random delay up to the exponentially growing cap. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: (maxExclusive: number) => number = randomInt): number {
  const cap = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.max(opts.initialMs / 4, random(Math.max(1, Math.floor(cap)) + 1));
}

export interface UplinkClientOptions {
  url: string;
  clientId: string;
  /** The only topic reports may go to, and the hub's own signing key: nothing else leaves. */
  topic: string;
  publicKey: Uint8Array;
  sodium: SodiumApi;
  /** Credentials and TLS material (already read from the data dir). */
  connectOptions: Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'>;
  db: Db;
  outbox: Outbox;
  ledger: PrivacyLedger;
  consent: ConsentStore;
  validator: ReportValidator;
  gate: PrivacyGate;
  logger: Logger;
  now: () => number;
  backoff?: BackoffOptions;
  hooks?: SendHooks[];
}

export class UplinkClient {
  private client: MqttClient | undefined;
  private connected = false;
  private draining = false;
  private stopped = true;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private offGate: (() => void) | undefined;
  private readonly backoff: BackoffOptions;
  private readonly hooks: SendHooks[];
  private readonly log: Logger;

  constructor(private readonly opts: UplinkClientOptions) {
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.hooks = opts.hooks ?? [];
    this.log = opts.logger.child({ component: 'uplink' });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.offGate = this.opts.gate.onChange((paused) => {
      if (paused) {
        this.log.info('privacy switch paused the uplink; disconnecting, reports keep queueing');
        this.disconnect();
      } else {
        this.log.info('privacy switch resumed the uplink');
        this.attempt = 0;
        this.connectNow();
      }
    });
    this.connectNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.offGate?.();
    this.offGate = undefined;
    this.disconnect();
  }

  /** New reports were queued (by this process or by the CLI): send them if connected. */
  wake(): void {
    void this.drain();
  }

  private connectNow(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stopped || this.client || this.opts.gate.isPaused()) return;
    if (!mqttConnect) {
      loadMqtt().then(
        () => this.connectNow(),
        (err: unknown) => this.log.error('the MQTT client library could not be loaded', { code: (err as { code?: string }).code ?? 'unknown' }),
      );
      return;
    }
    const c = mqttConnect(this.opts.url, {
      ...this.opts.connectOptions,
      clientId: this.opts.clientId,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      connectTimeout: 15_000,
      reconnectPeriod: 0,
      rejectUnauthorized: true,
    });
    this.client = c;
    // A hostile or broken upstream must not make the hub buffer a huge packet.
    limitIncomingPackets(c.stream, MAX_INCOMING_PACKET_BYTES, () => {
      this.log.warn('upstream sent a packet larger than the uplink accepts; disconnecting', { maxBytes: MAX_INCOMING_PACKET_BYTES });
      c.stream.destroy();
    });
    c.on('connect', () => {
      if (this.client !== c) return;
      this.connected = true;
      this.attempt = 0;
      this.log.info('connected upstream', { count: this.opts.outbox.size() });
      void this.drain();
    });
    c.on('error', (err) => {
      if (this.client !== c) return;
      this.log.warn('upstream connection error', { code: (err as { code?: string | number }).code ?? err.name });
    });
    c.on('close', () => {
      if (this.client !== c) return;
      this.dropClient();
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.opts.gate.isPaused() || this.reconnectTimer) return;
    const delayMs = backoffDelay(this.attempt++, this.backoff);
    this.log.info('upstream unavailable; retrying later', { attempt: this.attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectNow();
    }, delayMs);
    this.reconnectTimer.unref();
  }

  private disconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropClient();
  }

  private dropClient(): void {
    const c = this.client;
    this.client = undefined;
    this.connected = false;
    if (c) {
      c.removeAllListeners('close');
      c.on('error', () => {}); // late socket errors of a discarded client are of no interest
      c.end(true);
      this.closeWaiters.forEach((w) => w());
      this.closeWaiters.clear();
    }
  }

  private readonly closeWaiters = new Set<() => void>();

  /** Sends queued reports one at a time, oldest first, while connected and not paused. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.connected && !this.opts.gate.isPaused()) {
        const entry = this.opts.outbox.next();
        if (!entry) break;
        if (!this.mayLeave(entry)) continue;
        const ok = await this.send(entry);
        if (!ok) break;
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Last checks before bytes leave: consent still given, the payload still within the schema, of
   * the entry's category, to the hub's own topic, and signed by this hub.
   */
  private mayLeave(entry: OutboxEntry): boolean {
    if (!this.opts.consent.isEnabled(entry.category)) {
      this.opts.outbox.remove(entry.id);
      this.log.info('dropped a queued report whose category is no longer consented', { category: entry.category });
      return false;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(entry.payload.toString('utf8'));
    } catch {
      doc = undefined;
    }
    let problem = doc === undefined ? 'not JSON' : this.opts.validator.problem(doc);
    if (!problem) {
      const report = doc as Report;
      if (report.id !== entry.id || report.category !== entry.category) problem = 'does not match its outbox entry';
      else if (entry.topic !== this.opts.topic) problem = 'not addressed to the report topic';
      else if (!verifyReport(this.opts.sodium, report, this.opts.publicKey)) problem = 'not signed by this hub';
    }
    if (problem) {
      this.opts.outbox.remove(entry.id);
      this.log.error('refused to send a queued report that does not match the report schema', { category: entry.category, reason: problem });
      return false;
    }
    return true;
  }

  private async send(entry: OutboxEntry): Promise<boolean> {
    const c = this.client;
    if (!c) return false;
    // Recorded (committed) before the bytes are handed to the socket: nothing leaves unrecorded.
    this.opts.db.transaction(() => {
      this.opts.ledger.record(entry.id, entry.topic, entry.payload, this.opts.now());
      this.opts.outbox.markAttempt(entry.id);
    })();
    this.hooks.forEach((h) => safely(() => h.onSendStart?.(entry.id)));
    let ok = false;
    try {
      ok = await new Promise<boolean>((resolve) => {
        const onClose = () => resolve(false);
        this.closeWaiters.add(onClose);
        const timeout = setTimeout(() => {
          if (this.client !== c) return;
          this.log.warn('no PUBACK in time; reconnecting');
          this.dropClient();
          this.scheduleReconnect();
        }, PUBACK_TIMEOUT_MS);
        c.publish(entry.topic, entry.payload, { qos: 1 }, (err) => {
          clearTimeout(timeout);
          this.closeWaiters.delete(onClose);
          resolve(!err);
        });
      });
      if (ok) this.opts.outbox.remove(entry.id);
      else this.log.warn('report not acknowledged; it stays queued', { category: entry.category });
    } finally {
      this.hooks.forEach((h) => safely(() => h.onSendEnd?.(entry.id, ok)));
    }
    return ok;
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    /* an indicator failing must not stop reports */
  }
}
