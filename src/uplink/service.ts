/**
 * The uplink as one hub service: a scheduler that closes report windows as they end, and (when an
 * upstream URL is configured) the client that forwards the outbox. Built from the vault's parts
 * and the config; the clock, noise randomness, privacy gate and send hooks are injectable.
 */
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { IClientOptions } from 'mqtt';
import type { HearthConfig } from '../config/config.js';
import { ConsentStore } from '../consent/consent.js';
import type { Sealer } from '../crypto/sealer.js';
import type { SodiumApi } from '../crypto/sodium.js';
import type { Logger } from '../log/logger.js';
import type { RandomSource } from '../metrics/dp.js';
import type { DomainBus } from '../bus/bus.js';
import type { Db } from '../store/database.js';
import { UplinkClient, type BackoffOptions, type SendHooks } from './client.js';
import { reportTopic } from './identity.js';
import { PrivacyLedger } from './ledger.js';
import { Outbox } from './outbox.js';
import { openGate, type PrivacyGate } from './privacy-gate.js';
import { ReportValidator } from './report.js';
import { Reporter, type ClosedWindow } from './reporter.js';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface UplinkServiceOptions {
  db: Db;
  sealer: Sealer;
  sodium: SodiumApi;
  config: HearthConfig;
  logger: Logger;
  clock?: Clock;
  gate?: PrivacyGate;
  hooks?: SendHooks[];
  /** Only tests pass this; otherwise libsodium's CSPRNG. */
  random?: RandomSource;
  /** How often to check whether a window has ended and whether the outbox has new reports. */
  checkIntervalMs?: number;
  backoff?: BackoffOptions;
}

export class UplinkConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UplinkConfigError';
  }
}

export class UplinkService {
  readonly name = 'uplink';
  readonly reporter: Reporter;
  readonly client: UplinkClient | undefined;
  private readonly clock: Clock;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  /** Told how many reports each window this service closed queued. */
  onWindowClosed: (queued: number) => void = () => {};

  constructor(private readonly opts: UplinkServiceOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ component: 'uplink' });
    this.reporter = new Reporter({ db: opts.db, sealer: opts.sealer, sodium: opts.sodium, config: opts.config.uplink, logger: this.log, random: opts.random });
    const url = opts.config.uplink.url;
    this.client = url
      ? new UplinkClient({
          url,
          clientId: `hearth-${this.reporter.pseudonym}`,
          topic: reportTopic(this.reporter.pseudonym),
          publicKey: this.reporter.keys.publicKey,
          sodium: opts.sodium,
          connectOptions: readConnectOptions(opts.config),
          db: opts.db,
          outbox: new Outbox(opts.db),
          ledger: new PrivacyLedger(opts.db),
          consent: new ConsentStore(opts.db),
          validator: new ReportValidator(),
          gate: opts.gate ?? openGate,
          logger: opts.logger,
          now: () => this.clock.now(),
          backoff: opts.backoff,
          hooks: opts.hooks,
        })
      : undefined;
  }

  start(): void {
    this.reporter.ensureWindowOpen(this.clock.now());
    this.client?.start();
    if (!this.client) this.log.info('no uplink URL configured; reports queue in the outbox and nothing is sent');
    const interval = this.opts.checkIntervalMs ?? Math.min(60_000, this.reporter.windowMs);
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.client?.stop();
  }

  /** Closes windows that have ended and sends what is queued. Called by the timer; callable by tests. */
  tick(): ClosedWindow[] {
    let closed: ClosedWindow[] = [];
    try {
      closed = this.reporter.closeDueWindows(this.clock.now());
      for (const w of closed) {
        const queued = w.outcomes.filter((o) => o.status === 'queued').length;
        if (queued > 0) this.log.info('report window closed', { count: queued });
        this.onWindowClosed(queued);
      }
    } catch (err) {
      this.log.error('could not close the report window', { code: (err as { code?: string }).code ?? (err as Error).name });
    }
    this.client?.wake();
    return closed;
  }

  /** Closes the open window now (what `hearth report now` does from the CLI). */
  closeNow(): ClosedWindow | undefined {
    const closed = this.reporter.closeWindow(this.clock.now());
    if (closed) this.onWindowClosed(closed.outcomes.filter((o) => o.status === 'queued').length);
    this.client?.wake();
    return closed;
  }

  /** Something else (e.g. the CLI) changed the database: look for new reports to send. */
  wake(): void {
    this.client?.wake();
  }

}

