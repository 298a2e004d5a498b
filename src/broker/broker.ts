/**
 * The embedded MQTT broker (aedes over TCP). Every client authenticates as an enrolled camera;
 * it may publish only to its own status/event topics and subscribe only to its own commands.
 * Payloads are validated here and handed to the ingest sink; a QoS 1/2 publish is acknowledged
 * only when the sink reports the record committed (group commit), so a PUBACK means "on disk".
 */
import { Aedes, type Client, type AedesPublishPacket, type Subscription } from 'aedes';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import mqttPacket from 'mqtt-packet';
import type { Duplex, Writable } from 'node:stream';
import type { Packet } from 'mqtt-packet';
import { VerifiedSecretCache } from '../crypto/password.js';
import { PasswordWorkerBusyError } from '../crypto/password-worker.js';
import type { Logger } from '../log/logger.js';
import { LogThrottle } from '../log/throttle.js';
import { deviceAuthFailedCounter, type Counters } from '../store/counters.js';
import type { Done } from '../store/group-commit.js';
import { isAllowedSubscription, isValidDeviceId, parseEvent, parsePublishTopic, parseStatus } from '../devices/camera/protocol.js';
import type { CameraRecord } from '../devices/camera/store.js';
import type { MqttDeviceSink, PublishVerdict } from '../devices/kind.js';
import { AEDES_OPTIONS } from './aedes-options.js';
import { admissionOptions, ConnectionAdmission, DEFAULT_EVENT_LIMITS, EventBudget, sessionId, storeGrantedSubscriptionsOnly, SubscriptionCap, VerifyBusyError, VerifyQueue, type AdmissionOptions, type EventLimits, type Ticket } from './admission.js';
import { sourceKey } from '../net/source-key.js';
import { AuthThrottle } from './auth-throttle.js';
import { BrokerError, brokerErrorCode, type BrokerErrorCode } from './errors.js';
import { assertBrokerInternals } from './internals.js';

export interface BrokerDeps {
  /** Checks a secret against its Argon2id hash off the event loop (see PasswordWorker). */
  verifySecret(hash: string, secret: string): Promise<boolean>;
  logger: Logger;
  counters: Counters;
  /** Argon2id hash of an enrolled camera's secret, or undefined for anything else. */
  cameraSecretHash(deviceId: string): string | undefined;
  /**
   * Stores a record; `done` runs with null once it is committed, or, if its batch failed, with the
   * error publishNotStored() made for that batch.
   */
  ingest(record: CameraRecord, done?: Done): void;
  /** Devices that speak their own firmware's topics (camera profiles): their rules and interpreter. */
  firmware?: Pick<MqttDeviceSink<CameraRecord>, 'interpretPublish' | 'authorizeSubscribe' | 'tracksConnection' | 'acceptsImages'>;
  /** An account that is not a device (Home Assistant), looked up at each login; undefined if none. */
  principal?(username: string): BrokerPrincipal | undefined;
  now?: () => number;
}

/** A non-device account: its Argon2id password hash and what it may publish and subscribe to. */
export interface BrokerPrincipal {
  secretHash: string;
  mayPublish(topic: string): boolean;
  maySubscribe(filter: string): boolean;
}

export interface BrokerOptions {
  host: string;
  port: number;
  maxPayloadBytes: number;
  maxConnections: number;
  /** Lets a protocol adapter (e.g. for MQTT 5) sit between the socket and aedes. */
  attachConnection?: (socket: Socket, handle: (stream: Duplex) => Client) => void;
  /** Overrides of the socket and per-camera connection limits (src/broker/admission.ts). */
  admission?: Partial<AdmissionOptions>;
  /** Overrides of the per-camera event rate and daily quota. */
  eventLimits?: Partial<EventLimits>;
  /** Also serve MQTT over TLS on this port with this key and certificate (PEM). */
  tls?: { port: number; key: Buffer; cert: Buffer };
}

/** A TLS handshake that has not finished by then is dropped (before it could hold a slot for long). */
const TLS_HANDSHAKE_TIMEOUT_MS = 5_000;

