/**
 * Bluetooth SIG Body Composition Measurement (characteristic 0x2A9C, Body Composition Service
 * 0x181B), including measurements split over two indications.
 *
 * Flags (uint16): bit 0 units (0 = SI, 1 = imperial), 1 time stamp, 2 user id, 3 basal metabolism,
 * 4 muscle percentage, 5 muscle mass, 6 fat free mass, 7 soft lean mass, 8 body water mass,
 * 9 impedance, 10 weight, 11 height, 12 multiple packet measurement; 13–15 reserved.
 * Then body fat percentage uint16 (0.1 %, always present; 0xFFFF = measurement unsuccessful) and
 * the optional fields in flag order: time stamp (7 bytes), user id uint8, basal metabolism uint16
 * (kJ), muscle percentage uint16 (0.1 %), then muscle, fat free, soft lean and body water masses,
 * impedance uint16 (0.1 Ω), weight and height. Masses are 0.005 kg or 0.01 lb, height 0.001 m or
 * 0.1 in.
 *
 * A measurement longer than the link's ATT payload is sent as two packets with bit 12 set in both;
 * each packet repeats the flags (describing its own fields) and the body fat percentage, the
 * first carries the time stamp and user id. Reassembly here is a pure reducer over packets.
 */
import {
  ByteReader,
  emptyMeasurement,
  formatDateTime,
  MAX_FRAME_BYTES,
  readDateTime,
  reject,
  round,
  toKg,
  type DecodeResult,
  type ScaleMeasurement,
} from '../measurement.js';

const BIT = {
  imperial: 1 << 0,
  timeStamp: 1 << 1,
  userId: 1 << 2,
  basalMetabolism: 1 << 3,
  musclePercent: 1 << 4,
  muscleMass: 1 << 5,
  fatFreeMass: 1 << 6,
  softLeanMass: 1 << 7,
  bodyWaterMass: 1 << 8,
  impedance: 1 << 9,
  weight: 1 << 10,
  height: 1 << 11,
  multiplePacket: 1 << 12,
} as const;

const UNSUCCESSFUL = 0xffff;
const UNKNOWN_USER = 0xff;
const INCHES_TO_M = 0.0254;
/** Fields other than the time stamp and user id: the spec leaves them out of an unsuccessful measurement. */
const MEASURED_FIELDS_MASK = 0x0ff8;

/** Measurement fields a packet can carry (beyond the mandatory body fat percentage). */
const OPTIONAL_FIELDS = [
  'scaleTime',
  'userId',
  'basalMetabolismKj',
  'musclePercent',
  'muscleMassKg',
  'fatFreeMassKg',
  'softLeanMassKg',
  'bodyWaterMassKg',
  'impedanceOhm',
  'weightKg',
  'heightM',
] as const satisfies readonly (keyof ScaleMeasurement)[];

export interface BodyCompositionPacket {
  measurement: ScaleMeasurement;
  multiplePacket: boolean;
  /** Which optional fields this packet carried (a field can be present with a null value, e.g. user 0xFF). */
  present: Set<(typeof OPTIONAL_FIELDS)[number]>;
}

export type PacketResult = { ok: true; packet: BodyCompositionPacket } | Extract<DecodeResult, { ok: false }>;

