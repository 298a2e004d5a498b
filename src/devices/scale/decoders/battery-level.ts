/**
 * Battery Level (GATT characteristic 0x2A19 of the Battery Service 0x180F): one unsigned byte, the
 * charge in percent, 0–100 (Bluetooth SIG, GATT Specification Supplement, "Battery Level").
 * Anything else is refused with the reason.
 */
export type BatteryLevelResult = { ok: true; percent: number } | { ok: false; code: 'battery-length' | 'battery-range'; reason: string };

export function decodeBatteryLevel(frame: Uint8Array): BatteryLevelResult {
  if (frame.length !== 1) return { ok: false, code: 'battery-length', reason: `a battery level is 1 byte, got ${Math.min(frame.length, 512)}` };
  const percent = frame[0]!;
  if (percent > 100) return { ok: false, code: 'battery-range', reason: `a battery level is 0–100 %, got ${percent}` };
  return { ok: true, percent };
}
