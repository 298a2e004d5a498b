/**
 * MQTT 5 in front of aedes 1.x, which speaks MQTT 3.1/3.1.1 only.
 *
 * Every accepted TCP socket goes through `attachConnection`, which reads just the start of the
 * first packet (bounded in size and time; anything that is not a CONNECT is refused):
 * - protocol level 3 or 4: the peeked bytes are put back (`unshift`) and the ORIGINAL socket is
 *   handed to aedes, so 3.1.1 clients pay nothing for the bridge;
 * - protocol level 5: once the whole CONNECT has arrived, a `Mqtt5Bridge` duplex stands in for
 *   the socket. It parses MQTT 5 from the socket and writes MQTT 3.1.1 toward aedes, and parses
 *   aedes' 3.1.1 output and writes MQTT 5 to the socket. Properties that 3.1.1 cannot carry are
 *   dropped (will properties, user properties, subscription options nl/rap/rh); topic aliases
 *   from the client are resolved per connection; CONNACK/SUBACK/UNSUBACK get v5 reason codes.
 *
 * Refusing one publish without disconnecting (MQTT 5 only): the aedes client handed back for a
 * v5 connection carries `nackPublish(packet, reason)`. The broker's authorizePublish, when it
 * rejects a publish, calls it first. If it returns true the bridge has already answered the
 * client (PUBACK/PUBREC with 0x99 "payload format invalid", or 0x87 "not authorized" for topic
 * reasons, and the hub's reason such as `event_bad_ts` as the Reason String unless the client set
 * Request Problem Information to 0; a QoS 0 publish is dropped) and has released aedes' packet loop itself; the caller
 * must then NOT call the authorize callback, so aedes neither acknowledges nor routes the packet.
 * If it returns false (or the client has no such method: MQTT 3.1.1), the caller rejects as
 * usual and aedes disconnects. Releasing the loop uses aedes' `_nextBatch`, the function aedes
 * itself passes as the packet's completion callback; without it the bridge declines the nack.
 *
 * When aedes closes a v5 connection because of an error it can name (refused publish, keepalive,
 * size, queue limit, shutdown) the client gets a DISCONNECT with the matching reason code first.
 * The broker names causes with typed codes (src/broker/errors.ts), never message text; through
 * `explainRefusal` it can also name the cause of a CONNACK refusal that 3.1.1 has no code for
 * (a camera over its connection limit gets 0x97 "quota exceeded", not "not authorized").
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type {
  IConnackPacket,
  IConnectPacket,
  IDisconnectPacket,
  IPublishPacket,
  ISubackPacket,
  ISubscribePacket,
  IUnsubscribePacket,
  Packet,
} from 'mqtt-packet';
import { BrokerError, brokerErrorCode, type BrokerErrorCode } from './errors.js';

export interface Mqtt5BridgeOptions {
  /** Largest MQTT packet (fixed header included) accepted from a client, any protocol version. */
  maxPacketBytes: number;
  /** Time allowed for the first packet (the CONNECT) to arrive. */
  firstPacketTimeoutMs?: number;
  /** Topic aliases a v5 client may define (announced in CONNACK); 0 disables aliases. */
  topicAliasMaximum?: number;
  /** Called once per refused connection or bridged-connection protocol error; reason has no client data. */
  onRefused?: (reason: BridgeRefusal) => void;
  /** Called with the number of QoS 0 publishes over the cap that were skipped unread (see PacketFramer). */
  onDiscarded?: (count: number) => void;
}

export type BridgeRefusal =
  | 'not_connect'
  | 'unsupported_protocol'
  | 'connect_too_large'
  | 'connect_timeout'
  | 'malformed'
  | 'unsupported_auth_method'
  | 'receive_maximum_zero'
  | 'packet_too_large'
  | 'topic_alias_invalid'
  | 'protocol_error';

/** What the bridge attaches to the aedes client of a v5 connection. */
export interface NegativeAckClient {
  /**
   * See the module header. `reason` is the hub's refusal reason (sent to the client as the
   * PUBACK's Reason String too, unless it asked for no problem information), or an MQTT 5 reason code.
   */
  nackPublish(packet: { qos: number; messageId?: number }, reason: string | number): boolean;
  /** Names the cause of the refusal or close that follows, for its CONNACK or DISCONNECT reason code. */
  explainRefusal(code: BrokerErrorCode): void;
  /**
   * Lets this connection send packets up to `maxPacketBytes` (announced in its CONNACK when called
   * before it) and skips, instead of refusing, QoS 0 publishes larger still: for a camera whose
   * firmware publishes images. Called by the broker once the camera authenticated.
   */
  allowLargePublishes(maxPacketBytes: number): void;
}

