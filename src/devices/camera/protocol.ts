/**
 * The camera MQTT protocol, as pure functions: which topics a camera may use and what its payloads
 * must look like. Every payload is hostile until it passes here. Rules (documented in docs/camera-protocol.md):
 * - UTF-8 JSON object, at most the configured payload size;
 * - known fields are type- and length-checked; unknown fields are dropped (never stored) and counted;
 * - a failed check rejects the whole message with a short reason code that contains no payload data.
 */
import { isIP } from 'node:net';

export const TOPIC_ROOT = 'hearth/cam';
export type CameraChannel = 'status' | 'event';

export interface CameraStatus {
  state: 'online' | 'offline';
  model?: string;
  firmware?: string;
  ssid?: string;
  /** An IPv4/IPv6 address or a subnet in CIDR form. */
  ip?: string;
  rssi?: number;
}

export interface CameraEvent {
  type: string;
  /** Device time, Unix milliseconds (the hub's receive time when the camera sent none, or 0). */
  ts: number;
  /** Free text from the camera (e.g. why a connection failed); sealed at rest. */
  detail?: string;
}

export type Rejection = { ok: false; reason: string };
export type Parsed<T> = { ok: true; value: T; droppedFields: number } | Rejection;

/** Event types the hub itself records from connections; a camera may not report them. */
export const RESERVED_EVENT_TYPES: ReadonlySet<string> = new Set(['online', 'offline']);
/**
 * The event types a camera may report: the only ones the hub stores (the type is kept in plaintext
 * for counting and the timeline, so a camera-chosen string must never land there). Extend here.
 */
/**
 * Every event type the hub stores (types are stored in the clear, so nothing else is): hearth's own
 * protocol and what the firmware profiles (profiles/) make of their firmware's messages.
 */
export const KNOWN_EVENT_TYPES: readonly string[] = ['motion', 'motion_end', 'object', 'connect_failed', 'activation', 'reboot', 'sound', 'tamper', 'firmware_update'];

const DEVICE_ID_PATTERN = /^[a-z0-9-]{3,40}$/;
/** An event type a camera may report, and what a timeline filter may name. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function cameraTopic(deviceId: string, channel: CameraChannel | 'cmd'): string {
  return `${TOPIC_ROOT}/${deviceId}/${channel}`;
}

/** A camera's topics, as its enrolment shows them. */
export function cameraTopics(deviceId: string): { status: string; event: string; commands: string } {
  return { status: cameraTopic(deviceId, 'status'), event: cameraTopic(deviceId, 'event'), commands: cameraCommandFilter(deviceId) };
}

/** The topic filter a camera may subscribe to (its own commands). */
export function cameraCommandFilter(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/cmd/#`;
}

/** Checks that `topic` is one of the device's own publish topics. */
export function parsePublishTopic(topic: string, deviceId: string): { ok: true; channel: CameraChannel } | Rejection {
  // Compared in place (no prefix string built per message): "<root>/<deviceId>/<channel>".
  const own = topic.startsWith(TOPIC_ROOT) && topic.charCodeAt(TOPIC_ROOT.length) === SLASH && topic.startsWith(deviceId, TOPIC_ROOT.length + 1) && topic.charCodeAt(TOPIC_ROOT.length + 1 + deviceId.length) === SLASH;
  if (!own) return TOPIC_NOT_OWN;
  const restAt = TOPIC_ROOT.length + deviceId.length + 2;
  if (topic.length === restAt + 6 && topic.endsWith('status')) return CHANNEL_STATUS;
  if (topic.length === restAt + 5 && topic.endsWith('event')) return CHANNEL_EVENT;
  return TOPIC_UNKNOWN_CHANNEL;
}
const SLASH = 0x2f;
const CHANNEL_STATUS = Object.freeze({ ok: true, channel: 'status' } as const);
const CHANNEL_EVENT = Object.freeze({ ok: true, channel: 'event' } as const);
const TOPIC_NOT_OWN = Object.freeze({ ok: false, reason: 'topic_not_own' } as const);
const TOPIC_UNKNOWN_CHANNEL = Object.freeze({ ok: false, reason: 'topic_unknown_channel' } as const);

