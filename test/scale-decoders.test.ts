/**
 * Scale decoders against examples built from the Bluetooth SIG field definitions (GATT
 * Specification Supplement: Weight Measurement, Body Composition Measurement) and against public
 * captures of Xiaomi scales (sources cited next to each).
 */
import { describe, expect, it } from 'vitest';
import { decodeBatteryLevel, decodeCapture, decodeMiBodyComposition, decodeMiScale2, decodeWeightMeasurement } from '../src/devices/scale/decoders/index.js';
import { decodeBodyCompositionPackets, pushBodyCompositionPacket, EMPTY_ASSEMBLY } from '../src/devices/scale/decoders/body-composition.js';
import { parseHex, SCALE_FORMATS, type DecodeResult, type ScaleMeasurement } from '../src/devices/scale/measurement.js';

const hex = (s: string) => {
  const b = parseHex(s);
  if (!b) throw new Error(`bad test hex ${s}`);
  return b;
};
function ok(r: DecodeResult): ScaleMeasurement {
  if (!r.ok) throw new Error(`expected a measurement, got ${r.code}: ${r.reason}`);
  return r.measurement;
}
function fails(r: DecodeResult, code: string, reason?: RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.code).toBe(code);
  if (reason) expect(r.reason).toMatch(reason);
}

describe('Weight Measurement 0x2A9D', () => {
  it('decodes an SI weight with nothing else (flags 0x00, 14100 × 0.005 kg)', () => {
    const m = ok(decodeWeightMeasurement(hex('00 14 37')));
    expect(m).toMatchObject({ format: '2a9d', unit: 'kg', weightKg: 70.5, weightReported: 70.5, scaleTime: null, userId: null, bmi: null, heightM: null });
  });

  it('decodes every optional field in SI units', () => {
    // flags 0x0E: time stamp 2024-03-15 07:30:05, user 2, BMI 23.0, height 1.750 m
    const m = ok(decodeWeightMeasurement(hex('0e 1437 e807 03 0f 07 1e 05 02 e600 d606')));
    expect(m).toMatchObject({ weightKg: 70.5, scaleTime: '2024-03-15T07:30:05', userId: 2, bmi: 23, heightM: 1.75 });
  });

  it('decodes imperial units at 0.01 lb and 0.1 in and converts to SI', () => {
    // flags 0x09: imperial, BMI and height; 155.40 lb, BMI 22.3, 68.5 in
    const m = ok(decodeWeightMeasurement(hex('09 b43c df00 ad02')));
    expect(m).toMatchObject({ unit: 'lb', weightReported: 155.4, weightKg: 70.488, bmi: 22.3, heightM: 1.74 });
  });

  it('keeps the finest resolutions exactly (0.005 kg steps, 0.01 lb steps)', () => {
    expect(ok(decodeWeightMeasurement(hex('00 0100'))).weightKg).toBe(0.005);
    expect(ok(decodeWeightMeasurement(hex('00 feff'))).weightKg).toBe(327.67);
    expect(ok(decodeWeightMeasurement(hex('01 0100'))).weightReported).toBe(0.01);
  });

  it('maps user 0xFF (unknown user) to no user and an unset clock to no time', () => {
    const m = ok(decodeWeightMeasurement(hex('06 1437 0000 00 00 00 00 00 ff')));
    expect(m.userId).toBeNull();
    expect(m.scaleTime).toBeNull();
  });

  it('rejects unsuccessful, truncated, oversized and inconsistent frames with a reason', () => {
    fails(decodeWeightMeasurement(hex('00 ffff')), 'unsuccessful');
    fails(decodeWeightMeasurement(hex('')), 'empty');
    fails(decodeWeightMeasurement(hex('00')), 'truncated', /weight needs 2 byte/);
    fails(decodeWeightMeasurement(hex('0e 1437 e807 03')), 'truncated', /time stamp/);
    fails(decodeWeightMeasurement(hex('08 1437 e600')), 'truncated', /height/);
    fails(decodeWeightMeasurement(hex('00 1437 00')), 'oversized', /1 byte/);
    fails(decodeWeightMeasurement(new Uint8Array(600)), 'oversized');
    fails(decodeWeightMeasurement(hex('02 1437 e807 0d 0f 07 1e 05')), 'inconsistent', /out-of-range/);
    fails(decodeWeightMeasurement(hex('00 0000')), 'no-load');
  });
});