export type ConnectionHandler = (stream: Duplex) => unknown;

const DEFAULT_FIRST_PACKET_TIMEOUT_MS = 5_000;
/** A camera publishes to two or three topics; each alias holds one topic of up to a packet's size. */
const DEFAULT_TOPIC_ALIAS_MAXIMUM = 8;
/** Time a closing socket gets to flush its last packets (e.g. a refusing CONNACK) before it is destroyed. */
const CLOSE_GRACE_MS = 2_000;

/** MQTT 5 reason codes used here (spec section 2.4). */
export const ReasonCode = {
  success: 0x00,
  disconnectWithWill: 0x04,
  unspecified: 0x80,
  malformedPacket: 0x81,
  protocolError: 0x82,
  unsupportedProtocolVersion: 0x84,
  clientIdNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  badAuthenticationMethod: 0x8c,
  serverShuttingDown: 0x8b,
  keepAliveTimeout: 0x8d,
  receiveMaximumExceeded: 0x93,
  topicAliasInvalid: 0x94,
  packetTooLarge: 0x95,
  quotaExceeded: 0x97,
  payloadFormatInvalid: 0x99,
} as const;

const CONNACK_V4_TO_V5: Record<number, number> = {
  0: ReasonCode.success,
  1: ReasonCode.unsupportedProtocolVersion,
  2: ReasonCode.clientIdNotValid,
  3: ReasonCode.serverUnavailable,
  4: ReasonCode.badUserNameOrPassword,
  5: ReasonCode.notAuthorized,
};

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

export type FixedHeader =
  | { kind: 'incomplete' }
  | { kind: 'invalid' }
  | { kind: 'ok'; firstByte: number; headerBytes: number; remainingLength: number };

/** Reads an MQTT fixed header (type byte + variable-length remaining length) at the start of `buf`. */
export function readFixedHeader(buf: Buffer): FixedHeader {
  if (buf.length < 2) return { kind: 'incomplete' };
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return { kind: 'incomplete' };
    const byte = buf[i]!;
    value += (byte & 0x7f) * 128 ** (i - 1);
    if ((byte & 0x80) === 0) return { kind: 'ok', firstByte: buf[0]!, headerBytes: i + 1, remainingLength: value };
  }
  return { kind: 'invalid' }; // a fifth length byte is malformed
}

export type ConnectPeek =
  | { kind: 'incomplete' }
  | { kind: 'refuse'; reason: BridgeRefusal }
  | { kind: 'ok'; protocolLevel: 3 | 4 | 5; packetBytes: number };

/**
 * Decides from the first bytes of a connection whether they start a CONNECT, and of which
 * protocol level, reading no further than the protocol level byte.
 */
export function peekConnect(buf: Buffer, maxPacketBytes: number): ConnectPeek {
  if (buf.length > 0 && buf[0] !== 0x10) return { kind: 'refuse', reason: 'not_connect' };
  const header = readFixedHeader(buf);
  if (header.kind === 'incomplete') return header;
  if (header.kind === 'invalid') return { kind: 'refuse', reason: 'malformed' };
  const packetBytes = header.headerBytes + header.remainingLength;
  if (packetBytes > maxPacketBytes) return { kind: 'refuse', reason: 'connect_too_large' };
  const at = header.headerBytes;
  if (buf.length < at + 2) return { kind: 'incomplete' };
  const nameLength = buf.readUInt16BE(at);
  if (nameLength !== 4 && nameLength !== 6) return { kind: 'refuse', reason: 'unsupported_protocol' };
  if (buf.length < at + 2 + nameLength + 1) return { kind: 'incomplete' };
  const name = buf.toString('latin1', at + 2, at + 2 + nameLength);
  const level = buf[at + 2 + nameLength]! & 0x7f; // 0x80 marks a bridge, which aedes understands
  if ((name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3)) {
    return { kind: 'ok', protocolLevel: level as 3 | 4 | 5, packetBytes };
  }
  return { kind: 'refuse', reason: 'unsupported_protocol' };
}