/** What the hub attaches to each aedes client once it authenticated. */
interface HubClient extends Client {
  deviceId?: string;
  /** Set instead of deviceId for a non-device account: its name and rules. */
  principal?: { username: string; rules: BrokerPrincipal };
  /** Set by a protocol adapter that can refuse a single publish without disconnecting (MQTT 5). */
  nackPublish?: (packet: AedesPublishPacket, reason: string) => boolean;
  /** Set by a protocol adapter that can tell the client why it is refused or closed (MQTT 5 reason codes). */
  explainRefusal?: (code: BrokerErrorCode) => void;
  /** Set by a protocol adapter with a packet cap of its own (MQTT 5): raise it for a camera that sends images. */
  allowLargePublishes?: (maxPacketBytes: number) => void;
  /** aedes' own flag: the client has been closed (its disconnect already emitted, if it had connected). */
  readonly closed: boolean;
}

/** A listening socket the hub could not open: which service, where, and the system's error code. */
export class ListenError extends Error {
  constructor(
    readonly service: 'mqtt' | 'mqtt-tls' | 'http',
    readonly host: string,
    readonly port: number,
    readonly code: string,
  ) {
    super(`${service === 'http' ? 'HTTP' : service === 'mqtt' ? 'MQTT' : 'MQTT over TLS'} port ${port} on ${host}: ${code}`);
    this.name = 'ListenError';
  }
}

const NO_PAYLOAD = Buffer.alloc(0);

/**
 * What a camera's publishes in a batch that could not be stored get (3.1.1: disconnection, so the
 * camera sends them again; MQTT 5: a negative PUBACK); counted, `waiting` of them at once.
 */
export function publishNotStored(counters: Counters, waiting: number): Error {
  counters.increment('mqtt.publish_failed.store', waiting);
  return new BrokerError('not_stored');
}

/** Refusals the broker counts (and logs) where it makes them; aedes reports them again as client errors. */
const COUNTED_WHERE_DECIDED: ReadonlySet<BrokerErrorCode> = new Set(['publish_refused', 'not_stored', 'not_authorized', 'connection_limit', 'server_busy']);

/** Longest MQTT topic accepted; camera topics are far shorter. */
const MAX_TOPIC_BYTES = 256;

/** The largest MQTT packet accepted from a camera: the payload cap plus a topic and headers. */
export function mqttPacketLimit(maxPayloadBytes: number): number {
  return maxPayloadBytes + MAX_TOPIC_BYTES + 64;
}
/**
 * Firmware that publishes snapshots (Frigate's retained JPEG per camera and label, Dafang's motion
 * JPEG, Thingino's base64 one) would be disconnected by the payload cap; for such devices an image
 * up to this size is read, counted and dropped instead (at QoS 0 a 3.1.1 client has no other way
 * to learn of a refusal). Over MQTT 5 a larger QoS 0 publish is skipped unread (the bridge).
 */
export const IMAGE_PAYLOAD_BYTES = 2 * 1024 * 1024;
const IMAGE_PACKET_BYTES = mqttPacketLimit(IMAGE_PAYLOAD_BYTES);
/** A camera needs one connection; a few allow for a reconnect overlapping the old socket's close. */
const MAX_CONNECTIONS_PER_DEVICE = 4;

export class HubBroker {
  readonly aedes: Aedes;
  private server: Server | undefined;
  private tlsServer: TlsServer | undefined;
  /** The MQTT-over-TLS port once listening (the configured one, or the one picked for port 0). */
  tlsPort: number | undefined;
  private readonly connections = new Map<string, Set<HubClient>>();
  private readonly principalClients = new Map<string, Set<HubClient>>();
  private readonly sockets = new Set<Socket>();
  private readonly secretCache = new VerifiedSecretCache();
  private readonly authThrottle: AuthThrottle;
  private readonly logThrottle = new LogThrottle();
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly admission: ConnectionAdmission;
  private readonly tickets = new WeakMap<Client, Ticket>();
  /** Publishes that reached the hub's checks since start (stored, refused or dropped). */
  private received = 0;
  private readonly subscriptionCap = new SubscriptionCap();
  private readonly eventBudget: EventBudget;
  private readonly verifyQueue: VerifyQueue;