/** Reads the upstream password and TLS material named in the config from the data dir. */
export function readConnectOptions(config: HearthConfig): Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> {
  const u = config.uplink;
  const file = (name: string, path: string | null): Buffer | undefined => {
    if (path === null) return undefined;
    const full = isAbsolute(path) ? path : resolve(config.dataDir, path);
    try {
      return readFileSync(full);
    } catch (err) {
      throw new UplinkConfigError(`cannot read the uplink ${name} file ${full} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const out: Pick<IClientOptions, 'username' | 'password' | 'ca' | 'cert' | 'key'> = {};
  if (u.username !== null) out.username = u.username;
  const password = file('password', u.passwordFile);
  if (password) out.password = password.toString('utf8').replace(/\r?\n$/, '');
  const ca = file('CA', u.caFile);
  if (ca) out.ca = ca;
  const cert = file('client certificate', u.certFile);
  const key = file('client key', u.keyFile);
  if ((cert === undefined) !== (key === undefined)) throw new UplinkConfigError('uplink.certFile and uplink.keyFile must be given together');
  if (cert && key) {
    out.cert = cert;
    out.key = key;
  }
  if (u.url?.startsWith('mqtt://') && !isLoopbackUrl(u.url) && (out.password !== undefined || key)) {
    throw new UplinkConfigError('refusing to send uplink credentials over plain mqtt:// to another host; use mqtts://');
  }
  return out;
}

/**
 * Whether the URL's host is this machine: `localhost` or a loopback address literal (127.0.0.0/8,
 * ::1, or 127.x mapped into IPv6). A name that merely starts like one (127.0.0.1.example.net) is
 * another host.
 */
export function isLoopbackUrl(url: string): boolean {
  let host = new URL(url).hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) !== 6) return false;
  if (host === '::1') return true;
  // The URL parser writes a mapped address in hex: ::ffff:7f00:1 is 127.0.0.1.
  const mapped = /^::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}$/.exec(host);
  return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
}

const OWNER = 'uplink';

/**
 * Builds the service for the daemon, on its bus: it looks at the outbox again when consent changed
 * or another process (`hearth report now`) wrote, announces each send (the activity LED follows
 * them) and each window it closes. The gate is the hub's combined privacy gate (persistent flag
 * and hardware switch). `unload` takes its listeners off the bus.
 */
export function uplinkServiceOnBus(
  deps: { config: HearthConfig; logger: Logger; bus: DomainBus; vault: { db: Db; sealer: Sealer; sodium: SodiumApi } },
  gate: PrivacyGate,
): { service: UplinkService; unload(): Promise<void> } {
  const { bus } = deps;
  const hooks: SendHooks = {
    onSendStart: (reportId) => bus.emit('report.sending', { reportId }),
    onSendEnd: (reportId, ok) => bus.emit('report.sent', { reportId, ok }),
  };
  const service = new UplinkService({ db: deps.vault.db, sealer: deps.vault.sealer, sodium: deps.vault.sodium, config: deps.config, logger: deps.logger, gate, hooks: [hooks] });
  bus.on('store.external-change', OWNER, () => service.wake());
  bus.on('consent.changed', OWNER, () => service.wake());
  service.onWindowClosed = (queued) => bus.emit('report.window-closed', { queued, origin: 'local' });
  return {
    service,
    async unload() {
      bus.removeOwner(OWNER);
      await service.stop();
    },
  };
}