/** Decodes one 0x2A9C value on its own (one packet of a possibly split measurement). */
export function decodeBodyCompositionPacket(bytes: Uint8Array): PacketResult {
  if (bytes.length === 0) return { ok: false, code: 'empty', reason: 'frame is empty' };
  if (bytes.length > MAX_FRAME_BYTES) return { ok: false, code: 'oversized', reason: `frame is ${bytes.length} bytes, more than any scale frame` };
  const r = new ByteReader(bytes);
  const flags = r.u16('flags');
  const fat = r.u16('body fat percentage');
  if (flags === undefined || fat === undefined) return truncated(r);
  const imperial = (flags & BIT.imperial) !== 0;
  const m = emptyMeasurement('2a9c', imperial ? 'lb' : 'kg');
  const present = new Set<(typeof OPTIONAL_FIELDS)[number]>();

  if (fat === UNSUCCESSFUL) {
    if (flags & MEASURED_FIELDS_MASK) {
      return { ok: false, code: 'inconsistent', reason: 'measurement is marked unsuccessful but carries measured fields' };
    }
    return { ok: false, code: 'unsuccessful', reason: 'the scale reported the measurement as unsuccessful' };
  }
  if (fat > 1000) return { ok: false, code: 'inconsistent', reason: 'body fat percentage is above 100 %' };
  m.bodyFatPercent = round(fat / 10, 1);

  const mass = (raw: number) => {
    const reported = imperial ? round(raw / 100, 2) : round(raw / 200, 3);
    return { reported, kg: toKg(reported, m.unit) };
  };

  if (flags & BIT.timeStamp) {
    const t = readDateTime(r);
    if (!t) return truncated(r);
    const formatted = formatDateTime(t);
    if ('problem' in formatted) return { ok: false, code: 'inconsistent', reason: formatted.problem };
    m.scaleTime = formatted.value;
    present.add('scaleTime');
  }
  if (flags & BIT.userId) {
    const user = r.u8('user id');
    if (user === undefined) return truncated(r);
    m.userId = user === UNKNOWN_USER ? null : user;
    present.add('userId');
  }
  if (flags & BIT.basalMetabolism) {
    const v = r.u16('basal metabolism');
    if (v === undefined) return truncated(r);
    m.basalMetabolismKj = v;
    present.add('basalMetabolismKj');
  }
  if (flags & BIT.musclePercent) {
    const v = r.u16('muscle percentage');
    if (v === undefined) return truncated(r);
    if (v > 1000) return { ok: false, code: 'inconsistent', reason: 'muscle percentage is above 100 %' };
    m.musclePercent = round(v / 10, 1);
    present.add('musclePercent');
  }
  const masses = [
    [BIT.muscleMass, 'muscle mass', 'muscleMassKg'],
    [BIT.fatFreeMass, 'fat free mass', 'fatFreeMassKg'],
    [BIT.softLeanMass, 'soft lean mass', 'softLeanMassKg'],
    [BIT.bodyWaterMass, 'body water mass', 'bodyWaterMassKg'],
  ] as const;
  for (const [bit, label, key] of masses) {
    if (!(flags & bit)) continue;
    const v = r.u16(label);
    if (v === undefined) return truncated(r);
    m[key] = mass(v).kg;
    present.add(key);
  }
  if (flags & BIT.impedance) {
    const v = r.u16('impedance');
    if (v === undefined) return truncated(r);
    m.impedanceOhm = round(v / 10, 1);
    present.add('impedanceOhm');
  }
  if (flags & BIT.weight) {
    const v = r.u16('weight');
    if (v === undefined) return truncated(r);
    const w = mass(v);
    m.weightReported = w.reported;
    m.weightKg = w.kg;
    present.add('weightKg');
  }
  if (flags & BIT.height) {
    const v = r.u16('height');
    if (v === undefined) return truncated(r);
    m.heightM = imperial ? round((v / 10) * INCHES_TO_M, 3) : round(v / 1000, 3);
    present.add('heightM');
  }
  if (r.remaining > 0) return { ok: false, code: 'oversized', reason: `frame has ${r.remaining} byte(s) after the fields its flags announce` };
  if (m.weightKg !== null && m.weightKg > 0 && largestComponentKg(m) > m.weightKg * 1.001) {
    return { ok: false, code: 'inconsistent', reason: 'a component mass is larger than the body weight' };
  }
  return { ok: true, packet: { measurement: m, multiplePacket: (flags & BIT.multiplePacket) !== 0, present } };
}

