/**
 * A camera firmware profile: which topics a camera running that firmware uses under the value the
 * household typed into its settings (`--topic`), and a pure interpreter that turns each message
 * into hearth's own records (status fields, events, presence) or a refusal reason. Profiles do no
 * I/O; the camera runtime applies their verdicts (see ../service.ts).
 */
import { statusFieldProblem, type CameraStatus } from '../protocol.js';

export const PROFILE_NAMES = ['hearth', 'frigate', 'thingino', 'dafang', 'tasmota', 'esphome', 'rule'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/** What a message becomes. `status` never carries `state`; presence is its own item. */
export type ProfileItem =
  | { kind: 'status'; status: Omit<CameraStatus, 'state'> }
  /** `source`: which of an NVR's cameras it happened on (each becomes a camera device of its own). */
  | { kind: 'event'; type: string; detail?: string; source?: string }
  | { kind: 'presence'; online: boolean };

export type Interpretation =
  /** Accepted; `items` may be empty (a message hearth does not keep), `dropped` says why. */
  | { ok: true; items: ProfileItem[]; dropped?: 'image' | 'not_kept' }
  | { ok: false; reason: string };

export interface TopicRules {
  /** Filters the camera may publish to and owns: no other camera may claim an overlapping one. */
  publish: string[];
  /** Filters it may also publish to that nobody owns (Home Assistant discovery): accepted, dropped. */
  tolerated: string[];
  /** Filters its subscriptions must stay inside. */
  subscribe: string[];
}

export interface FirmwareProfile {
  readonly name: Exclude<ProfileName, 'hearth'>;
  /** One line for the enrol page and the CLI: what to type as --topic. */
  readonly topicHelp: string;
  /**
   * How the hub knows the camera is online: 'connection' (a long-lived client, with a will) or
   * 'timer' (a client per message: online while its periodic messages arrive).
   */
  readonly presence: 'connection' | 'timer';
  /** For 'timer': how often the firmware reports (ms); offline after PRESENCE_GRACE of these. */
  readonly reportIntervalMs?: number;
  /** Why the value cannot be this firmware's topic, or undefined. */
  topicProblem?(root: string): string | undefined;
  rules(root: string): TopicRules;
  /** `topic` is known to match one of rules(root).publish or .tolerated. */
  interpret(root: string, topic: string, payload: Uint8Array): Interpretation;
}

/** A 'timer' camera is offline after this many report intervals without a message. */
export const PRESENCE_GRACE = 3;

// ---- helpers shared by the profiles ----

const utf8 = new TextDecoder('utf-8', { fatal: true });

export const ACCEPTED_NOTHING: Interpretation = Object.freeze({ ok: true, items: [], dropped: 'not_kept' }) as Interpretation;
export const IMAGE_DROPPED: Interpretation = Object.freeze({ ok: true, items: [], dropped: 'image' }) as Interpretation;
export const refuse = (reason: string): Interpretation => ({ ok: false, reason });
export const accept = (...items: ProfileItem[]): Interpretation => ({ ok: true, items });

/** Text payloads of these firmwares are short; anything longer is not a value hearth keeps. */
const MAX_TEXT_BYTES = 4096;

/** A JPEG (FF D8 FF) or PNG (89 50 4E 47) as firmware publishes snapshots. */
export function isImage(payload: Uint8Array): boolean {
  return (payload.length >= 3 && payload[0] === 0xff && payload[1] === 0xd8 && payload[2] === 0xff) || (payload.length >= 4 && payload[0] === 0x89 && payload[1] === 0x50 && payload[2] === 0x4e && payload[3] === 0x47);
}

/** The payload as text, or undefined if it is not short UTF-8. */
export function text(payload: Uint8Array): string | undefined {
  if (payload.length > MAX_TEXT_BYTES) return undefined;
  try {
    return utf8.decode(payload).trim();
  } catch {
    return undefined;
  }
}

/** The payload as a JSON object, or a refusal reason. */
export function jsonObject(payload: Uint8Array): Record<string, unknown> | string {
  const t = text(payload);
  if (t === undefined) return 'payload_not_utf8';
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return 'payload_not_json';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'payload_not_object';
  return v as Record<string, unknown>;
}

/** ON/OFF as the firmwares write it (also 1/0, true/false), or undefined. */
export function onOff(t: string | undefined): boolean | undefined {
  if (t === undefined) return undefined;
  const v = t.toLowerCase();
  if (v === 'on' || v === '1' || v === 'true') return true;
  if (v === 'off' || v === '0' || v === 'false') return false;
  return undefined;
}

/** online/offline in any case; Frigate's clean-exit `stopped` counts as offline. */
export function availability(t: string | undefined): boolean | undefined {
  const v = t?.toLowerCase();
  if (v === 'online') return true;
  if (v === 'offline' || v === 'stopped') return false;
  return undefined;
}

/** A dBm value from a number or numeric text (ESPHome sends "-61.00000"), rounded; undefined if none. */
export function dbm(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d{1,3}(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isFinite(n)) return undefined;
  return Math.round(n);
}

/**
 * Builds a status item from candidate fields, each checked by hearth's own status rules; a field
 * that fails refuses the message with the same reason hearth's protocol gives (status_bad_<field>).
 */
export function statusItem(fields: Partial<Record<'model' | 'firmware' | 'ssid' | 'ip' | 'rssi', unknown>>): ProfileItem | string {
  const status: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const problem = statusFieldProblem(key, value);
    if (problem) return problem;
    status[key] = value;
  }
  return { kind: 'status', status };
}

/** Sealed event detail: at most 256 bytes, cut at a character boundary, control characters out. */
export function detailText(s: string): string | undefined {
  let clean = s.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (clean.length === 0) return undefined;
  while (Buffer.byteLength(clean) > 256) clean = clean.slice(0, -1);
  return clean;
}

/** The levels of `topic` after `root/`, or undefined if it is not under root. */
export function levelsUnder(root: string, topic: string): string[] | undefined {
  if (topic === root) return [];
  if (!topic.startsWith(`${root}/`)) return undefined;
  return topic.slice(root.length + 1).split('/');
}
