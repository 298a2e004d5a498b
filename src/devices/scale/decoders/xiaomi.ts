/**
 * What the two Xiaomi advert formats share: a fixed frame length, a uint16 LE weight in 0.005 kg
 * (kg) or 0.01 lb / 0.01 jin, the stabilized and weight-removed flags, and the scale's clock as
 * seven bytes (year uint16 LE, month, day, hour, minute, second).
 */
import { emptyMeasurement, formatDateTime, reject, round, toKg, type DecodeResult, type ReportedUnit, type ScaleFormat, type ScaleMeasurement } from '../measurement.js';

/** Refuses a frame that is not exactly `expected` bytes; undefined when the length is right. */
export function frameLengthProblem(bytes: Uint8Array, expected: number, model: string): DecodeResult | undefined {
  if (bytes.length === 0) return reject('empty', 'frame is empty');
  if (bytes.length < expected) return reject('truncated', `frame is ${bytes.length} bytes; ${model} frames are ${expected}`);
  if (bytes.length > expected) return reject('oversized', `frame is ${bytes.length} bytes; ${model} frames are ${expected}`);
  return undefined;
}

/** The weight reading; only a stabilized, non-zero one becomes a measurement. */
export function xiaomiWeighIn(
  format: ScaleFormat,
  unit: ReportedUnit,
  raw: number,
  flags: { stabilized: boolean; weightRemoved: boolean },
): { ok: true; measurement: ScaleMeasurement } | { ok: false; result: DecodeResult } {
  const m = emptyMeasurement(format, unit);
  m.weightReported = unit === 'kg' ? round(raw / 200, 3) : round(raw / 100, 2);
  m.weightKg = toKg(m.weightReported, unit);
  m.stabilized = flags.stabilized;
  m.weightRemoved = flags.weightRemoved;
  if (!m.stabilized) return { ok: false, result: reject('not-stabilized', 'reading is not stabilized yet', { unit, weightKg: m.weightKg, weightReported: m.weightReported }) };
  if (raw === 0) return { ok: false, result: reject('no-load', 'weight is zero') };
  return { ok: true, measurement: m };
}

/** Sets the scale's clock from the seven bytes at `at`; a reason when they are not a real time. */
export function readXiaomiClock(bytes: Uint8Array, at: number, m: ScaleMeasurement): DecodeResult | undefined {
  const time = formatDateTime({
    year: bytes[at]! | (bytes[at + 1]! << 8),
    month: bytes[at + 2]!,
    day: bytes[at + 3]!,
    hours: bytes[at + 4]!,
    minutes: bytes[at + 5]!,
    seconds: bytes[at + 6]!,
  });
  if ('problem' in time) return reject('inconsistent', time.problem);
  m.scaleTime = time.value;
  return undefined;
}