/** The largest single component mass (each one alone must not exceed the weight). */
function largestComponentKg(m: ScaleMeasurement): number {
  return Math.max(m.muscleMassKg ?? 0, m.fatFreeMassKg ?? 0, m.softLeanMassKg ?? 0, m.bodyWaterMassKg ?? 0);
}

function truncated(r: ByteReader): Extract<DecodeResult, { ok: false }> {
  return { ok: false, code: 'truncated', reason: r.truncationReason() };
}

/** Reassembly state for one scale: the first half of a split measurement, if one is waiting. */
export interface BodyCompositionAssembly {
  pending: { packet: BodyCompositionPacket; at: number } | null;
}

export const EMPTY_ASSEMBLY: BodyCompositionAssembly = { pending: null };
/** How long the first packet of a split measurement waits for its second. */
export const DEFAULT_PACKET_TIMEOUT_MS = 10_000;

/**
 * Feeds one indication. Returns the new state and zero or more results: a whole measurement, a
 * rejected packet, or the rejection of a first half whose second half never came.
 */
export function pushBodyCompositionPacket(
  state: BodyCompositionAssembly,
  bytes: Uint8Array,
  now: number,
  timeoutMs = DEFAULT_PACKET_TIMEOUT_MS,
): { state: BodyCompositionAssembly; results: DecodeResult[] } {
  const results: DecodeResult[] = [];
  let pending = state.pending;
  if (pending && now - pending.at > timeoutMs) {
    results.push(incomplete());
    pending = null;
  }
  const decoded = decodeBodyCompositionPacket(bytes);
  if (!decoded.ok) {
    // A broken packet also breaks the measurement it belonged to.
    if (pending) results.push(incomplete());
    results.push(decoded);
    return { state: EMPTY_ASSEMBLY, results };
  }
  const packet = decoded.packet;
  if (!packet.multiplePacket) {
    if (pending) results.push(incomplete());
    results.push({ ok: true, measurement: packet.measurement });
    return { state: EMPTY_ASSEMBLY, results };
  }
  if (!pending) return { state: { pending: { packet, at: now } }, results };
  results.push(mergePackets(pending.packet, packet));
  return { state: EMPTY_ASSEMBLY, results };
}

/** Decodes a whole capture of consecutive 0x2A9C values (one or more measurements). */
export function decodeBodyCompositionPackets(packets: Uint8Array[]): DecodeResult[] {
  let state = EMPTY_ASSEMBLY;
  const out: DecodeResult[] = [];
  for (const p of packets) {
    const step = pushBodyCompositionPacket(state, p, 0);
    state = step.state;
    out.push(...step.results);
  }
  if (state.pending) out.push(incomplete());
  return out;
}

function incomplete(): DecodeResult {
  return reject('truncated', 'multi-packet measurement is missing its second packet');
}

function mergePackets(first: BodyCompositionPacket, second: BodyCompositionPacket): DecodeResult {
  const a = first.measurement;
  const b = second.measurement;
  if (a.unit !== b.unit) return reject('inconsistent', 'the two packets of one measurement use different units');
  if (a.bodyFatPercent !== b.bodyFatPercent) return reject('inconsistent', 'the two packets of one measurement disagree on body fat percentage');
  const merged: ScaleMeasurement = { ...a };
  for (const field of OPTIONAL_FIELDS) {
    if (!second.present.has(field)) continue;
    if (first.present.has(field) && a[field] !== b[field]) {
      return reject('inconsistent', `the two packets of one measurement disagree on ${field}`);
    }
    (merged as unknown as Record<string, unknown>)[field] = b[field];
  }
  if (second.present.has('weightKg')) merged.weightReported = b.weightReported;
  if (merged.weightKg !== null && largestComponentKg(merged) > merged.weightKg * 1.001) {
    return reject('inconsistent', 'a component mass is larger than the body weight');
  }
  return { ok: true, measurement: merged };
}
