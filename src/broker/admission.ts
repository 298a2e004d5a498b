/**
 * Who may take the broker's resources, and how much: sockets before and after authentication,
 * a camera's connections, subscriptions and event rate, and the password checks strangers may
 * queue. Everything here is bounded, so a hostile host on the LAN can slow its own attempts down
 * but cannot keep an enrolled camera out or grow the hub's memory.
 */
import type { Socket } from 'node:net';
import { sourceKey } from '../net/source-key.js';

// --- sockets -----------------------------------------------------------------------------------

export interface AdmissionOptions {
  /** All sockets at once, waiting or authenticated (mqtt.maxConnections). */
  maxConnections: number;
  /**
   * Slots only authenticated cameras can hold: sockets that have not authenticated yet may take at
   * most maxConnections minus this many.
   */
  reservedForDevices: number;
  /**
   * Sockets not yet authenticated from one source (an IPv4 address or an IPv6 /64), enforced once
   * the waiting pool is half full: many cameras behind one address may all connect at once to a
   * quiet hub, a flood from one address cannot fill it.
   */
  maxWaitingPerSource: number;
  /** Connections one camera may hold at once (a reconnect may overlap the old socket's close). */
  maxConnectionsPerDevice: number;
}

export const DEFAULT_ADMISSION: Omit<AdmissionOptions, 'maxConnections'> = {
  reservedForDevices: 0, // filled in from maxConnections by admissionOptions()
  maxWaitingPerSource: 8,
  maxConnectionsPerDevice: 4,
};

/** A fifth of the slots (at least one) are kept for cameras that have authenticated. */
export function admissionOptions(maxConnections: number, overrides: Partial<AdmissionOptions> = {}): AdmissionOptions {
  const reserved = maxConnections > 1 ? Math.max(1, Math.floor(maxConnections / 5)) : 0;
  return { ...DEFAULT_ADMISSION, maxConnections, reservedForDevices: reserved, ...overrides };
}

type TicketState = 'waiting' | 'checking' | 'device';

/** One socket's standing with the broker, from accept to close. */
export interface Ticket {
  readonly socket: Socket;
  readonly source: string;
  state: TicketState | 'closed';
  /** The camera whose connection slot this socket holds (reserved before the password check). */
  deviceId?: string;
}

export type AdmitResult = { ok: true; ticket: Ticket; evicted?: Ticket } | { ok: false; reason: 'source_limit' | 'connection_limit' };

export class ConnectionAdmission {
  /** Sockets not yet authenticated, oldest first (a Map keeps insertion order). */
  private readonly waiting = new Map<Socket, Ticket>();
  private readonly waitingPerSource = new Map<string, number>();
  private authenticated = 0;
  private readonly perDevice = new Map<string, number>();

  constructor(readonly opts: AdmissionOptions) {}

  get waitingCount(): number {
    return this.waiting.size;
  }

  get authenticatedCount(): number {
    return this.authenticated;
  }

  /**
   * A socket was accepted. Refused when its source already has as many waiting sockets as it may;
   * otherwise, when the waiting pool is full, the socket that has waited longest (one that has not
   * even sent CONNECT first) is closed to make room: a camera's CONNECT arrives within
   * milliseconds, a flood's sockets sit idle.
   */
  admit(socket: Socket): AdmitResult {
    const source = sourceKey(socket.remoteAddress ?? 'unknown');
    const waitingCap = Math.max(1, this.opts.maxConnections - this.opts.reservedForDevices);
    const underPressure = this.waiting.size >= waitingCap / 2;
    if (underPressure && (this.waitingPerSource.get(source) ?? 0) >= this.opts.maxWaitingPerSource) return { ok: false, reason: 'source_limit' };
    let evicted: Ticket | undefined;
    if (this.waiting.size >= waitingCap || this.waiting.size + this.authenticated >= this.opts.maxConnections) {
      evicted = this.oldestWaiting();
      if (!evicted) return { ok: false, reason: 'connection_limit' };
      this.close(evicted);
      evicted.socket.destroy();
    }
    const ticket: Ticket = { socket, source, state: 'waiting' };
    this.waiting.set(socket, ticket);
    this.waitingPerSource.set(source, (this.waitingPerSource.get(source) ?? 0) + 1);
    return { ok: true, ticket, evicted };
  }