  private constructor(
    aedes: Aedes,
    private readonly deps: BrokerDeps,
    private readonly opts: BrokerOptions,
  ) {
    this.aedes = aedes;
    this.now = deps.now ?? Date.now;
    this.log = deps.logger.child({ component: 'broker' });
    this.authThrottle = new AuthThrottle({}, this.now);
    this.admission = new ConnectionAdmission(admissionOptions(opts.maxConnections, opts.admission));
    this.eventBudget = new EventBudget({ ...DEFAULT_EVENT_LIMITS, ...opts.eventLimits }, this.now);
    this.verifyQueue = new VerifyQueue(undefined, this.now);
    storeGrantedSubscriptionsOnly((aedes as unknown as { persistence: object }).persistence, (c, topic) => this.subscriptionCap.holds(c, topic));
    aedes.authenticate = (client, username, password, cb) =>
      this.authenticate(client as HubClient, username, password, cb as (err: Error | null, ok: boolean) => void);
    aedes.authorizePublish = (client, packet, cb) => this.authorizePublish(client as HubClient | null, packet as AedesPublishPacket, cb);
    aedes.authorizeSubscribe = (client, sub, cb) => this.authorizeSubscribe(client as HubClient, sub, cb);
    this.terminateCameraPublishes(aedes);
    aedes.on('unsubscribe', (topics, client) => this.subscriptionCap.removed(client, topics));
    aedes.on('clientReady', (client) => this.onClientReady(client as HubClient));
    aedes.on('clientDisconnect', (client) => this.onClientGone(client as HubClient));
    aedes.on('clientReady', (client) => this.trackPrincipal(client as HubClient, true));
    aedes.on('clientDisconnect', (client) => this.trackPrincipal(client as HubClient, false));
    aedes.on('clientError', (client, err) => this.onClientError(client as HubClient, err));
    aedes.on('connectionError', (client, err) => this.onClientError(client as HubClient, err));
  }

  static async create(deps: BrokerDeps, opts: BrokerOptions): Promise<HubBroker> {
    const aedes = await Aedes.createBroker({ ...AEDES_OPTIONS });
    try {
      // Before anything is patched: a missing internal stops the start with a clear reason.
      assertBrokerInternals(aedes);
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw err;
    }
    // mqtt-packet otherwise pre-builds a Buffer for each of the 65,536 packet ids on its first write
    // (about 7 MB of heap kept for good); a 2-byte id written per PUBACK costs no measurable CPU.
    mqttPacket.writeToStream.cacheNumbers = false;
    installPubackFastPath();
    return new HubBroker(aedes, deps, opts);
  }

