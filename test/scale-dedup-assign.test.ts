/**
 * Pure weigh-in grouping (one measurement per weigh-in) and member assignment.
 */
import { describe, expect, it } from 'vitest';
import { decodeMiBodyComposition, decodeMiScale2 } from '../src/devices/scale/decoders/index.js';
import { DEFAULT_DEDUP, dedupeFrames, EMPTY_DEDUP, pushFrame, remember, tick, type ScaleFrame } from '../src/devices/scale/dedup.js';
import { emptyMeasurement, parseHex, type ScaleMeasurement } from '../src/devices/scale/measurement.js';
import { assignWeighIn, referenceWeight } from '../src/members/assign.js';

function mi(hexFrame: string): ScaleMeasurement {
  const r = hexFrame.length === 26 ? decodeMiBodyComposition(parseHex(hexFrame)!) : decodeMiScale2(parseHex(hexFrame)!);
  if (!r.ok) throw new Error(r.reason);
  return r.measurement;
}
const frame = (deviceId: string, m: ScaleMeasurement, receivedAt: number): ScaleFrame => ({ deviceId, measurement: m, receivedAt });
function kg(weightKg: number, extra: Partial<ScaleMeasurement> = {}): ScaleMeasurement {
  return { ...emptyMeasurement('2a9d', 'kg'), weightKg, weightReported: weightKg, ...extra };
}

describe('weigh-in deduplication', () => {
  it('turns a Xiaomi advert burst of one weigh-in into one measurement, keeping the impedance', () => {
    // The scale's sequence: stabilized without impedance, with impedance (repeated), then "removed".
    const frames = [
      frame('scale-a', mi('0224e607020e10293a00009a38'), 1000),
      frame('scale-a', mi('0224e607020e10293a00009a38'), 1100),
      frame('scale-a', mi('0226e607020e10293af7019a38'), 1800),
      frame('scale-a', mi('0226e607020e10293af7019a38'), 1900),
      frame('scale-a', mi('02a6e607020e10293af7019a38'), 4000),
      frame('scale-a', mi('02a6e607020e10293af7019a38'), 9000),
      frame('scale-a', mi('02a6e607020e10293af7019a38'), 30_000),
    ];
    const out = dedupeFrames(frames);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ deviceId: 'scale-a', measuredAt: 1000 });
    expect(out[0]!.measurement).toMatchObject({ weightKg: 72.45, impedanceOhm: 503, weightRemoved: false });
  });

  it('releases a weigh-in at once when the scale says the weight was removed, and drops its repeats', () => {
    let s = EMPTY_DEDUP;
    let step = pushFrame(s, frame('scale-a', mi('223e30e607020e10293a'), 0));
    expect(step.released).toEqual([]);
    step = pushFrame(step.state, frame('scale-a', mi('a23e30e607020e10293a'), 500));
    expect(step.released).toHaveLength(1);
    s = step.state;
    for (let t = 600; t < 20_000; t += 700) {
      const again = pushFrame(s, frame('scale-a', mi('a23e30e607020e10293a'), t));
      expect(again.released).toEqual([]);
      s = tick(again.state, t).state;
    }
  });

  it('keeps weigh-ins apart by scale, by weight, by time and by the scale clock', () => {
    const out = dedupeFrames([
      frame('scale-a', kg(70.5), 0),
      frame('scale-b', kg(70.5), 10), // another scale
      frame('scale-a', kg(82.1), 20), // another person right after
      frame('scale-a', kg(70.5), 200_000), // same weight, much later
      frame('scale-a', kg(64, { scaleTime: '2024-01-01T07:00:00' }), 300_000),
      frame('scale-a', kg(64, { scaleTime: '2024-01-02T07:00:00' }), 300_100), // stored history, another day
    ]);
    expect(out.map((w) => [w.deviceId, w.measurement.weightKg])).toEqual([
      ['scale-a', 70.5],
      ['scale-b', 70.5],
      ['scale-a', 82.1],
      ['scale-a', 70.5],
      ['scale-a', 64],
      ['scale-a', 64],
    ]);
  });

  it('releases after the settle time without a removal flag (GATT scales)', () => {
    const s = pushFrame(EMPTY_DEDUP, frame('scale-a', kg(70.5), 0)).state;
    expect(tick(s, DEFAULT_DEDUP.settleMs - 1).released).toEqual([]);
    expect(tick(s, DEFAULT_DEDUP.settleMs).released).toHaveLength(1);
  });

  it('drops repeats of weigh-ins stored before a restart', () => {
    const seeded = remember(EMPTY_DEDUP, [{ deviceId: 'scale-a', measurement: kg(70.5), measuredAt: 1000 }], 1000);
    const step = pushFrame(seeded, frame('scale-a', kg(70.5, { weightRemoved: true }), 5000));
    expect(step.released).toEqual([]);
  });

  it('stays bounded under a flood of distinct frames and loses no open weigh-in silently', () => {
    let s = EMPTY_DEDUP;
    let released = 0;
    for (let i = 0; i < 2000; i++) {
      const step = pushFrame(s, frame('scale-a', kg(20 + i * 0.1), i), { ...DEFAULT_DEDUP, maxGroups: 50 });
      released += step.released.length;
      s = step.state;
    }
    expect(s.groups.length).toBeLessThanOrEqual(50);
    expect(released + s.groups.filter((g) => !g.released).length).toBe(2000);
  });
});

describe('member assignment', () => {
  const anna = { memberId: 'mem-anna', recentKg: [61.2, 61.0, 60.8, 61.5, 61.1] };
  const ben = { memberId: 'mem-ben', recentKg: [82.0, 81.5, 82.4] };

  it('assigns to the one member whose recent weights match', () => {
    expect(assignWeighIn(61.6, [anna, ben], 2)).toEqual({ memberId: 'mem-anna', reason: 'match' });
    expect(assignWeighIn(80.3, [anna, ben], 2)).toEqual({ memberId: 'mem-ben', reason: 'match' });
  });

  it('leaves ambiguous and unmatched weigh-ins unassigned', () => {
    const twin = { memberId: 'mem-twin', recentKg: [62.0] };
    expect(assignWeighIn(61.8, [anna, twin, ben], 2)).toEqual({ memberId: null, reason: 'ambiguous' });
    expect(assignWeighIn(71, [anna, ben], 2)).toEqual({ memberId: null, reason: 'no-match' });
    expect(assignWeighIn(null, [anna], 2)).toEqual({ memberId: null, reason: 'no-weight' });
    expect(assignWeighIn(61, [], 2)).toEqual({ memberId: null, reason: 'no-members' });
  });

  it('respects the configured tolerance', () => {
    expect(assignWeighIn(63.5, [anna, ben], 2).memberId).toBeNull();
    expect(assignWeighIn(63.5, [anna, ben], 3).memberId).toBe('mem-anna');
  });

  it('uses the median of recent weights, so one odd reading does not move a member', () => {
    expect(referenceWeight([61, 61.2, 95, 61.1, 60.9])).toBe(61.1);
    expect(assignWeighIn(61.3, [{ memberId: 'x', recentKg: [61, 61.2, 95, 61.1, 60.9] }, ben], 1).memberId).toBe('x');
  });

  it('gives the only member of a household their first weigh-in, but not when others exist', () => {
    expect(assignWeighIn(70, [{ memberId: 'solo', recentKg: [] }], 2)).toEqual({ memberId: 'solo', reason: 'only-member' });
    expect(assignWeighIn(70, [{ memberId: 'a', recentKg: [] }, { memberId: 'b', recentKg: [] }], 2).memberId).toBeNull();
  });
});