  /** The socket's CONNECT arrived: its password is being checked. */
  checking(ticket: Ticket): void {
    if (ticket.state === 'waiting') ticket.state = 'checking';
  }

  /**
   * Holds one of the camera's connection slots for this socket until it closes, taken the moment
   * its password passed, so simultaneous connects cannot all pass the count. False when the camera
   * has no slot left.
   */
  reserveDevice(ticket: Ticket, deviceId: string): boolean {
    if (ticket.state === 'closed') return false;
    if (ticket.deviceId !== undefined) return ticket.deviceId === deviceId;
    const n = this.perDevice.get(deviceId) ?? 0;
    if (n >= this.opts.maxConnectionsPerDevice) return false;
    this.perDevice.set(deviceId, n + 1);
    ticket.deviceId = deviceId;
    return true;
  }

  /** Gives the socket's camera slot back. */
  releaseDevice(ticket: Ticket): void {
    const id = ticket.deviceId;
    if (id === undefined) return;
    ticket.deviceId = undefined;
    const n = (this.perDevice.get(id) ?? 1) - 1;
    if (n > 0) this.perDevice.set(id, n);
    else this.perDevice.delete(id);
  }

  /** The camera authenticated: its socket leaves the waiting pool (it may use a reserved slot). */
  authenticate(ticket: Ticket): void {
    if (ticket.state === 'device' || !this.waiting.has(ticket.socket)) return;
    this.leaveWaiting(ticket);
    ticket.state = 'device';
    this.authenticated++;
  }

  /** The socket closed (any reason); idempotent. */
  close(ticket: Ticket): void {
    if (ticket.state === 'device') this.authenticated--;
    else if (this.waiting.has(ticket.socket)) this.leaveWaiting(ticket);
    ticket.state = 'closed';
    this.releaseDevice(ticket);
  }

  private leaveWaiting(ticket: Ticket): void {
    this.waiting.delete(ticket.socket);
    const n = (this.waitingPerSource.get(ticket.source) ?? 1) - 1;
    if (n > 0) this.waitingPerSource.set(ticket.source, n);
    else this.waitingPerSource.delete(ticket.source);
  }

  private oldestWaiting(): Ticket | undefined {
    let checking: Ticket | undefined;
    for (const t of this.waiting.values()) {
      if (t.state === 'waiting') return t;
      checking ??= t;
    }
    return checking;
  }
}

// --- subscriptions -------------------------------------------------------------------------------

/** Filters one client may hold: a camera needs one or two under its own cmd/ topic. */
export const MAX_FILTERS_PER_CLIENT = 16;

/**
 * Counts a client's subscription filters, including those accepted earlier in the same SUBSCRIBE
 * packet (aedes authorizes every filter of a packet before adding any) and those restored from a
 * persistent session.
 */
export class SubscriptionCap {
  private readonly filters = new WeakMap<object, Set<string>>();

  constructor(private readonly max = MAX_FILTERS_PER_CLIENT) {}

  /** True when `topic` may be added for `client` (and it is then counted). */
  admit(client: object, topic: string): boolean {
    let set = this.filters.get(client);
    const restored = (client as { subscriptions?: Record<string, unknown> }).subscriptions ?? {};
    if (!set) this.filters.set(client, (set = new Set(Object.keys(restored))));
    if (set.has(topic)) return true;
    if (set.size >= this.max) return false;
    set.add(topic);
    return true;
  }

  /** Whether `topic` was admitted for `client` (and not removed since). */
  holds(client: object, topic: string): boolean {
    return this.filters.get(client)?.has(topic) === true;
  }

  removed(client: object, topics: readonly string[]): void {
    const set = this.filters.get(client);
    if (set) for (const t of topics) set.delete(t);
  }
}