  /**
   * Starts serving. If the port cannot be had (in use, not permitted, no such address) it rejects
   * with a ListenError and closes the broker: aedes' timers would otherwise keep a process alive
   * that serves nothing.
   */
  async listen(): Promise<number> {
    const server = createServer({ noDelay: true }, (socket) => this.onSocket(socket));
    this.server = server;
    const port = await this.listenOn(server, 'mqtt', this.opts.port);
    const tls = this.opts.tls;
    if (tls) {
      // The same broker behind a TLS socket: admission, limits and the MQTT 5 adapter see a socket like any other.
      const secure = createTlsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS }, (socket) => {
        socket.setNoDelay(true);
        this.onSocket(socket);
      });
      secure.on('tlsClientError', () => this.deps.counters.increment('mqtt.tls_handshake_failed'));
      this.tlsServer = secure;
      try {
        this.tlsPort = await this.listenOn(secure, 'mqtt-tls', tls.port);
      } catch (err) {
        this.tlsServer = undefined;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        this.server = undefined;
        throw err;
      }
    }
    return port;
  }

  private listenOn(server: Server, service: 'mqtt' | 'mqtt-tls', port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const fail = (err: NodeJS.ErrnoException) => {
        this.aedes.close(() => reject(new ListenError(service, this.opts.host, port, err.code ?? 'unknown')));
      };
      server.once('error', fail);
      server.listen(port, this.opts.host, () => {
        server.off('error', fail);
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** Stop accepting connections, disconnect every client, close aedes. */
  async close(): Promise<void> {
    // server.close() waits for open connections, so close the clients (through aedes, which
    // publishes their wills and emits the disconnects) while it waits.
    const serverClosed = Promise.all(
      [this.server, this.tlsServer].map((s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()))),
    );
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await serverClosed;
  }

  /** Closes every connection of a device (removed, or its secret changed). */
  disconnectDevice(deviceId: string): number {
    this.secretCache.forget(deviceId);
    this.verifyQueue.forget(deviceId);
    const clients = [...(this.connections.get(deviceId) ?? [])];
    for (const c of clients) c.close();
    return clients.length;
  }

  /** A non-device account's connections, counted once connected (as cameras' are) and closed on revocation. */
  private trackPrincipal(client: HubClient, ready: boolean): void {
    const username = client.principal?.username;
    if (username === undefined) return;
    let set = this.principalClients.get(username);
    if (!ready) {
      if (set?.delete(client) && set.size === 0) this.principalClients.delete(username);
      return;
    }
    if (client.closed) return;
    if (!set) this.principalClients.set(username, (set = new Set()));
    set.add(client);
  }

  /** Closes every connection of a non-device account (its credential was revoked). */
  disconnectPrincipal(username: string): number {
    const clients = [...(this.principalClients.get(username) ?? [])];
    for (const c of clients) c.close();
    return clients.length;
  }

  /**
   * Publishes a message of the hub's own (Home Assistant discovery and state) to the clients
   * subscribed to it; resolves once aedes has handed it to them (and stored it, if retained).
   */
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void> {
    const packet = { cmd: 'publish', topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8'), qos: opts.qos, retain: opts.retain, dup: false } as AedesPublishPacket;
    return new Promise((resolve, reject) => this.aedes.publish(packet, (err?: Error) => (err ? reject(err) : resolve())));
  }

  /** Hears what non-device accounts publish (their rules already admitted it). */
  onPrincipalPublish(listener: (topic: string, payload: Buffer) => void): () => void {
    const handler = (packet: AedesPublishPacket, client: HubClient | null) => {
      if (client?.principal) listener(packet.topic, packet.payload as Buffer);
    };
    this.aedes.on('publish', handler as never);
    return () => this.aedes.removeListener('publish', handler as never);
  }

  connectedDeviceIds(): string[] {
    return [...this.connections.keys()];
  }

  isOnline(deviceId: string): boolean {
    return (this.connections.get(deviceId)?.size ?? 0) > 0;
  }

  /**
   * A camera's publish ends at the hub: authorizePublish admits only its own status/event topics
   * and has already handed the message to the store, and authorizeSubscribe lets nobody subscribe
   * to those topics. So routing it on through aedes (subscription match, offline queues, the
   * 'publish' event: several allocations and promises per message) could never deliver it to
   * anyone; it is skipped. Publishes without a camera ($SYS, the broker's own) route as usual.
   */
  private terminateCameraPublishes(aedes: Aedes): void {
    // aedes' typings declare publish(packet, done); internally it is publish(packet, client?, done).
    type Publish = (packet: AedesPublishPacket, client: HubClient | null | ((err?: Error) => void), done?: (err?: Error) => void) => void;
    const route = (aedes.publish as unknown as Publish).bind(aedes);
    const terminated: Publish = (packet, client, done) => {
      if (typeof client === 'object' && client?.deviceId !== undefined) return done?.();
      route(packet, client, done);
    };
    (aedes as unknown as { publish: Publish }).publish = terminated;
  }

  private onSocket(socket: Socket): void {
    const admitted = this.admission.admit(socket);
    if (!admitted.ok) {
      this.refuse(admitted.reason, 'too many connections');
      socket.destroy();
      return;
    }
    if (admitted.evicted) this.deps.counters.increment('mqtt.waiting_socket_evicted');
    const ticket = admitted.ticket;
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.admission.close(ticket);
    });
    socket.on('error', () => {}); // reported through aedes; an unhandled socket error would crash the hub
    const handle = (stream: Duplex): Client => {
      const client = this.aedes.handle(stream as never);
      this.tickets.set(client, ticket);
      this.limitPacketSize(client);
      return client;
    };
    if (this.opts.attachConnection) this.opts.attachConnection(socket, handle);
    else handle(socket);
  }

  /**
   * aedes' MQTT parser would buffer a packet of any announced length (up to 256 MB). Refuse, as
   * soon as the length is known, anything larger than a payload plus a topic plus headers.
   */
  private limitPacketSize(client: Client): void {
    const parser = (client as unknown as { _parser: ParserInternals })._parser;
    const limit = mqttPacketLimit(this.opts.maxPayloadBytes);
    const parseLength = parser._parseLength;
    const firmware = this.deps.firmware;
    parser._parseLength = function (this: ParserInternals) {
      const ok = parseLength.call(this);
      if (ok && this.packet.length > limit && !(this.packet.length <= IMAGE_PACKET_BYTES && acceptsImages(client as HubClient, firmware))) {
        this._emitError(new BrokerError('packet_too_large'));
        return false;
      }
      return ok;
    };
  }

  private authenticate(client: HubClient, username: string | undefined, password: Buffer | undefined, cb: (err: Error | null, ok: boolean) => void): void {
    // Throttled per source (an IPv4 address or an IPv6 /64) and account: guessing is per account,
    // and only known accounts cost an Argon2id check, so a source cannot lock out other cameras
    // behind the same NAT or proxy. The checks themselves are queued fairly (VerifyQueue).
    const from = sourceKey(remoteAddress(client));
    const source = `${from}|${username ?? ''}`;
    const ticket = this.tickets.get(client);
    if (ticket) this.admission.checking(ticket);
    const refuse = (reason: string) => {
      this.authThrottle.recordFailure(source);
      this.refuse('auth_refused', 'connection refused', { reason });
      cb(Object.assign(new BrokerError('not_authorized', reason), { returnCode: 5 }), false);
    };
    // Not a credentials problem: 3.1.1 gets "server unavailable" (3), MQTT 5 "quota exceeded".
    const refuseOverLimit = (username: string) => {
      this.refuse('auth_refused', 'connection refused', { deviceId: username, reason: 'device_connection_limit' });
      this.deps.counters.noteRefusal(username, 'device_connection_limit', this.now());
      client.explainRefusal?.('connection_limit');
      cb(Object.assign(new BrokerError('connection_limit'), { returnCode: 3 }), false);
    };
    if (this.authThrottle.retryAfterMs(source) > 0) {
      this.deps.counters.increment('mqtt.auth_throttled');
      return cb(Object.assign(new BrokerError('not_authorized', 'throttled'), { returnCode: 5 }), false);
    }
    if (!username || !password || password.length > 256) return refuse('bad_credentials_format');
    // A non-device account (its name can never be an enrolled device's id, `<prefix>-<12 hex>`).
    const rules = username.length <= 64 ? this.deps.principal?.(username) : undefined;
    if (rules) return this.authenticatePrincipal(client, username, password.toString('utf8'), rules, source, refuse, cb);
    if (!isValidDeviceId(username)) return refuse('bad_credentials_format');
    const secret = password.toString('utf8');
    const hash = this.deps.cameraSecretHash(username);
    if (!hash) return refuse('unknown_device');
    const accept = () => {
      // The camera's connection slot is taken here, synchronously, and counted from now until
      // the socket closes, so simultaneous connects cannot all pass the count (connections only
      // lists a client once aedes is done with its CONNECT). Taken after the password check, so
      // a stranger guessing at the account cannot hold the camera's slots.
      if (!ticket || !this.admission.reserveDevice(ticket, username)) return refuseOverLimit(username);
      this.authThrottle.recordSuccess(source);
      this.verifyQueue.succeeded(username, from);
      this.admission.authenticate(ticket);
      client.deviceId = username;
      // Before the CONNACK, which announces the cap to an MQTT 5 client.
      if (acceptsImages(client, this.deps.firmware)) client.allowLargePublishes?.(IMAGE_PACKET_BYTES);
      // Namespace the session id by device, so one camera can never take over another's session,
      // and keep at most one persistent session per camera.
      (client as { id: string }).id = sessionId(username, client.id, (client as { clean?: boolean }).clean !== false);
      cb(null, true);
    };
    // A camera reconnecting with the secret it used before costs an HMAC, not an Argon2id check.
    if (this.secretCache.matches(username, secret)) return accept();
    this.verifyQueue.submit(username, from, () => this.deps.verifySecret(hash, secret)).then(
      (ok) => {
        if (!ok) {
          this.deps.counters.increment(deviceAuthFailedCounter(username));
          this.deps.counters.noteRefusal(username, 'wrong_secret', this.now());
          return refuse('wrong_secret');
        }
        this.secretCache.remember(username, secret);
        accept();
      },
      (err: unknown) => {
        // Too many checks waiting (a flood from many addresses): "server unavailable", try later.
        const reason = err instanceof PasswordWorkerBusyError || err instanceof VerifyBusyError ? 'auth_busy' : 'auth_error';
        this.refuse('auth_refused', 'connection refused', { reason });
        cb(Object.assign(new BrokerError('server_busy', reason), { returnCode: 3 }), false);
      },
    );
  }

  /** A non-device account: its Argon2id check, then at most as many connections as a camera. */
  private authenticatePrincipal(client: HubClient, username: string, secret: string, rules: BrokerPrincipal, source: string, refuse: (reason: string) => void, cb: (err: Error | null, ok: boolean) => void): void {
    // Keyed by the hash too: a new credential is checked afresh, the old password no longer matches.
    const cacheKey = `${username}\u0000${rules.secretHash}`;
    const accept = () => {
      if ((this.principalClients.get(username)?.size ?? 0) >= MAX_CONNECTIONS_PER_DEVICE) {
        this.refuse('auth_refused', 'connection refused', { reason: 'principal_connection_limit' });
        client.explainRefusal?.('connection_limit');
        return cb(Object.assign(new BrokerError('connection_limit'), { returnCode: 3 }), false);
      }
      this.authThrottle.recordSuccess(source);
      client.principal = { username, rules };
      (client as { id: string }).id = `${username}|${client.id}`;
      cb(null, true);
    };
    if (this.secretCache.matches(cacheKey, secret)) return accept();
    this.deps.verifySecret(rules.secretHash, secret).then(
      (ok) => {
        if (!ok) return refuse('wrong_secret');
        this.secretCache.remember(cacheKey, secret);
        accept();
      },
      (err: unknown) => {
        const reason = err instanceof PasswordWorkerBusyError ? 'auth_busy' : 'auth_error';
        this.refuse('auth_refused', 'connection refused', { reason });
        cb(Object.assign(new BrokerError('server_busy', reason), { returnCode: 3 }), false);
      },
    );
  }

  publishesReceived(): number {
    return this.received;
  }

  private authorizePublish(client: HubClient | null, packet: AedesPublishPacket, cb: (err?: Error | null) => void): void {
    this.received++;
    if (client?.principal) {
      const size = Buffer.isBuffer(packet.payload) ? packet.payload.length : Buffer.byteLength(String(packet.payload));
      if (packet.topic.length > MAX_TOPIC_BYTES || size > this.opts.maxPayloadBytes || !client.principal.rules.mayPublish(packet.topic)) {
        this.refuse('publish_refused.principal_topic', 'publish refused', { reason: 'principal_topic' });
        return cb(new BrokerError('publish_refused', 'principal_topic'));
      }
      // Nothing of theirs stays in broker memory.
      packet.retain = false;
      return cb(null);
    }
    const deviceId = client?.deviceId;
    if (!deviceId) {
      // A will left by a session that is gone: its sender can no longer be verified.
      this.deps.counters.increment('mqtt.publish_refused.orphan_will');
      return cb(new BrokerError('not_authorized'));
    }
    const profiled = this.deps.firmware?.interpretPublish?.(deviceId, packet.topic, packet.payload as Buffer, this.now());
    if (profiled) return this.acceptProfiled(client!, packet, profiled, cb);
    const topic = parsePublishTopic(packet.topic, deviceId);
    if (!topic.ok) return this.refusePublish(client!, packet, topic.reason, cb);
    const at = this.now();
    let record: CameraRecord;
    if (topic.channel === 'status') {
      const parsed = parseStatus(packet.payload as Buffer, this.opts.maxPayloadBytes);
      if (!parsed.ok) return this.refusePublish(client!, packet, parsed.reason, cb);
      if (parsed.droppedFields > 0) this.deps.counters.increment('mqtt.fields_dropped', parsed.droppedFields);
      record = { kind: 'status', deviceId, status: parsed.value, at };
    } else {
      const parsed = parseEvent(packet.payload as Buffer, this.opts.maxPayloadBytes, at);
      if (!parsed.ok) return this.refusePublish(client!, packet, parsed.reason, cb);
      // Only a valid event costs from the camera's budget; over it, the camera is told why.
      const budget = this.eventBudget.take(deviceId);
      if (!budget.ok) return this.refusePublish(client!, packet, budget.reason, cb);
      if (parsed.droppedFields > 0) this.deps.counters.increment('mqtt.fields_dropped', parsed.droppedFields);
      record = { kind: 'event', deviceId, event: parsed.value, at };
    }
    // Validated and copied into the record: the payload (and the socket chunk it points into) is no
    // longer needed while the message waits for its commit; camera publishes are not routed on.
    packet.payload = NO_PAYLOAD;
    // The hub keeps no retained copy: nothing but the camera itself may subscribe, and the plaintext
    // would otherwise sit in broker memory.
    packet.retain = false;
    if (packet.qos === 0) {
      this.deps.ingest(record); // best effort, documented
      return cb(null);
    }
    // aedes' own callback goes straight to the store: a failed batch hands it publishNotStored().
    this.deps.ingest(record, cb);
  }

  /** A publish its firmware profile interpreted: refused, or zero or more records to store. */
  private acceptProfiled(client: HubClient, packet: AedesPublishPacket, verdict: PublishVerdict<CameraRecord>, cb: (err?: Error | null) => void): void {
    if (!verdict.ok) return this.refusePublish(client, packet, verdict.reason, cb);
    packet.payload = NO_PAYLOAD;
    packet.retain = false; // no retained copy (a snapshot, a state) stays in broker memory
    const records = verdict.records;
    if (packet.qos === 0 || records.length === 0) {
      for (const r of records) this.deps.ingest(r);
      return cb(null);
    }
    // Acknowledged once every record it became is committed (or with the first failure).
    let waiting = records.length;
    let failed = false;
    const done: Done = (err) => {
      if (failed) return;
      if (err) {
        failed = true;
        return cb(err);
      }
      if (--waiting === 0) cb(null);
    };
    for (const r of records) this.deps.ingest(r, done);
  }

  private refusePublish(client: HubClient, packet: AedesPublishPacket, reason: string, cb: (err?: Error | null) => void): void {
    this.refuse(`publish_refused.${reason}`, 'publish refused', { deviceId: client.deviceId, reason });
    this.deps.counters.noteRefusal(client.deviceId!, reason, this.now());
    // MQTT 5 can refuse one message and keep the connection; MQTT 3.1.1 has only disconnection.
    if (client.nackPublish?.(packet, reason)) return;
    cb(new BrokerError('publish_refused', reason));
  }

  private authorizeSubscribe(client: HubClient, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void): void {
    const deviceId = client.deviceId;
    const profiled = deviceId && sub.topic.length <= MAX_TOPIC_BYTES ? this.deps.firmware?.authorizeSubscribe?.(deviceId, sub.topic) : undefined;
    const allowed = profiled === true || (profiled === undefined && deviceId && sub.topic.length <= MAX_TOPIC_BYTES && isAllowedSubscription(sub.topic, deviceId));
    if (allowed) {
      // A device's filters are capped, whatever its firmware: each one costs the broker memory.
      if (this.subscriptionCap.admit(client, sub.topic)) return cb(null, sub);
      this.refuse('subscribe_refused.too_many_filters', 'subscription refused', { deviceId, reason: 'too_many_filters' });
      return cb(null, null);
    }
    if (client.principal && sub.topic.length <= MAX_TOPIC_BYTES && client.principal.rules.maySubscribe(sub.topic)) return cb(null, sub);
    this.refuse('subscribe_refused', 'subscription refused', { deviceId });
    cb(null, null); // SUBACK "failure" for this filter; the connection stays up
  }

  private onClientReady(client: HubClient): void {
    const deviceId = client.deviceId;
    if (!deviceId) return;
    // aedes emits clientReady at the end of the CONNECT sequence, after the CONNACK went out and
    // the client's next packets were read. A publish refused in between closes the client and emits
    // clientDisconnect first; counting such a client as connected would leave the camera "online"
    // with no socket (and swallow every later transition), so a closed client is never added.
    if (client.closed) return;
    let set = this.connections.get(deviceId);
    if (!set) this.connections.set(deviceId, (set = new Set()));
    const wasOffline = set.size === 0;
    set.add(client);
    if (wasOffline && this.tracksConnection(deviceId)) this.deps.ingest({ kind: 'presence', deviceId, online: true, at: this.now() });
    this.log.debug('device connected', { deviceId });
  }

  private onClientGone(client: HubClient): void {
    const deviceId = client.deviceId;
    if (!deviceId) return;
    const set = this.connections.get(deviceId);
    if (!set?.delete(client)) return;
    if (set.size === 0) {
      this.connections.delete(deviceId);
      if (this.tracksConnection(deviceId)) this.deps.ingest({ kind: 'presence', deviceId, online: false, at: this.now() });
    }
    this.log.debug('device disconnected', { deviceId });
  }

  /** False for firmware that connects once per message: its presence is timed by the camera runtime. */
  private tracksConnection(deviceId: string): boolean {
    return this.deps.firmware?.tracksConnection?.(deviceId) ?? true;
  }

  private onClientError(client: HubClient | undefined, err: Error): void {
    const known = brokerErrorCode(err);
    if (known !== undefined && COUNTED_WHERE_DECIDED.has(known)) return;
    // Parser errors and resets are routine on a LAN; count them, never echo their content.
    const code = known ?? ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? 'reset' : 'protocol_error');
    this.deps.counters.increment(`mqtt.client_error.${code}`);
    if (code !== 'reset') this.refuseLog(`client_error.${code}`, 'client connection error', { deviceId: client?.deviceId, reason: code });
  }

  private refuse(counter: string, msg: string, fields: Record<string, string | undefined> = {}): void {
    this.deps.counters.increment(`mqtt.${counter}`);
    this.refuseLog(counter, msg, fields);
  }

  private refuseLog(key: string, msg: string, fields: Record<string, string | undefined>): void {
    const suppressed = this.logThrottle.shouldLog(`${key}:${fields.deviceId ?? ''}`);
    if (suppressed >= 0) this.log.warn(msg, { ...fields, count: suppressed > 0 ? suppressed + 1 : undefined });
  }
}

