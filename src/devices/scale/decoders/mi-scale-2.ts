/**
 * Xiaomi Mi Smart Scale 2 (XMTZC04HM; also the first Mi Smart Scale, XMTZC01HM): advertisement
 * service data under UUID 0x181D, 10 bytes, no connection needed. Layout (reverse engineered by
 * openScale, lolouk44/xiaomi_mi_scale, ESPHome and Theengs):
 *
 *   byte 0     control: bit 0 pounds, bit 4 jin (catty), bit 5 stabilized, bit 7 weight removed
 *   bytes 1–2  weight, uint16 LE: 0.005 kg (kg), 0.01 lb or 0.01 jin
 *   bytes 3–9  the scale's clock: year uint16 LE, month, day, hour, minute, second
 */
import {
  emptyMeasurement,
  formatDateTime,
  reject,
  round,
  toKg,
  type DecodeResult,
  type ReportedUnit,
} from '../measurement.js';

export const MI_SCALE_2_FRAME_BYTES = 10;

const CTRL_POUNDS = 1 << 0;
const CTRL_JIN = 1 << 4;
const CTRL_STABILIZED = 1 << 5;
const CTRL_WEIGHT_REMOVED = 1 << 7;

export function decodeMiScale2(bytes: Uint8Array): DecodeResult {
  if (bytes.length === 0) return reject('empty', 'frame is empty');
  if (bytes.length < MI_SCALE_2_FRAME_BYTES) return reject('truncated', `frame is ${bytes.length} bytes; Mi Scale 2 frames are ${MI_SCALE_2_FRAME_BYTES}`);
  if (bytes.length > MI_SCALE_2_FRAME_BYTES) return reject('oversized', `frame is ${bytes.length} bytes; Mi Scale 2 frames are ${MI_SCALE_2_FRAME_BYTES}`);
  const ctrl = bytes[0]!;
  const unit: ReportedUnit = ctrl & CTRL_POUNDS ? 'lb' : ctrl & CTRL_JIN ? 'jin' : 'kg';
  const raw = bytes[1]! | (bytes[2]! << 8);
  const m = emptyMeasurement('mi-scale-2', unit);
  m.weightReported = unit === 'kg' ? round(raw / 200, 3) : round(raw / 100, 2);
  m.weightKg = toKg(m.weightReported, unit);
  m.stabilized = (ctrl & CTRL_STABILIZED) !== 0;
  m.weightRemoved = (ctrl & CTRL_WEIGHT_REMOVED) !== 0;
  if (!m.stabilized) return reject('not-stabilized', 'reading is not stabilized yet', { unit, weightKg: m.weightKg, weightReported: m.weightReported });
  if (raw === 0) return reject('no-load', 'weight is zero');
  const time = formatDateTime({
    year: bytes[3]! | (bytes[4]! << 8),
    month: bytes[5]!,
    day: bytes[6]!,
    hours: bytes[7]!,
    minutes: bytes[8]!,
    seconds: bytes[9]!,
  });
  if ('problem' in time) return reject('inconsistent', time.problem);
  m.scaleTime = time.value;
  return { ok: true, measurement: m };
}
