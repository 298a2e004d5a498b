/**
 * One entry point per wire format, so the CLI and the BLE reader pick a decoder by name.
 */
import { decodeBodyCompositionPackets } from './body-composition.js';
import { decodeMiBodyComposition } from './mi-body-composition.js';
import { decodeMiScale2 } from './mi-scale-2.js';
import { decodeWeightMeasurement } from './weight-measurement.js';
import type { DecodeResult, ScaleFormat } from '../measurement.js';

/**
 * Decodes a capture: one frame, or for 0x2A9C several consecutive indications (a measurement may
 * span two). Formats other than 0x2A9C decode each frame on its own.
 */
export function decodeCapture(format: ScaleFormat, frames: Uint8Array[]): DecodeResult[] {
  if (format === '2a9c') return decodeBodyCompositionPackets(frames);
  return frames.map((f) => decodeSingleFrame(format, f));
}

/** Decodes one self-contained frame (0x2A9C packets that are part of a split measurement are rejected as incomplete). */
export function decodeSingleFrame(format: ScaleFormat, frame: Uint8Array): DecodeResult {
  switch (format) {
    case '2a9d':
      return decodeWeightMeasurement(frame);
    case '2a9c':
      return decodeBodyCompositionPackets([frame])[0]!;
    case 'mi-scale-2':
      return decodeMiScale2(frame);
    case 'mi-body-composition':
      return decodeMiBodyComposition(frame);
  }
}

export { decodeWeightMeasurement } from './weight-measurement.js';
export { decodeBodyCompositionPacket, decodeBodyCompositionPackets, pushBodyCompositionPacket, EMPTY_ASSEMBLY } from './body-composition.js';
export type { BodyCompositionAssembly } from './body-composition.js';
export { decodeMiScale2 } from './mi-scale-2.js';
export { decodeMiBodyComposition } from './mi-body-composition.js';
export { decodeBatteryLevel, type BatteryLevelResult } from './battery-level.js';