/**
 * aedes acknowledges every QoS 1 publish through mqtt-packet's generic writer: three separate
 * writes (header, length, packet id) and a deferred uncork per PUBACK. For the MQTT 3.1/3.1.1
 * PUBACK, a fixed four bytes, one write does: the same bytes (tested against mqtt-packet's own
 * encoder), and the socket is corked once per tick however many acknowledgements a committed
 * batch releases, so they still leave in one system call. Anything else, MQTT 5 included, goes
 * through the generic writer. Installed once per process; mqtt.js shares the module and gets the
 * same bytes.
 */
export function installPubackFastPath(): void {
  type WriteToStream = typeof mqttPacket.writeToStream;
  const generic: WriteToStream & { pubackFastPath?: true } = mqttPacket.writeToStream;
  if (generic.pubackFastPath) return;
  const uncork = (stream: Writable) => stream.uncork();
  const fast = ((packet: Packet, stream: Writable, opts?: { protocolVersion?: number }) => {
    const id = (packet as { messageId?: number }).messageId;
    if (packet.cmd !== 'puback' || opts?.protocolVersion === 5 || typeof id !== 'number' || id < 0 || id > 0xffff || !Number.isInteger(id)) {
      return generic(packet, stream, opts as never);
    }
    const bytes = Buffer.allocUnsafe(4);
    bytes[0] = 0x40;
    bytes[1] = 0x02;
    bytes[2] = id >> 8;
    bytes[3] = id & 0xff;
    if (stream.writableCorked === 0) {
      stream.cork();
      process.nextTick(uncork, stream);
    }
    return stream.write(bytes);
  }) as unknown as WriteToStream & { pubackFastPath: true };
  fast.cacheNumbers = generic.cacheNumbers;
  fast.pubackFastPath = true;
  mqttPacket.writeToStream = fast;
}

interface ParserInternals {
  packet: { length: number };
  _parseLength(): boolean;
  _emitError(err: Error): void;
}

function acceptsImages(client: HubClient, firmware: BrokerDeps['firmware']): boolean {
  return client.deviceId !== undefined && firmware?.acceptsImages?.(client.deviceId) === true;
}

function remoteAddress(client: Client): string {
  const conn = client.conn as { remoteAddress?: string; socket?: { remoteAddress?: string } };
  return conn.remoteAddress ?? conn.socket?.remoteAddress ?? 'unknown';
}