describe('Body Composition Measurement 0x2A9C', () => {
  // flags 0x061E: time stamp, user id, basal metabolism, muscle %, impedance, weight
  const single = '1e06 d700 e807 03 0f 07 1e 05 01 581b 9201 8813 1437';

  it('decodes a single-packet measurement with its optional fields', () => {
    const [r] = decodeBodyCompositionPackets([hex(single)]);
    expect(ok(r!)).toMatchObject({
      format: '2a9c',
      unit: 'kg',
      bodyFatPercent: 21.5,
      scaleTime: '2024-03-15T07:30:05',
      userId: 1,
      basalMetabolismKj: 7000,
      musclePercent: 40.2,
      impedanceOhm: 500,
      weightKg: 70.5,
      muscleMassKg: null,
      heightM: null,
    });
  });

  // The same measurement with every field (30 bytes) split as a server with a 23-byte ATT MTU
  // must: both packets set bit 12, repeat the flags (for their own fields) and the body fat.
  const first = '7e10 d700 e807 03 0f 07 1e 05 01 581b 9201 3016 342b'; // + muscle mass 28.4, fat free 55.3
  const second = '801f d700 a028 141e 8813 1437 d606'; // soft lean 52.0, water 38.5, impedance, weight, height 1.750

  it('reassembles a measurement split over two indications', () => {
    const results = decodeBodyCompositionPackets([hex(first), hex(second)]);
    expect(results).toHaveLength(1);
    expect(ok(results[0]!)).toMatchObject({
      bodyFatPercent: 21.5,
      scaleTime: '2024-03-15T07:30:05',
      userId: 1,
      basalMetabolismKj: 7000,
      musclePercent: 40.2,
      muscleMassKg: 28.4,
      fatFreeMassKg: 55.3,
      softLeanMassKg: 52,
      bodyWaterMassKg: 38.5,
      impedanceOhm: 500,
      weightKg: 70.5,
      heightM: 1.75,
    });
  });

  it('reassembles as a pure reducer, and drops a first half that waited too long', () => {
    let step = pushBodyCompositionPacket(EMPTY_ASSEMBLY, hex(first), 1000);
    expect(step.results).toEqual([]);
    expect(step.state.pending).not.toBeNull();
    const done = pushBodyCompositionPacket(step.state, hex(second), 1500);
    expect(done.results.map((r) => r.ok)).toEqual([true]);
    expect(done.state.pending).toBeNull();

    step = pushBodyCompositionPacket(EMPTY_ASSEMBLY, hex(first), 1000);
    const late = pushBodyCompositionPacket(step.state, hex(second), 1000 + 60_000, 10_000);
    // the stale first half is reported incomplete; the late second half starts a new (incomplete) pair
    expect(late.results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['truncated']);
    expect(late.state.pending).not.toBeNull();
  });

  it('rejects split packets that disagree, and a half without its other half', () => {
    const otherFat = '801f d800 a028 141e 8813 1437 d606';
    fails(decodeBodyCompositionPackets([hex(first), hex(otherFat)])[0]!, 'inconsistent', /body fat/);
    const imperialSecond = '811f d700 a028 141e 8813 1437 d606';
    fails(decodeBodyCompositionPackets([hex(first), hex(imperialSecond)])[0]!, 'inconsistent', /units/);
    const repeatsUserDifferently = '0410 d700 02';
    fails(decodeBodyCompositionPackets([hex(first), hex(repeatsUserDifferently)])[0]!, 'inconsistent', /userId/);
    fails(decodeBodyCompositionPackets([hex(first)])[0]!, 'truncated', /second packet/);
    // a single packet arriving while a half waits: the half is reported, the single one decodes
    const mixed = decodeBodyCompositionPackets([hex(first), hex(single)]);
    expect(mixed.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['truncated', 'ok']);
  });

  it('decodes imperial masses and heights', () => {
    // flags 0x0C21: imperial, muscle mass 62.60 lb, weight 155.40 lb, height 68.5 in; body fat 20.0 %
    const m = ok(decodeCapture('2a9c', [hex('210c c800 7418 b43c ad02')])[0]!);
    expect(m).toMatchObject({ unit: 'lb', bodyFatPercent: 20, muscleMassKg: 28.395, weightReported: 155.4, weightKg: 70.488, heightM: 1.74 });
  });

  it('rejects unsuccessful, truncated, oversized and inconsistent values', () => {
    fails(decodeCapture('2a9c', [hex('0000 ffff')])[0]!, 'unsuccessful');
    fails(decodeCapture('2a9c', [hex('0004 ffff 1437')])[0]!, 'inconsistent', /unsuccessful/);
    fails(decodeCapture('2a9c', [hex('0000 e903')])[0]!, 'inconsistent', /above 100/);
    fails(decodeCapture('2a9c', [hex('00')])[0]!, 'truncated');
    fails(decodeCapture('2a9c', [hex('0004 d700 14')])[0]!, 'truncated', /weight/);
    fails(decodeCapture('2a9c', [hex('0000 d700 00 00')])[0]!, 'oversized');
    // muscle mass 90 kg on a 70.5 kg body
    fails(decodeCapture('2a9c', [hex('2004 d700 5046 1437')])[0]!, 'inconsistent', /larger than the body weight/);
  });
});