/**
 * aedes stores a persistent session's SUBSCRIBE packet whole each time one of its filters is
 * granted, refused filters included (and restores them later without asking again). Only filters
 * `granted(client, topic)` confirms are stored.
 */
export function storeGrantedSubscriptionsOnly(persistence: object, granted: (client: object, topic: string) => boolean): void {
  type Add = (client: object, subs: { topic: string }[]) => Promise<void>;
  const p = persistence as { addSubscriptions: Add };
  const add = p.addSubscriptions.bind(persistence);
  p.addSubscriptions = (client, subs) => add(client, subs.filter((s) => granted(client, s.topic)));
}

/**
 * The session id a client's state is kept under. A clean session is namespaced by device and the
 * client's own id (and dropped at disconnect); a persistent one (clean=false) is one per camera,
 * whatever client id it sends, so a camera cannot leave any number of sessions behind in memory.
 */
export function sessionId(deviceId: string, clientId: string, clean: boolean): string {
  return clean ? `${deviceId}|${clientId}` : `${deviceId}|persistent`;
}

// --- event rate and quota ----------------------------------------------------------------------

export interface EventLimits {
  /** Sustained events per second one camera may send. */
  perSecond: number;
  /** Events it may send at once after a quiet spell. */
  burst: number;
  /** Events stored per camera in any rolling 24 hours. */
  perDay: number;
}

/** The defaults of mqtt.eventsPerSecond and mqtt.eventsPerDay (src/config). */
export const DEFAULT_EVENT_LIMITS: EventLimits = { perSecond: 500, burst: 5000, perDay: 2_000_000 };

export type EventVerdict = { ok: true } | { ok: false; reason: 'event_rate_limited' | 'event_quota_exceeded' };

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

interface Budget {
  tokens: number;
  at: number;
  /** Events counted per hour of the last 24 (ring indexed by hour number). */
  hours: number[];
  hourAt: number[];
}

/** A token bucket and a rolling-day count per camera; memory is one small record per enrolled camera. */
export class EventBudget {
  private readonly budgets = new Map<string, Budget>();

  constructor(
    private readonly limits: EventLimits = DEFAULT_EVENT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  take(deviceId: string): EventVerdict {
    const now = this.now();
    let b = this.budgets.get(deviceId);
    if (!b) this.budgets.set(deviceId, (b = { tokens: this.limits.burst, at: now, hours: Array(24).fill(0), hourAt: Array(24).fill(-1) }));
    b.tokens = Math.min(this.limits.burst, b.tokens + ((now - b.at) / 1000) * this.limits.perSecond);
    b.at = now;
    const hour = Math.floor(now / HOUR_MS);
    let day = 0;
    for (let i = 0; i < 24; i++) if (b.hourAt[i]! > hour - 24 && b.hourAt[i]! <= hour) day += b.hours[i]!;
    if (day >= this.limits.perDay) return { ok: false, reason: 'event_quota_exceeded' };
    if (b.tokens < 1) return { ok: false, reason: 'event_rate_limited' };
    b.tokens -= 1;
    const slot = hour % 24;
    if (b.hourAt[slot] !== hour) {
      b.hourAt[slot] = hour;
      b.hours[slot] = 0;
    }
    b.hours[slot]!++;
    return { ok: true };
  }

  forget(deviceId: string): void {
    this.budgets.delete(deviceId);
  }
}

// --- password checks -----------------------------------------------------------------------------

export class VerifyBusyError extends Error {
  constructor() {
    super('too many password checks waiting');
    this.name = 'VerifyBusyError';
  }
}

export interface VerifyQueueOptions {
  /** Checks handed to the password worker at once. */
  concurrency: number;
  /** Checks waiting in all; when full, a source with fewer waiting takes a place from the one with most. */
  maxWaiting: number;
  /** How long a successful login makes the same camera from the same source "known". */
  recentMs: number;
}

export const DEFAULT_VERIFY_QUEUE: VerifyQueueOptions = { concurrency: 2, maxWaiting: 256, recentMs: 7 * DAY_MS };

interface Job {
  source: string;
  run: () => Promise<boolean>;
  resolve(ok: boolean): void;
  reject(err: unknown): void;
}

/**
 * Schedules Argon2id checks fairly: a camera that logged in from the same source recently goes
 * first; everyone else is served round-robin by source (an IPv4 address or IPv6 /64), and when
 * the queue is full a source with fewer checks waiting takes the place of the newest check of the
 * source with the most. So a flood from many addresses delays a camera's first login by at most
 * one check per flooding source, cannot crowd it out, and the work done for strangers is bounded;
 * many cameras behind one address can still all log in at once.
 */
export class VerifyQueue {
  private readonly known: Job[] = [];
  private readonly strangers = new Map<string, Job[]>();
  private readonly perSource = new Map<string, number>();
  private waiting = 0;
  private running = 0;
  /** deviceId → source → time of the last successful login. */
  private readonly recent = new Map<string, Map<string, number>>();

