/**
 * Why the broker closed or refused a connection, as a code shared by the broker and the MQTT 5
 * bridge (which turns it into a reason code for the client). The broker's own refusals are
 * BrokerError instances; the few errors aedes raises itself are recognised here, and only here.
 */
export type BrokerErrorCode =
  /** A publish the hub refused (topic or payload); `reason` says which rule. */
  | 'publish_refused'
  /** A will or publish whose sender can no longer be verified. */
  | 'not_authorized'
  /** The batch holding the client's message could not be committed. */
  | 'not_stored'
  | 'packet_too_large'
  | 'keepalive_timeout'
  /** Packets queued before the CONNACK, over aedes' queue limit. */
  | 'queue_limit'
  /** Too many inbound QoS 2 messages awaiting PUBREL. */
  | 'inflight_limit'
  /** The account already has as many connections as one camera may have. */
  | 'connection_limit'
  /** Too many password checks waiting; try again later. */
  | 'server_busy';

export class BrokerError extends Error {
  constructor(
    readonly code: BrokerErrorCode,
    /** The hub's refusal reason (e.g. `payload_not_json`); never client data. */
    readonly reason?: string,
  ) {
    super(reason ? `${code}: ${reason}` : code);
    this.name = 'BrokerError';
  }
}

/**
 * aedes 1.2.0 (pinned exactly in package.json) reports these as plain Error messages; the hub
 * learns of them only through the error it closes a client with.
 */
const AEDES_ERRORS: readonly (readonly [prefix: string, code: BrokerErrorCode])[] = [
  ['keep alive timeout', 'keepalive_timeout'],
  ['Client queue limit reached', 'queue_limit'],
  ['maxInflightInbound exceeded', 'inflight_limit'],
];

/** The code of an error a client was closed with, when the hub or aedes named its cause. */
export function brokerErrorCode(err: unknown): BrokerErrorCode | undefined {
  if (err instanceof BrokerError) return err.code;
  if (!(err instanceof Error)) return undefined;
  for (const [prefix, code] of AEDES_ERRORS) if (err.message.startsWith(prefix)) return code;
  return undefined;
}