describe('every flag of 0x2A9D and 0x2A9C in imperial units', () => {
  it('decodes 0x2A9D with units, time stamp and user id (flags 0x07)', () => {
    const m = ok(decodeWeightMeasurement(hex('07 b43c e807 03 0f 07 1e 05 03')));
    expect(m).toMatchObject({ unit: 'lb', weightReported: 155.4, weightKg: 70.488, scaleTime: '2024-03-15T07:30:05', userId: 3, bmi: null, heightM: null });
  });

  it('decodes a single 0x2A9C packet with flags 0x0FFF: every optional field, masses in 0.01 lb, height in 0.1 in', () => {
    const all = 'ff0f d700 e807 03 0f 07 1e 05 01 581b 9201 7418 9e2f c82c 2821 8813 b43c ad02';
    const m = ok(decodeCapture('2a9c', [hex(all)])[0]!);
    expect(m).toMatchObject({
      unit: 'lb',
      bodyFatPercent: 21.5,
      scaleTime: '2024-03-15T07:30:05',
      userId: 1,
      basalMetabolismKj: 7000,
      musclePercent: 40.2,
      muscleMassKg: 28.395,
      fatFreeMassKg: 55.293,
      softLeanMassKg: 52,
      bodyWaterMassKg: 38.501,
      impedanceOhm: 500,
      weightReported: 155.4,
      weightKg: 70.488,
      heightM: 1.74,
    });
    // The same frame one byte short names the field that did not fit.
    fails(decodeCapture('2a9c', [hex(all).slice(0, -1)])[0]!, 'truncated', /height/);
  });
});

describe('Xiaomi Mi Smart Scale 2 (service data 0x181D)', () => {
  // Captures from theengs/decoder tests/BLE/test_ble.cpp (commit d6fdd205ca677b1659c55a4e2435993eb4cb9c1c),
  // "Mi Smart Scale" 0x181d service data, decoded there as 61.75 kg / 131.7 lb.
  it('decodes a stabilized kilogram reading with the scale clock', () => {
    const m = ok(decodeMiScale2(hex('223e30e607020e10293a')));
    expect(m).toMatchObject({ format: 'mi-scale-2', unit: 'kg', weightKg: 61.75, stabilized: true, weightRemoved: false, scaleTime: '2022-02-14T16:41:58', impedanceOhm: null });
  });

  it('keeps the reading the scale repeats after the person steps off, flagged as removed', () => {
    const m = ok(decodeMiScale2(hex('a23e30e607020e10293a')));
    expect(m).toMatchObject({ weightKg: 61.75, weightRemoved: true });
  });

  it('decodes pounds and jin', () => {
    expect(ok(decodeMiScale2(hex('237233e607020e10293a')))).toMatchObject({ unit: 'lb', weightReported: 131.7, weightKg: 59.738 });
    // jin (bit 4): 12350 × 0.01 jin = 123.5 jin = 61.75 kg
    expect(ok(decodeMiScale2(hex('323e30e607020e10293a')))).toMatchObject({ unit: 'jin', weightReported: 123.5, weightKg: 61.75 });
  });

  it('decodes the capture quoted in ESPHome xiaomi_miscale ("1d18 a2 6036 e307 07 11 0f1f11")', () => {
    expect(ok(decodeMiScale2(hex('a26036e30707110f1f11')))).toMatchObject({ weightKg: 69.6, scaleTime: '2019-07-17T15:31:17' });
  });

  it('does not make a measurement of an unstabilized reading, but says what it saw', () => {
    const r = decodeMiScale2(hex('023e30e607020e10293a'));
    fails(r, 'not-stabilized');
    expect(!r.ok && r.partial?.weightKg).toBe(61.75);
  });

  it('rejects wrong sizes and impossible clocks', () => {
    fails(decodeMiScale2(hex('223e30e607020e1029')), 'truncated');
    fails(decodeMiScale2(hex('223e30e607020e10293a00')), 'oversized');
    fails(decodeMiScale2(hex('223e30e6070d0e10293a')), 'inconsistent');
    fails(decodeMiScale2(hex('220000e607020e10293a')), 'no-load');
  });
});

