/**
 * Bluetooth SIG Weight Measurement (characteristic 0x2A9D, Weight Scale Service 0x181D).
 *
 * Flags (uint8): bit 0 units (0 = SI: kg and m, 1 = imperial: lb and in), bit 1 time stamp present,
 * bit 2 user id present, bit 3 BMI and height present; bits 4–7 reserved.
 * Then: weight uint16 (0.005 kg or 0.01 lb; 0xFFFF = measurement unsuccessful), time stamp
 * (Date Time, 7 bytes), user id uint8 (0xFF = unknown user), BMI uint16 (0.1 kg/m²), height uint16
 * (0.001 m or 0.1 in).
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
} from '../measurement.js';

const FLAG_IMPERIAL = 0x01;
const FLAG_TIME_STAMP = 0x02;
const FLAG_USER_ID = 0x04;
const FLAG_BMI_HEIGHT = 0x08;

export const UNSUCCESSFUL = 0xffff;
export const UNKNOWN_USER = 0xff;
const INCHES_TO_M = 0.0254;

export function decodeWeightMeasurement(bytes: Uint8Array): DecodeResult {
  if (bytes.length === 0) return reject('empty', 'frame is empty');
  if (bytes.length > MAX_FRAME_BYTES) return reject('oversized', `frame is ${bytes.length} bytes, more than any scale frame`);
  const r = new ByteReader(bytes);
  const flags = r.u8('flags')!;
  const imperial = (flags & FLAG_IMPERIAL) !== 0;
  const m = emptyMeasurement('2a9d', imperial ? 'lb' : 'kg');

  const rawWeight = r.u16('weight');
  if (rawWeight === undefined) return reject('truncated', r.truncationReason());
  if (rawWeight === UNSUCCESSFUL) return reject('unsuccessful', 'the scale reported the measurement as unsuccessful');
  m.weightReported = imperial ? round(rawWeight / 100, 2) : round(rawWeight / 200, 3);
  m.weightKg = toKg(m.weightReported, m.unit);

  if (flags & FLAG_TIME_STAMP) {
    const t = readDateTime(r);
    if (!t) return reject('truncated', r.truncationReason());
    const formatted = formatDateTime(t);
    if ('problem' in formatted) return reject('inconsistent', formatted.problem);
    m.scaleTime = formatted.value;
  }
  if (flags & FLAG_USER_ID) {
    const user = r.u8('user id');
    if (user === undefined) return reject('truncated', r.truncationReason());
    m.userId = user === UNKNOWN_USER ? null : user;
  }
  if (flags & FLAG_BMI_HEIGHT) {
    const bmi = r.u16('BMI');
    const height = r.u16('height');
    if (height === undefined) return reject('truncated', r.truncationReason());
    m.bmi = round(bmi! / 10, 1);
    m.heightM = imperial ? round((height / 10) * INCHES_TO_M, 3) : round(height / 1000, 3);
  }
  if (r.remaining > 0) return reject('oversized', `frame has ${r.remaining} byte(s) after the fields its flags announce`);
  if (m.weightKg === 0) return reject('no-load', 'weight is zero');
  return { ok: true, measurement: m };
}
