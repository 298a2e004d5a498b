/**
 * Pure aggregation over event rows: counts inside the window only, per device kind, and the
 * online-time ratio from online/offline transitions.
 */
import { describe, expect, it } from 'vitest';
import { adoptionMetrics, aggregate, clampToBounds, deviceHealthMetrics, onlineRatio, scaleUsageMetrics, type AggregationInput, type EventRow } from '../src/metrics/aggregate.js';

const H = 3600_000;
const T0 = Date.UTC(2026, 0, 10);
const window = { start: T0, end: T0 + 24 * H };
const devices = [
  { id: 'cam-a', kind: 'camera' as const, createdAt: T0 - 48 * H },
  { id: 'cam-b', kind: 'camera' as const, createdAt: T0 + 12 * H }, // enrolled mid-window
  { id: 'cam-late', kind: 'camera' as const, createdAt: T0 + 30 * H }, // after the window
  { id: 'scale-1', kind: 'scale' as const, createdAt: T0 - H },
];

function input(events: EventRow[], presenceBefore: [string, boolean][] = [], brokerAuthFailures?: number): AggregationInput {
  return { window, devices, events, presenceBefore: new Map(presenceBefore), brokerAuthFailures };
}

describe('aggregation', () => {
  it('counts activations and devices per kind that exist at the end of the window', () => {
    const events: EventRow[] = [
      { deviceId: 'cam-a', type: 'activation', at: T0 + H },
      { deviceId: 'cam-b', type: 'activation', at: T0 + 13 * H },
      { deviceId: 'cam-a', type: 'activation', at: T0 - 1 }, // before the window
      { deviceId: 'cam-a', type: 'activation', at: window.end }, // end is exclusive
      { deviceId: 'scale-1', type: 'activation', at: T0 + H }, // not a camera
    ];
    expect(adoptionMetrics(input(events))).toEqual({ activations: 2, cameras: 2, scales: 1 });
  });

  it('counts connection attempts, failures (including refused broker logins) and reboots', () => {
    const events: EventRow[] = [
      { deviceId: 'cam-a', type: 'online', at: T0 + H },
      { deviceId: 'cam-a', type: 'offline', at: T0 + 2 * H },
      { deviceId: 'cam-a', type: 'connect_failed', at: T0 + 3 * H },
      { deviceId: 'cam-a', type: 'online', at: T0 + 4 * H },
      { deviceId: 'cam-a', type: 'reboot', at: T0 + 5 * H },
      { deviceId: 'cam-b', type: 'connect_failed', at: T0 + 20 * H },
      { deviceId: 'cam-a', type: 'motion', at: T0 + 6 * H },
    ];
    const m = deviceHealthMetrics(input(events, [], 3));
    expect(m.connect_failures).toBe(2 + 3);
    expect(m.connect_attempts).toBe(2 + 5);
    expect(m.reboots).toBe(1);
  });

  it('computes the online ratio from transitions, from the presence before the window and from enrolment', () => {
    const events: EventRow[] = [
      // cam-a was online before the window, offline at 6h, back at 18h: online 6h + 6h of 24h.
      { deviceId: 'cam-a', type: 'offline', at: T0 + 6 * H },
      { deviceId: 'cam-a', type: 'online', at: T0 + 18 * H },
      // cam-b enrolled at 12h, online from 15h to the end: 9h of its 12h.
      { deviceId: 'cam-b', type: 'online', at: T0 + 15 * H },
    ];
    const ratio = onlineRatio(input(events, [['cam-a', true]]));
    expect(ratio).toBeCloseTo((12 / 24 + 9 / 12) / 2, 10);
    expect(deviceHealthMetrics(input(events, [['cam-a', true]])).online_percent).toBe(Math.round(((12 / 24 + 9 / 12) / 2) * 100));
    // Without the earlier presence, cam-a counts as offline until 18h.
    expect(onlineRatio(input(events))).toBeCloseTo((6 / 24 + 9 / 12) / 2, 10);
    expect(onlineRatio({ ...input([]), devices: devices.filter((d) => d.kind === 'scale') })).toBe(0);
  });

  it('counts weigh-ins on scales only, and nothing else about them', () => {
    const events: EventRow[] = [
      { deviceId: 'scale-1', type: 'weigh_in', at: T0 + H },
      { deviceId: 'scale-1', type: 'weigh_in', at: T0 + 2 * H },
      { deviceId: 'cam-a', type: 'weigh_in', at: T0 + 2 * H },
      { deviceId: 'scale-gone', type: 'weigh_in', at: T0 + 2 * H },
    ];
    expect(scaleUsageMetrics(input(events))).toEqual({ weigh_ins: 2 });
    expect(aggregate('scale-usage', input(events))).toEqual({ weigh_ins: 2 });
  });

  it('clamps to [0, bound] and drops anything not on the allow-list', () => {
    expect(clampToBounds('device-health', { connect_attempts: 500, connect_failures: -2, online_percent: 73.6, reboots: NaN, secret: 1 })).toEqual({
      connect_attempts: 50,
      connect_failures: 0,
      online_percent: 74,
      reboots: 0,
    });
  });
});