  constructor(
    private readonly opts: VerifyQueueOptions = DEFAULT_VERIFY_QUEUE,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether this camera logged in from this source recently. */
  isKnown(deviceId: string, source: string): boolean {
    const at = this.recent.get(deviceId)?.get(source);
    return at !== undefined && this.now() - at <= this.opts.recentMs;
  }

  succeeded(deviceId: string, source: string): void {
    let m = this.recent.get(deviceId);
    if (!m) this.recent.set(deviceId, (m = new Map()));
    m.delete(source);
    m.set(source, this.now());
    // A camera logs in from one or two places; keep the latest few.
    while (m.size > 4) m.delete(m.keys().next().value as string);
  }

  forget(deviceId: string): void {
    this.recent.delete(deviceId);
  }

  submit(deviceId: string, source: string, run: () => Promise<boolean>): Promise<boolean> {
    const known = this.isKnown(deviceId, source);
    const mine = this.perSource.get(source) ?? 0;
    if (this.waiting >= this.opts.maxWaiting * (known ? 2 : 1)) {
      // Full: the source with the longest line gives up its newest check, if it has more than this one.
      if (known || !this.dropFromLongest(mine)) return Promise.reject(new VerifyBusyError());
    }
    return new Promise<boolean>((resolve, reject) => {
      const job: Job = { source, run, resolve, reject };
      this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
      this.waiting++;
      if (known) this.known.push(job);
      else {
        const q = this.strangers.get(source);
        if (q) q.push(job);
        else this.strangers.set(source, [job]);
      }
      this.pump();
    });
  }

  private dropFromLongest(than: number): boolean {
    let longest: Job[] | undefined;
    for (const q of this.strangers.values()) if (!longest || q.length > longest.length) longest = q;
    if (!longest || longest.length <= than + 1) return false;
    const job = longest.pop()!;
    this.waiting--;
    const n = (this.perSource.get(job.source) ?? 1) - 1;
    if (n > 0) this.perSource.set(job.source, n);
    else this.perSource.delete(job.source);
    job.reject(new VerifyBusyError());
    return true;
  }

  /** Checks waiting or running (for tests). */
  get size(): number {
    return this.waiting + this.running;
  }

  private next(): Job | undefined {
    const k = this.known.shift();
    if (k) return k;
    const first = this.strangers.entries().next();
    if (first.done) return undefined;
    const [source, q] = first.value;
    const job = q.shift()!;
    // Round-robin: this source goes to the back of the line.
    this.strangers.delete(source);
    if (q.length > 0) this.strangers.set(source, q);
    return job;
  }

  private pump(): void {
    while (this.running < this.opts.concurrency) {
      const job = this.next();
      if (!job) return;
      this.waiting--;
      this.running++;
      const finish = () => {
        this.running--;
        const n = (this.perSource.get(job.source) ?? 1) - 1;
        if (n > 0) this.perSource.set(job.source, n);
        else this.perSource.delete(job.source);
        this.pump();
      };
      job.run().then(
        (ok) => {
          finish();
          job.resolve(ok);
        },
        (err: unknown) => {
          finish();
          job.reject(err);
        },
      );
    }
  }
}