/**
 * Splits a byte stream into whole MQTT packets, refusing any that announces more than the cap.
 * Chunks are kept as they arrive and joined once per packet (a 2 MiB snapshot read in 64 KiB
 * chunks is copied once, not once per chunk). With `discardQos0` set, a QoS 0 PUBLISH over the cap
 * is skipped as its bytes stream in, never held in memory: its sender learns nothing (QoS 0 has
 * no acknowledgement) and stays connected.
 */
export class PacketFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of a discarded packet still to come. */
  private skipping = 0;
  private discardQos0 = false;
  /** Over-the-cap QoS 0 publishes skipped so far. */
  discarded = 0;

  constructor(private maxPacketBytes: number) {}

  get limit(): number {
    return this.maxPacketBytes;
  }

  /** A larger cap for this connection (an authenticated camera that sends images), and whether to skip bigger QoS 0 publishes. */
  raise(maxPacketBytes: number, discardQos0: boolean): void {
    this.maxPacketBytes = Math.max(this.maxPacketBytes, maxPacketBytes);
    this.discardQos0 = discardQos0;
  }

  /** Returns the complete packets now available, or an error reason (the stream is then unusable). */
  push(chunk: Buffer): Buffer[] | 'too_large' | 'malformed' {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const packets: Buffer[] = [];
    for (;;) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.buffered);
        this.drop(n);
        this.skipping -= n;
        if (this.skipping > 0) break;
      }
      const header = readFixedHeader(this.head(5));
      if (header.kind === 'incomplete') break;
      if (header.kind === 'invalid') return 'malformed';
      const size = header.headerBytes + header.remainingLength;
      if (size > this.maxPacketBytes) {
        // 0x30: PUBLISH; bits 1-2 of the first byte: its QoS.
        if (!this.discardQos0 || header.firstByte >> 4 !== 3 || (header.firstByte & 0x06) !== 0) return 'too_large';
        this.discarded++;
        this.skipping = size;
        continue;
      }
      if (this.buffered < size) break;
      packets.push(this.take(size));
    }
    return packets;
  }

  /** Up to n bytes from the front, not consumed. */
  private head(n: number): Buffer {
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(n, this.buffered)).subarray(0, n);
  }

  /** Exactly n bytes from the front (n <= buffered), consumed. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.drop(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      this.drop(k);
    }
    return out;
  }

  private drop(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      if (c.length <= n) {
        this.chunks.shift();
        n -= c.length;
      } else {
        this.chunks[0] = c.subarray(n);
        n = 0;
      }
    }
  }
}

/** Maps the hub's refusal reason to the reason code a v5 client gets in its PUBACK/PUBREC. */
export function nackReasonCode(reason: string | number): number {
  if (typeof reason === 'number') return reason >= 0x80 && reason <= 0xff ? reason : ReasonCode.unspecified;
  if (reason === 'event_rate_limited' || reason === 'event_quota_exceeded') return ReasonCode.quotaExceeded;
  return reason.startsWith('topic') ? ReasonCode.notAuthorized : ReasonCode.payloadFormatInvalid;
}

/** The MQTT 5 reason code for each cause the broker names (CONNACK refusals and DISCONNECTs alike). */
const REASON_FOR: Record<BrokerErrorCode, number> = {
  publish_refused: ReasonCode.notAuthorized,
  not_authorized: ReasonCode.notAuthorized,
  not_stored: ReasonCode.unspecified,
  packet_too_large: ReasonCode.packetTooLarge,
  keepalive_timeout: ReasonCode.keepAliveTimeout,
  queue_limit: ReasonCode.quotaExceeded,
  inflight_limit: ReasonCode.receiveMaximumExceeded,
  connection_limit: ReasonCode.quotaExceeded,
  server_busy: ReasonCode.serverBusy,
};

/** The DISCONNECT reason for the cause a connection was closed with (a code, or the error), if it is known. */
export function disconnectReasonFor(cause: BrokerErrorCode | Error | null | undefined, brokerClosing: boolean): number | undefined {
  if (brokerClosing) return ReasonCode.serverShuttingDown;
  const code = typeof cause === 'string' ? cause : brokerErrorCode(cause);
  return code === undefined ? undefined : REASON_FOR[code];
}

export interface ConnectTranslation {
  v4: IConnectPacket;
  /** The id the bridge chose for a client that sent none (v5 requires telling it). */
  assignedClientId?: string;
  /** Session expiry the hub actually applies, when it differs from what the client asked for. */
  sessionExpiryOverride?: number;
}

