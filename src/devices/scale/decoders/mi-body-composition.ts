/**
 * Xiaomi Mi Body Composition Scale (XMTZC02HM) and Mi Body Composition Scale 2 (XMTZC05HM):
 * advertisement service data under UUID 0x181B, 13 bytes, no connection needed. Layout (reverse
 * engineered by openScale, lolouk44/xiaomi_mi_scale, ESPHome and Theengs):
 *
 *   byte 0      control 0: bit 0 pounds
 *   byte 1      control 1: bit 1 impedance present, bit 5 stabilized, bit 6 jin (as read by
 *               openScale), bit 7 weight removed
 *   bytes 2–8   the scale's clock: year uint16 LE, month, day, hour, minute, second
 *   bytes 9–10  impedance, uint16 LE, ohms (only meaningful when flagged)
 *   bytes 11–12 weight, uint16 LE: 0.005 kg (kg), 0.01 lb or 0.01 jin
 */
import { reject, type DecodeResult, type ReportedUnit } from '../measurement.js';
import { frameLengthProblem, readXiaomiClock, xiaomiWeighIn } from './xiaomi.js';

export const MI_BODY_COMPOSITION_FRAME_BYTES = 13;

const CTRL0_POUNDS = 1 << 0;
const CTRL1_IMPEDANCE = 1 << 1;
const CTRL1_STABILIZED = 1 << 5;
const CTRL1_JIN = 1 << 6;
const CTRL1_WEIGHT_REMOVED = 1 << 7;
/** Impedances the scale reports when it has none (0, 0xFFFD...) fall outside what a body measures. */
const MAX_PLAUSIBLE_IMPEDANCE = 3000;

export function decodeMiBodyComposition(bytes: Uint8Array): DecodeResult {
  const lengthProblem = frameLengthProblem(bytes, MI_BODY_COMPOSITION_FRAME_BYTES, 'Mi Body Composition');
  if (lengthProblem) return lengthProblem;
  const ctrl0 = bytes[0]!;
  const ctrl1 = bytes[1]!;
  const unit: ReportedUnit = ctrl0 & CTRL0_POUNDS ? 'lb' : ctrl1 & CTRL1_JIN ? 'jin' : 'kg';
  const reading = xiaomiWeighIn('mi-body-composition', unit, bytes[11]! | (bytes[12]! << 8), { stabilized: (ctrl1 & CTRL1_STABILIZED) !== 0, weightRemoved: (ctrl1 & CTRL1_WEIGHT_REMOVED) !== 0 });
  if (!reading.ok) return reading.result;
  const m = reading.measurement;
  if (ctrl1 & CTRL1_IMPEDANCE) {
    const impedance = bytes[9]! | (bytes[10]! << 8);
    if (impedance === 0 || impedance >= MAX_PLAUSIBLE_IMPEDANCE) {
      return reject('inconsistent', 'impedance is flagged as present but its value is not a measured one');
    }
    m.impedanceOhm = impedance;
  }
  return readXiaomiClock(bytes, 2, m) ?? { ok: true, measurement: m };
}