/** A device may subscribe to its own command topics only: cmd/#, cmd/+ or an exact cmd/<name>. */
export function isAllowedSubscription(filter: string, deviceId: string): boolean {
  const base = `${TOPIC_ROOT}/${deviceId}/cmd`;
  if (filter === `${base}/#` || filter === base) return true;
  if (!filter.startsWith(`${base}/`)) return false;
  const tail = filter.slice(base.length + 1);
  // '#' only as the whole last level; '+' allowed as whole levels below cmd/.
  return tail.split('/').every((level, i, all) => level.length > 0 && (level === '+' || (level === '#' ? i === all.length - 1 : !/[+#]/.test(level))));
}

export function isValidDeviceId(id: string): boolean {
  return DEVICE_ID_PATTERN.test(id);
}

function decodeObject(payload: Uint8Array, maxBytes: number): { ok: true; obj: Record<string, unknown> } | Rejection {
  if (payload.length === 0) return { ok: false, reason: 'payload_empty' };
  if (payload.length > maxBytes) return { ok: false, reason: 'payload_too_large' };
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { ok: false, reason: 'payload_not_utf8' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'payload_not_json' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, reason: 'payload_not_object' };
  return { ok: true, obj: value as Record<string, unknown> };
}

type FieldCheck = (v: unknown) => boolean;
/**
 * Turns what real firmware sends into the one form stored, before the field's check: `state` in
 * any letter case ("Online"), `rssi` as a numeric string ("-60"). Anything else is left as it is.
 */
const STATUS_NORMALIZE: Record<string, (v: unknown) => unknown> = {
  // The usual lower-case form passes as it is (no new string per message).
  state: (v) => (v === 'online' || v === 'offline' || typeof v !== 'string' || v.length > 16 ? v : v.toLowerCase()),
  rssi: (v) => (typeof v === 'string' && /^-?\d{1,3}$/.test(v) ? Number(v) : v),
};
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
/** UTF-8 takes at most 3 bytes per UTF-16 unit: short strings need no byte count. */
const fitsBytes = (v: string, maxBytes: number) => v.length * 3 <= maxBytes || Buffer.byteLength(v) <= maxBytes;
const shortText =
  (maxBytes: number): FieldCheck =>
  (v) =>
    typeof v === 'string' && v.length > 0 && fitsBytes(v, maxBytes) && !CONTROL_CHARS.test(v);
const EVENT_DETAIL = shortText(256);

const STATUS_FIELDS: Record<string, FieldCheck> = {
  state: (v) => v === 'online' || v === 'offline',
  model: shortText(64),
  firmware: shortText(64),
  // IEEE 802.11 SSIDs are at most 32 octets.
  ssid: (v) => typeof v === 'string' && fitsBytes(v, 32) && !/[\u0000-\u001f]/.test(v),
  ip: (v) => typeof v === 'string' && isIpOrSubnet(v),
  rssi: (v) => typeof v === 'number' && Number.isInteger(v) && v >= -127 && v <= 0,
};

/** hearth's rule for one status field (not `state`), as firmware profiles use it: a reason, or undefined. */
export function statusFieldProblem(key: string, value: unknown): string | undefined {
  const check = key !== 'state' && Object.hasOwn(STATUS_FIELDS, key) ? STATUS_FIELDS[key] : undefined;
  return check?.(value) ? undefined : `status_bad_${key}`;
}

export function parseStatus(payload: Uint8Array, maxBytes: number): Parsed<CameraStatus> {
  const decoded = decodeObject(payload, maxBytes);
  if (!decoded.ok) return decoded;
  const obj = decoded.obj;
  const out: Record<string, unknown> = {};
  let dropped = 0;
  // JSON.parse gives a plain object with own, enumerable keys only (a "__proto__" key included).
  for (const key in obj) {
    const check = Object.hasOwn(STATUS_FIELDS, key) ? STATUS_FIELDS[key] : undefined;
    if (!check) {
      dropped++;
      continue;
    }
    const normalize = Object.hasOwn(STATUS_NORMALIZE, key) ? STATUS_NORMALIZE[key] : undefined;
    const value = normalize ? normalize(obj[key]) : obj[key];
    if (!check(value)) return { ok: false, reason: `status_bad_${key}` };
    out[key] = value;
  }
  if (out.state === undefined) return { ok: false, reason: 'status_missing_state' };
  return { ok: true, value: out as unknown as CameraStatus, droppedFields: dropped };
}

/** Earliest device time accepted (2020-01-01): older clocks are unset clocks. */
const MIN_EVENT_TS = Date.UTC(2020, 0, 1);
const MAX_CLOCK_SKEW_MS = 24 * 3600 * 1000;

export function parseEvent(payload: Uint8Array, maxBytes: number, now: number): Parsed<CameraEvent> {
  const decoded = decodeObject(payload, maxBytes);
  if (!decoded.ok) return decoded;
  const obj = decoded.obj;
  const { type, ts, detail } = obj;
  let dropped = 0;
  for (const key in obj) if (key !== 'type' && key !== 'ts' && key !== 'detail') dropped++;
  if (typeof type !== 'string' || !EVENT_TYPE_PATTERN.test(type)) return { ok: false, reason: 'event_bad_type' };
  if (RESERVED_EVENT_TYPES.has(type)) return { ok: false, reason: 'event_reserved_type' };
  if (!KNOWN_EVENT_TYPES.includes(type)) return { ok: false, reason: 'event_unknown_type' };
  // No time, or 0 (a camera that has no clock from NTP yet): the hub's receive time stands in.
  if (ts !== undefined && (typeof ts !== 'number' || !Number.isInteger(ts))) return { ok: false, reason: 'event_bad_ts' };
  // Accept seconds or milliseconds; cameras differ. Anything outside a sane range is refused.
  const tsMs = ts === undefined || ts === 0 ? now : ts < 1e11 ? ts * 1000 : ts;
  if (tsMs < MIN_EVENT_TS || tsMs > now + MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'event_ts_out_of_range' };
  if (detail !== undefined && !EVENT_DETAIL(detail)) return { ok: false, reason: 'event_bad_detail' };
  const value: CameraEvent = { type, ts: tsMs };
  if (detail !== undefined) value.detail = detail as string;
  return { ok: true, value, droppedFields: dropped };
}

function isIpOrSubnet(v: string): boolean {
  if (v.length > 49) return false;
  const slash = v.indexOf('/');
  if (slash < 0) return isIP(v) !== 0;
  const addr = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}