describe('Xiaomi Mi Body Composition Scale (service data 0x181B)', () => {
  // Captures from theengs/decoder tests/BLE/test_ble.cpp (commit d6fdd205ca677b1659c55a4e2435993eb4cb9c1c),
  // "Mi_Body_Scale_2" 0x181b service data, decoded there as 72.45 kg / 140.65 lb, impedance 503.
  it('decodes weight and impedance', () => {
    const m = ok(decodeMiBodyComposition(hex('0226e607020e10293af7019a38')));
    expect(m).toMatchObject({ format: 'mi-body-composition', unit: 'kg', weightKg: 72.45, impedanceOhm: 503, scaleTime: '2022-02-14T16:41:58', weightRemoved: false });
  });

  it('decodes a stabilized reading before impedance is measured, pounds, and the removed flag', () => {
    expect(ok(decodeMiBodyComposition(hex('0224e607020e10293a00009a38')))).toMatchObject({ weightKg: 72.45, impedanceOhm: null });
    expect(ok(decodeMiBodyComposition(hex('0326e607020e10293af701f136')))).toMatchObject({ unit: 'lb', weightReported: 140.65, weightKg: 63.798, impedanceOhm: 503 });
    expect(ok(decodeMiBodyComposition(hex('02a6e607020e10293af7019a38')))).toMatchObject({ weightKg: 72.45, weightRemoved: true });
  });

  it('decodes captures posted by users of the scale', () => {
    // Stack Overflow question 59118489 ("Xiaomi mi scale 2 weight"): [2,164,178,7,1,1,2,58,56,253,255,240,60] = 78 kg
    expect(ok(decodeMiBodyComposition(Uint8Array.from([2, 164, 178, 7, 1, 1, 2, 58, 56, 253, 255, 240, 60])))).toMatchObject({
      weightKg: 78,
      impedanceOhm: null,
      scaleTime: '1970-01-01T02:58:56',
    });
    // Stack Overflow question 68571845: 0624b2070101002e3800004c04 = 5.50 kg
    expect(ok(decodeMiBodyComposition(hex('0624b2070101002e3800004c04'))).weightKg).toBe(5.5);
  });

  it('rejects unstabilized readings, implausible impedance and wrong sizes', () => {
    fails(decodeMiBodyComposition(hex('0204e607020e10293a00009a38')), 'not-stabilized');
    fails(decodeMiBodyComposition(hex('0226e607020e10293afdff9a38')), 'inconsistent', /impedance/);
    fails(decodeMiBodyComposition(hex('0226e607020e10293a00009a38')), 'inconsistent', /impedance/);
    fails(decodeMiBodyComposition(hex('0226e607020e10293af7019a')), 'truncated');
    fails(decodeMiBodyComposition(hex('0226e607020e10293af7019a3800')), 'oversized');
  });
});

describe('Battery Level 0x2A19', () => {
  // GATT Specification Supplement, Battery Level: uint8, unit percentage, range 0 to 100.
  it('reads one byte of percent and refuses other lengths and values over 100', () => {
    expect(decodeBatteryLevel(Uint8Array.of(0x55))).toEqual({ ok: true, percent: 85 });
    expect(decodeBatteryLevel(Uint8Array.of(0x00))).toEqual({ ok: true, percent: 0 });
    expect(decodeBatteryLevel(Uint8Array.of(0x64))).toEqual({ ok: true, percent: 100 });
    expect(decodeBatteryLevel(Uint8Array.of(0x65))).toMatchObject({ ok: false, code: 'battery-range' });
    expect(decodeBatteryLevel(Uint8Array.of(0xff))).toMatchObject({ ok: false, code: 'battery-range' });
    expect(decodeBatteryLevel(new Uint8Array(0))).toMatchObject({ ok: false, code: 'battery-length' });
    expect(decodeBatteryLevel(Uint8Array.of(0x55, 0x00))).toMatchObject({ ok: false, code: 'battery-length' });
  });
});

describe('every decoder is total', () => {
  it('returns a result and never throws for random, short, long and patterned input', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const inputs: Uint8Array[] = [new Uint8Array(0), new Uint8Array(1000).fill(0xff), new Uint8Array(513)];
    for (let i = 0; i < 3000; i++) {
      const len = Math.floor(rand() * 40);
      inputs.push(Uint8Array.from({ length: len }, () => Math.floor(rand() * 256)));
    }
    for (const format of SCALE_FORMATS) {
      for (const input of inputs) {
        const results = decodeCapture(format, [input, input]);
        for (const r of results) {
          expect(typeof r.ok).toBe('boolean');
          if (r.ok) {
            expect(r.measurement.format).toBe(format);
            if (r.measurement.weightKg !== null) expect(Number.isFinite(r.measurement.weightKg)).toBe(true);
          } else expect(r.reason.length).toBeGreaterThan(0);
        }
      }
    }
  });
});