/**
 * A v5 CONNECT as aedes (3.1.1) needs it. 3.1.1 knows only "clean" or "keep forever": a session
 * is kept only when the client both resumes (cleanStart=0) and asks for it to outlive the
 * connection (sessionExpiryInterval > 0); otherwise it is clean and the client is told expiry 0.
 */
export function translateConnect(v5: IConnectPacket): ConnectTranslation {
  const expiry = v5.properties?.sessionExpiryInterval ?? 0;
  const keepSession = !v5.clean && expiry > 0;
  let clientId = v5.clientId;
  let assignedClientId: string | undefined;
  if (!clientId && !keepSession) {
    assignedClientId = `h5-${randomUUID()}`;
    clientId = assignedClientId;
  }
  const v4: IConnectPacket = {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: !keepSession,
    keepalive: v5.keepalive ?? 0,
    clientId,
  };
  if (v5.username !== undefined) v4.username = v5.username;
  if (v5.password !== undefined) v4.password = v5.password;
  if (v5.will) v4.will = { topic: v5.will.topic, payload: v5.will.payload, qos: v5.will.qos ?? 0, retain: !!v5.will.retain };
  const out: ConnectTranslation = { v4 };
  if (assignedClientId) out.assignedClientId = assignedClientId;
  if (!keepSession && expiry > 0) out.sessionExpiryOverride = 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Connection entry point
// ---------------------------------------------------------------------------------------------

/**
 * Peeks the first packet of `socket` and hands it to `handle`: the socket itself for MQTT 3.1/3.1.1,
 * a translating duplex for MQTT 5. Refused connections are destroyed.
 */
export function attachConnection(socket: Socket, handle: ConnectionHandler, opts: Mqtt5BridgeOptions): void {
  const chunks: Buffer[] = [];
  let buffered = 0;
  let level: 3 | 4 | 5 | undefined;
  let packetBytes = 0;
  let settled = false;

  const finish = () => {
    settled = true;
    clearTimeout(timer);
    socket.off('readable', onReadable);
    socket.off('close', onClose);
    socket.off('error', onError);
  };
  const refuse = (reason: BridgeRefusal) => {
    if (settled) return;
    finish();
    opts.onRefused?.(reason);
    socket.destroy();
  };
  const onClose = () => {
    if (!settled) finish();
  };
  const onError = () => {}; // the close that follows ends the peek
  const onReadable = () => {
    let chunk: Buffer | null;
    while (!settled && (chunk = socket.read() as Buffer | null) !== null) {
      chunks.push(chunk);
      buffered += chunk.length;
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (level === undefined) {
        const peek = peekConnect(data, opts.maxPacketBytes);
        if (peek.kind === 'incomplete') continue;
        if (peek.kind === 'refuse') return refuse(peek.reason);
        level = peek.protocolLevel;
        packetBytes = peek.packetBytes;
        if (level !== 5) {
          // 3.1/3.1.1: put the bytes back and let aedes own the untouched socket.
          finish();
          socket.unshift(data);
          handle(socket);
          return;
        }
      }
      if (buffered >= packetBytes) {
        finish();
        startBridge(socket, data, handle, opts);
        return;
      }
    }
  };

  const timer = setTimeout(() => refuse('connect_timeout'), opts.firstPacketTimeoutMs ?? DEFAULT_FIRST_PACKET_TIMEOUT_MS);
  timer.unref();
  socket.on('readable', onReadable);
  socket.once('close', onClose);
  socket.on('error', onError);
}

/** `attachConnection` with its options bound, in the shape `BrokerOptions.attachConnection` takes. */
export function createMqtt5Bridge(opts: Mqtt5BridgeOptions): (socket: Socket, handle: ConnectionHandler) => void {
  return (socket, handle) => attachConnection(socket, handle, opts);
}

function startBridge(socket: Socket, firstBytes: Buffer, handle: ConnectionHandler, opts: Mqtt5BridgeOptions): void {
  const framer = new PacketFramer(opts.maxPacketBytes);
  const framed = framer.push(firstBytes);
  if (framed === 'too_large') {
    opts.onRefused?.('packet_too_large');
    socket.destroy();
    return;
  }
  const first = typeof framed === 'string' ? undefined : framed[0];
  const connect = first ? parseSingle(first) : undefined;
  if (!connect || connect.cmd !== 'connect') {
    opts.onRefused?.('malformed');
    socket.destroy();
    return;
  }
  if (connect.properties?.authenticationMethod !== undefined) {
    // Enhanced authentication is not offered; the client learns why before the socket closes.
    opts.onRefused?.('unsupported_auth_method');
    socket.end(mqttPacket.generate({ cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.badAuthenticationMethod }, { protocolVersion: 5 }));
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    return;
  }
  if (connect.properties?.receiveMaximum === 0) {
    // MQTT 5, 3.1.2.11.3: a Receive Maximum of 0 is a Protocol Error (the hub could never send).
    opts.onRefused?.('receive_maximum_zero');
    socket.end(mqttPacket.generate({ cmd: 'connack', sessionPresent: false, reasonCode: ReasonCode.protocolError }, { protocolVersion: 5 }));
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    return;
  }
  const bridge = new Mqtt5Bridge(socket, framer, connect, opts);
  const client = handle(bridge) ?? (bridge as unknown as { client?: unknown }).client; // aedes sets conn.client
  bridge.attachClient(client);
  bridge.start(framed as Buffer[]);
}

function parseSingle(bytes: Buffer): Packet | undefined {
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  let packet: Packet | undefined;
  let failed = false;
  parser.on('packet', (p: Packet) => (packet = p));
  parser.on('error', () => (failed = true));
  try {
    parser.parse(bytes);
  } catch {
    return undefined;
  }
  return failed ? undefined : packet;
}

// ---------------------------------------------------------------------------------------------
// The v5 <-> v4 translator
// ---------------------------------------------------------------------------------------------

interface AedesClientInternals {
  closed?: boolean;
  broker?: { closed?: boolean };
  _nextBatch?: (err?: Error) => void;
  nackPublish?: NegativeAckClient['nackPublish'];
  explainRefusal?: NegativeAckClient['explainRefusal'];
  allowLargePublishes?: NegativeAckClient['allowLargePublishes'];
}

/**
 * Stands in for the socket of an MQTT 5 client: aedes reads MQTT 3.1.1 from it and writes
 * MQTT 3.1.1 into it. Exposes `socket` and `remoteAddress` like a socket would.
 */
export class Mqtt5Bridge extends Duplex {
  private readonly fromClientParser = mqttPacket.parser({ protocolVersion: 5 });
  private readonly toClientParser = mqttPacket.parser({ protocolVersion: 4 });
  private readonly aliases = new Map<number, string>();
  private readonly topicAliasMaximum: number;
  /**
   * The client's QoS 1 publishes not yet acknowledged, in the order they arrived, each with its
   * PUBACK once decided. A refusal is decided at once, a stored publish only after its batch
   * commits; PUBACKs leave in arrival order all the same (MQTT 5 section 4.6, [MQTT-4.6.0-2]).
   */
  private readonly pendingAcks: { messageId: number; puback?: Packet }[] = [];
  /** Packet size limit the client announced for what we send it. */
  private readonly clientMaxPacketBytes: number;
  /** Topic count of each UNSUBSCRIBE in flight: a v5 UNSUBACK carries one reason code per topic. */
  private readonly unsubscribeCounts = new Map<number, number>();
  /** QoS 2 deliveries dropped for size or refused by the client, whose PUBREL from aedes the bridge answers itself. */
  private readonly droppedQos2 = new Set<number>();
  private readonly translation: ConnectTranslation;
  /** Not `client`: aedes sets `conn.client` on the stream itself. */
  private aedesClient: AedesClientInternals | undefined;
  private accepted = false;
  private ending = false;
  /** The cause the broker named for the refusal or close that follows (explainRefusal). */
  private explained: BrokerErrorCode | undefined;
  /** The client asked for no Reason Strings on acknowledgements (Request Problem Information = 0). */
  private readonly problemInformation: boolean;

  constructor(
    readonly socket: Socket,
    private readonly framer: PacketFramer,
    connect: IConnectPacket,
    private readonly opts: Mqtt5BridgeOptions,
  ) {
    super({ allowHalfOpen: false });
    this.topicAliasMaximum = Math.max(0, Math.min(opts.topicAliasMaximum ?? DEFAULT_TOPIC_ALIAS_MAXIMUM, 0xffff));
    this.clientMaxPacketBytes = connect.properties?.maximumPacketSize ?? Number.MAX_SAFE_INTEGER;
    this.translation = translateConnect(connect);
    this.problemInformation = connect.properties?.requestProblemInformation !== false;
    this.fromClientParser.on('packet', (p: Packet) => this.fromClient(p));
    this.fromClientParser.on('error', () => this.protocolFailure('malformed', ReasonCode.malformedPacket, 'malformed packet'));
    this.toClientParser.on('packet', (p: Packet) => this.fromBroker(p));
    this.toClientParser.on('error', (err: Error) => this.destroy(err));
    this.on('error', () => {}); // aedes listens too; this keeps a late error from crashing the hub
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  attachClient(client: unknown): void {
    if (!client || typeof client !== 'object') return;
    this.aedesClient = client as AedesClientInternals;
    this.aedesClient.nackPublish = (packet, reason) => this.nackPublish(packet, reason);
    this.aedesClient.explainRefusal = (code) => (this.explained = code);
    this.aedesClient.allowLargePublishes = (maxPacketBytes) => this.framer.raise(maxPacketBytes, true);
  }

  start(firstPackets: Buffer[]): void {
    this.toBroker(this.translation.v4);
    for (const bytes of firstPackets.slice(1)) this.fromClientBytes(bytes);
    this.socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    this.socket.on('error', () => {}); // the close that follows tears the bridge down
    this.socket.once('close', () => {
      this.ending = true; // nothing can be sent any more
      this.destroy();
    });
  }

  // --- client -> aedes --------------------------------------------------------------------

  private onSocketData(chunk: Buffer): void {
    if (this.ending) return;
    const discarded = this.framer.discarded;
    const packets = this.framer.push(chunk);
    if (this.framer.discarded > discarded) this.opts.onDiscarded?.(this.framer.discarded - discarded);
    if (packets === 'too_large') return this.protocolFailure('packet_too_large', ReasonCode.packetTooLarge, 'packet too large');
    if (packets === 'malformed') return this.protocolFailure('malformed', ReasonCode.malformedPacket, 'malformed packet');
    for (const bytes of packets) {
      if (this.ending) return;
      this.fromClientBytes(bytes);
    }
  }

  private fromClientBytes(bytes: Buffer): void {
    try {
      this.fromClientParser.parse(bytes); // one whole packet: emits it, or an error
    } catch {
      this.protocolFailure('malformed', ReasonCode.malformedPacket, 'malformed packet');
    }
  }

  private fromClient(packet: Packet): void {
    switch (packet.cmd) {
      case 'publish':
        return this.publishFromClient(packet);
      case 'pubrec':
        // A failure code ends a v5 QoS 2 flow here; 3.1.1 ends it with PUBREL/PUBCOMP, which the bridge completes.
        if ((packet.reasonCode ?? 0) >= 0x80) this.droppedQos2.add(packet.messageId!);
        return this.toBroker({ cmd: 'pubrec', messageId: packet.messageId! });
      case 'puback':
      case 'pubrel':
      case 'pubcomp':
        return this.toBroker({ cmd: packet.cmd, messageId: packet.messageId } as Packet);
      case 'subscribe':
        return this.subscribeFromClient(packet);
      case 'unsubscribe':
        return this.unsubscribeFromClient(packet);
      case 'pingreq':
        return this.toBroker({ cmd: 'pingreq' });
      case 'disconnect':
        return this.disconnectFromClient(packet);
      default:
        // a second CONNECT, AUTH (no enhanced auth is offered), or a server-only packet
        return this.protocolFailure('protocol_error', ReasonCode.protocolError, 'protocol error');
    }
  }

  private publishFromClient(packet: IPublishPacket): void {
    let topic = packet.topic;
    const alias = packet.properties?.topicAlias;
    if (alias !== undefined) {
      if (alias < 1 || alias > this.topicAliasMaximum) {
        return this.protocolFailure('topic_alias_invalid', ReasonCode.topicAliasInvalid, 'topic alias invalid');
      }
      if (topic) this.aliases.set(alias, topic);
      else topic = this.aliases.get(alias) ?? '';
      if (!topic) return this.protocolFailure('topic_alias_invalid', ReasonCode.topicAliasInvalid, 'topic alias invalid');
    }
    if (!topic) return this.protocolFailure('protocol_error', ReasonCode.protocolError, 'protocol error');
    const v4: IPublishPacket = { cmd: 'publish', topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: packet.dup };
    if (packet.qos > 0) v4.messageId = packet.messageId!;
    if (packet.qos === 1) this.pendingAcks.push({ messageId: packet.messageId! });
    this.toBroker(v4);
  }

  private subscribeFromClient(packet: ISubscribePacket): void {
    // nl/rap/rh and subscription identifiers have no 3.1.1 form; CONNACK says identifiers are unavailable.
    const subscriptions = packet.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos }));
    this.toBroker({ cmd: 'subscribe', messageId: packet.messageId!, subscriptions });
  }

  private unsubscribeFromClient(packet: IUnsubscribePacket): void {
    this.unsubscribeCounts.set(packet.messageId!, packet.unsubscriptions.length);
    this.toBroker({ cmd: 'unsubscribe', messageId: packet.messageId!, unsubscriptions: packet.unsubscriptions });
  }

  private disconnectFromClient(packet: IDisconnectPacket): void {
    if ((packet.reasonCode ?? 0) === ReasonCode.success) {
      this.toBroker({ cmd: 'disconnect' }); // a normal disconnect discards the will
      this.ending = true; // after a client's DISCONNECT the server sends nothing more
    } else {
      // 0x04 "disconnect with will" or an error: end without DISCONNECT so aedes publishes the will.
      this.ending = true;
      this.destroy();
    }
  }

  private toBroker(packet: Packet): void {
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet, { protocolVersion: 4 });
    } catch {
      return this.protocolFailure('malformed', ReasonCode.malformedPacket, 'malformed packet');
    }
    if (!this.push(bytes)) this.socket.pause(); // resumed by _read once aedes catches up
  }

  /** The v5 client broke the protocol: tell it why (if it was accepted), close both sides. */
  private protocolFailure(refusal: BridgeRefusal, reasonCode: number, message: string): void {
    if (this.ending) return;
    this.opts.onRefused?.(refusal);
    if (this.accepted) this.sendToClient({ cmd: 'disconnect', reasonCode });
    this.ending = true;
    this.destroy(refusal === 'packet_too_large' ? new BrokerError('packet_too_large') : new Error(message)); // aedes counts it as a client error
  }

  // --- aedes -> client --------------------------------------------------------------------

  private fromBroker(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack':
        return this.connackToClient(packet);
      case 'publish':
        return this.publishToClient(packet);
      case 'pubrel':
        if (this.droppedQos2.delete(packet.messageId!)) return this.toBroker({ cmd: 'pubcomp', messageId: packet.messageId! });
        return this.sendToClient({ cmd: 'pubrel', messageId: packet.messageId! });
      case 'puback':
        return this.acknowledgeInOrder({ cmd: 'puback', messageId: packet.messageId! });
      case 'pubrec':
      case 'pubcomp':
        return this.sendToClient({ cmd: packet.cmd, messageId: packet.messageId } as Packet);
      case 'suback':
        return this.subackToClient(packet);
      case 'unsuback': {
        const count = this.unsubscribeCounts.get(packet.messageId!) ?? 1;
        this.unsubscribeCounts.delete(packet.messageId!);
        return this.sendToClient({ cmd: 'unsuback', messageId: packet.messageId!, granted: new Array<number>(count).fill(ReasonCode.success) });
      }
      case 'pingresp':
        return this.sendToClient({ cmd: 'pingresp' });
      default:
        return; // aedes sends nothing else to a client
    }
  }

  private connackToClient(packet: IConnackPacket): void {
    const returnCode = packet.returnCode ?? 0;
    const reasonCode = returnCode !== 0 && this.explained ? REASON_FOR[this.explained] : (CONNACK_V4_TO_V5[returnCode] ?? ReasonCode.unspecified);
    const connack: IConnackPacket = { cmd: 'connack', sessionPresent: packet.sessionPresent, reasonCode };
    if (reasonCode === ReasonCode.success) {
      this.accepted = true;
      const properties: NonNullable<IConnackPacket['properties']> = {
        topicAliasMaximum: this.topicAliasMaximum,
        maximumPacketSize: this.framer.limit,
        subscriptionIdentifiersAvailable: false,
        sharedSubscriptionAvailable: false,
      };
      if (this.translation.assignedClientId) properties.assignedClientIdentifier = this.translation.assignedClientId;
      if (this.translation.sessionExpiryOverride !== undefined) properties.sessionExpiryInterval = this.translation.sessionExpiryOverride;
      connack.properties = properties;
    }
    this.sendToClient(connack);
  }

  private publishToClient(packet: IPublishPacket): void {
    const v5: IPublishPacket = { cmd: 'publish', topic: packet.topic, payload: packet.payload, qos: packet.qos, retain: packet.retain, dup: packet.dup };
    if (packet.qos > 0) v5.messageId = packet.messageId!;
    const bytes = this.encodeForClient(v5);
    if (!bytes) return;
    if (bytes.length <= this.clientMaxPacketBytes) return this.writeToClient(bytes);
    // MQTT 5: a packet over the client's limit is discarded as if delivered [MQTT-3.1.2-25].
    if (packet.qos === 1) this.toBroker({ cmd: 'puback', messageId: packet.messageId! });
    if (packet.qos === 2) {
      this.droppedQos2.add(packet.messageId!);
      this.toBroker({ cmd: 'pubrec', messageId: packet.messageId! });
    }
  }

  private subackToClient(packet: ISubackPacket): void {
    const granted = (packet.granted as number[]).map((g) => (g === 0x80 ? ReasonCode.notAuthorized : g));
    this.sendToClient({ cmd: 'suback', messageId: packet.messageId!, granted });
  }

  private encodeForClient(packet: Packet): Buffer | undefined {
    try {
      return mqttPacket.generate(packet, { protocolVersion: 5 });
    } catch {
      this.destroy(new Error('cannot encode packet for client'));
      return undefined;
    }
  }

  private sendToClient(packet: Packet): void {
    const bytes = this.encodeForClient(packet);
    if (bytes) this.writeToClient(bytes);
  }

  private writeToClient(bytes: Buffer): void {
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.write(bytes);
  }

  /** Sends a PUBACK once every publish that arrived before its own has been acknowledged. */
  private acknowledgeInOrder(puback: Packet & { messageId: number }): void {
    const waiting = this.pendingAcks.find((p) => p.messageId === puback.messageId && !p.puback);
    if (!waiting) return this.sendToClient(puback); // not one of the client's (cannot happen), sent as it is
    waiting.puback = puback;
    while (this.pendingAcks[0]?.puback) this.sendToClient(this.pendingAcks.shift()!.puback!);
  }

  // --- negative acknowledgement ----------------------------------------------------------

  private nackPublish(packet: { qos: number; messageId?: number }, reason: string | number): boolean {
    const client = this.aedesClient;
    const release = client?._nextBatch;
    // A will published on close is not an inbound packet: decline, so the caller refuses it normally.
    if (!client || client.closed || this.ending || typeof release !== 'function') return false;
    if (packet.qos > 0 && packet.messageId === undefined) return false;
    const reasonCode = nackReasonCode(reason);
    // The hub's reason (e.g. event_bad_ts) is a fixed code with no client data in it.
    const properties = this.problemInformation && typeof reason === 'string' ? { reasonString: reason } : undefined;
    if (packet.qos === 1) this.acknowledgeInOrder({ cmd: 'puback', messageId: packet.messageId!, reasonCode, ...(properties && { properties }) });
    else if (packet.qos === 2) this.sendToClient({ cmd: 'pubrec', messageId: packet.messageId!, reasonCode, ...(properties && { properties }) });
    // aedes waits for this packet's completion before reading the next; complete it without an error.
    setImmediate(() => release());
    return true;
  }

  // --- Duplex plumbing --------------------------------------------------------------------

  override _read(): void {
    if (!this.ending && this.socket.isPaused()) this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed) return callback();
    try {
      this.toClientParser.parse(chunk); // emits whole packets synchronously, each written to the socket
    } catch (err) {
      return callback(err as Error);
    }
    // Hold aedes back while the client reads slower than aedes writes.
    if (this.socket.writableNeedDrain) this.socket.once('drain', () => callback());
    else callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const socket = this.socket;
    if (!this.ending && this.accepted && !socket.destroyed) {
      const reasonCode = disconnectReasonFor(this.explained ?? err, this.aedesClient?.broker?.closed === true);
      if (reasonCode !== undefined) this.sendToClient({ cmd: 'disconnect', reasonCode });
    }
    this.ending = true;
    if (!socket.destroyed) {
      socket.end(); // flush what is queued (a refusing CONNACK, a DISCONNECT), then close
      setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    callback(err);
  }
}
