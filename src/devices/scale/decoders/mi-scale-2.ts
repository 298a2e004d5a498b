/**
 * Xiaomi Mi Smart Scale 2 (XMTZC04HM; also the first Mi Smart Scale, XMTZC01HM): advertisement
 * service data under UUID 0x181D, 10 bytes, no connection needed. Layout (reverse engineered by
 * openScale, lolouk44/xiaomi_mi_scale, ESPHome and Theengs):
 *
 *   byte 0     control: bit 0 pounds, bit 4 jin (catty), bit 5 stabilized, bit 7 weight removed
 *   bytes 1–2  weight, uint16 LE: 0.005 kg (kg), 0.01 lb or 0.01 jin
 *   bytes 3–9  the scale's clock: year uint16 LE, month, day, hour, minute, second
 */
import type { DecodeResult, ReportedUnit } from '../measurement.js';
import { frameLengthProblem, readXiaomiClock, xiaomiWeighIn } from './xiaomi.js';

export const MI_SCALE_2_FRAME_BYTES = 10;

const CTRL_POUNDS = 1 << 0;
const CTRL_JIN = 1 << 4;
const CTRL_STABILIZED = 1 << 5;
const CTRL_WEIGHT_REMOVED = 1 << 7;

export function decodeMiScale2(bytes: Uint8Array): DecodeResult {
  const lengthProblem = frameLengthProblem(bytes, MI_SCALE_2_FRAME_BYTES, 'Mi Scale 2');
  if (lengthProblem) return lengthProblem;
  const ctrl = bytes[0]!;
  const unit: ReportedUnit = ctrl & CTRL_POUNDS ? 'lb' : ctrl & CTRL_JIN ? 'jin' : 'kg';
  const reading = xiaomiWeighIn('mi-scale-2', unit, bytes[1]! | (bytes[2]! << 8), { stabilized: (ctrl & CTRL_STABILIZED) !== 0, weightRemoved: (ctrl & CTRL_WEIGHT_REMOVED) !== 0 });
  if (!reading.ok) return reading.result;
  const m = reading.measurement;
  return readXiaomiClock(bytes, 3, m) ?? { ok: true, measurement: m };
}
