/**
 * What every scale decoder produces: one measurement in SI units (kilograms, metres), with the unit
 * the scale itself displayed, or a rejection with a reason. Decoders are pure and total: any byte
 * string, however short, long or contradictory, yields one of the two, never an exception.
 */

export const SCALE_FORMATS = ['2a9d', '2a9c', 'mi-scale-2', 'mi-body-composition'] as const;
export type ScaleFormat = (typeof SCALE_FORMATS)[number];

export function isScaleFormat(value: string): value is ScaleFormat {
  return (SCALE_FORMATS as readonly string[]).includes(value);
}

/** The unit the scale reported in; values in a measurement are always converted to SI. */
export type ReportedUnit = 'kg' | 'lb' | 'jin';

export interface ScaleMeasurement {
  format: ScaleFormat;
  unit: ReportedUnit;
  weightKg: number | null;
  /** The weight as the scale displayed it, in `unit`. */
  weightReported: number | null;
  heightM: number | null;
  bmi: number | null;
  bodyFatPercent: number | null;
  basalMetabolismKj: number | null;
  musclePercent: number | null;
  muscleMassKg: number | null;
  fatFreeMassKg: number | null;
  softLeanMassKg: number | null;
  bodyWaterMassKg: number | null;
  impedanceOhm: number | null;
  /** The scale's own clock (local time, zone unknown) as YYYY-MM-DDTHH:MM:SS; null when unset or absent. */
  scaleTime: string | null;
  /** The scale's user slot (Weight Scale / Body Composition user id); null when absent or "unknown user". */
  userId: number | null;
  stabilized: boolean;
  weightRemoved: boolean;
}

/** Machine-readable rejection classes, counted by the reader (the reason text is for people). */
export type RejectCode = 'empty' | 'truncated' | 'oversized' | 'inconsistent' | 'unsuccessful' | 'not-stabilized' | 'no-load';

export type DecodeResult =
  | { ok: true; measurement: ScaleMeasurement }
  | { ok: false; code: RejectCode; reason: string; partial?: Partial<ScaleMeasurement> };

/** Largest value an ATT attribute can hold; anything longer is not a scale frame. */
export const MAX_FRAME_BYTES = 512;

export const KG_PER_LB = 0.45359237;
export const KG_PER_JIN = 0.5;

export function emptyMeasurement(format: ScaleFormat, unit: ReportedUnit): ScaleMeasurement {
  return {
    format,
    unit,
    weightKg: null,
    weightReported: null,
    heightM: null,
    bmi: null,
    bodyFatPercent: null,
    basalMetabolismKj: null,
    musclePercent: null,
    muscleMassKg: null,
    fatFreeMassKg: null,
    softLeanMassKg: null,
    bodyWaterMassKg: null,
    impedanceOhm: null,
    scaleTime: null,
    userId: null,
    stabilized: true,
    weightRemoved: false,
  };
}

export function reject(code: RejectCode, reason: string, partial?: Partial<ScaleMeasurement>): DecodeResult {
  return partial ? { ok: false, code, reason, partial } : { ok: false, code, reason };
}

/** Rounds away binary noise (61.75000000000001) without losing any scale resolution. */
export function round(value: number, decimals = 3): number {
  const p = 10 ** decimals;
  return Math.round(value * p) / p;
}

export function toKg(value: number, unit: ReportedUnit): number {
  return round(unit === 'kg' ? value : unit === 'lb' ? value * KG_PER_LB : value * KG_PER_JIN);
}

/**
 * Bounds-checked little-endian reader. Reads past the end return undefined and remember the first
 * field that did not fit, so decoders can reject with a precise reason instead of throwing.
 */
export class ByteReader {
  offset = 0;
  missing: { field: string; need: number; at: number } | undefined;

  constructor(readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  u8(field: string): number | undefined {
    if (!this.has(field, 1)) return undefined;
    return this.bytes[this.offset++]!;
  }

  u16(field: string): number | undefined {
    if (!this.has(field, 2)) return undefined;
    const v = this.bytes[this.offset]! | (this.bytes[this.offset + 1]! << 8);
    this.offset += 2;
    return v;
  }

  private has(field: string, n: number): boolean {
    if (this.missing) return false;
    if (this.offset + n > this.bytes.length) {
      this.missing = { field, need: n, at: this.offset };
      return false;
    }
    return true;
  }

  truncationReason(): string {
    const m = this.missing!;
    return `frame is truncated: ${m.field} needs ${m.need} byte(s) at offset ${m.at} but the frame has ${this.bytes.length}`;
  }
}

/** The Bluetooth "Date Time" layout (7 bytes) as read by the caller; 0 in year/month/day means unknown. */
export interface DateTimeFields {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
}

/** Reads a Date Time (7 bytes). Undefined when truncated. */
export function readDateTime(r: ByteReader): DateTimeFields | undefined {
  const year = r.u16('time stamp');
  const month = r.u8('time stamp');
  const day = r.u8('time stamp');
  const hours = r.u8('time stamp');
  const minutes = r.u8('time stamp');
  const seconds = r.u8('time stamp');
  if (seconds === undefined) return undefined;
  return { year: year!, month: month!, day: day!, hours: hours!, minutes: minutes!, seconds };
}

/**
 * Checks a Date Time against its field ranges. Returns a problem string when a component is out of
 * range, null when the clock is unset (a zero year, month or day), or the ISO-like local string.
 */
export function formatDateTime(t: DateTimeFields): { problem: string } | { value: string | null } {
  if (t.month > 12 || t.day > 31 || t.hours > 23 || t.minutes > 59 || t.seconds > 59) {
    return { problem: 'time stamp has an out-of-range component' };
  }
  if (t.year === 0 || t.month === 0 || t.day === 0) return { value: null };
  if (t.year < 1582 || t.year > 9999) return { problem: 'time stamp year is out of range' };
  const p = (n: number) => String(n).padStart(2, '0');
  return { value: `${t.year}-${p(t.month)}-${p(t.day)}T${p(t.hours)}:${p(t.minutes)}:${p(t.seconds)}` };
}

/** Parses user-pasted hex ("0x", spaces, colons and dashes allowed). Undefined when it is not hex. */
export function parseHex(text: string): Uint8Array | undefined {
  const clean = text.replace(/0x/gi, '').replace(/[\s:,-]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) return undefined;
  if (clean.length / 2 > MAX_FRAME_BYTES) return undefined;
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}
