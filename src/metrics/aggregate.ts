/**
 * Pure aggregation of stored device events into the raw (not yet noised) metric values of one
 * report window. Only event types, device kinds and hub-side receive times are looked at: never a
 * detail, a nickname or a device-reported time (which a device could forge).
 */
import { METRICS, type Category, type MetricValues } from './categories.js';

/** A half-open time range [start, end) in epoch milliseconds. */
export interface TimeWindow {
  start: number;
  end: number;
}

export interface DeviceRow {
  id: string;
  kind: 'camera' | 'scale';
  createdAt: number;
  /**
   * False for a camera whose online/offline is not its own connection's: a camera an NVR reports
   * (its presence is the NVR's) or firmware that connects once per message (presence by a timer).
   * Its presence still counts towards online_percent, not towards connect_attempts. Default true.
   */
  connects?: boolean;
}

export interface EventRow {
  deviceId: string;
  type: string;
  /** When the hub received it (epoch ms). */
  at: number;
}

export interface AggregationInput {
  window: TimeWindow;
  /** Devices enrolled now (removed devices and their events are gone). */
  devices: readonly DeviceRow[];
  /** Events; those outside the window are ignored. */
  events: readonly EventRow[];
  /** Each camera's presence just before the window started (absent = offline). */
  presenceBefore: ReadonlyMap<string, boolean>;
  /** Connections the hub's broker refused during the window (optional operational input). */
  brokerAuthFailures?: number;
}

export function aggregate(category: Category, input: AggregationInput): MetricValues {
  switch (category) {
    case 'adoption':
      return adoptionMetrics(input);
    case 'device-health':
      return deviceHealthMetrics(input);
    case 'scale-usage':
      return scaleUsageMetrics(input);
  }
}

export function adoptionMetrics(input: AggregationInput): MetricValues {
  const existing = input.devices.filter((d) => d.createdAt < input.window.end);
  return {
    activations: countEvents(input, 'camera', 'activation'),
    cameras: existing.filter((d) => d.kind === 'camera').length,
    scales: existing.filter((d) => d.kind === 'scale').length,
  };
}

export function deviceHealthMetrics(input: AggregationInput): MetricValues {
  const failures = countEvents(input, 'camera', 'connect_failed') + Math.max(0, input.brokerAuthFailures ?? 0);
  return {
    connect_attempts: countEvents(input, 'camera', 'online', (d) => d.connects !== false) + failures,
    connect_failures: failures,
    online_percent: Math.round(onlineRatio(input) * 100),
    reboots: countEvents(input, 'camera', 'reboot'),
  };
}

export function scaleUsageMetrics(input: AggregationInput): MetricValues {
  return { weigh_ins: countEvents(input, 'scale', 'weigh_in') };
}

/**
 * Mean over the cameras of the share of the window each was online, from its online/offline
 * transitions. A camera enrolled during the window counts from its enrolment. 0 when there is none.
 */
export function onlineRatio(input: AggregationInput): number {
  const { start, end } = input.window;
  const transitions = new Map<string, EventRow[]>();
  for (const e of input.events) {
    if ((e.type === 'online' || e.type === 'offline') && e.at >= start && e.at < end) {
      const list = transitions.get(e.deviceId) ?? [];
      list.push(e);
      transitions.set(e.deviceId, list);
    }
  }
  const ratios: number[] = [];
  for (const camera of input.devices) {
    if (camera.kind !== 'camera' || camera.createdAt >= end) continue;
    const from = Math.max(start, camera.createdAt);
    if (end <= from) continue;
    let online = input.presenceBefore.get(camera.id) ?? false;
    let since = from;
    let onlineMs = 0;
    const list = (transitions.get(camera.id) ?? []).filter((e) => e.at >= from).sort((a, b) => a.at - b.at);
    for (const e of list) {
      if (online) onlineMs += e.at - since;
      since = e.at;
      online = e.type === 'online';
    }
    if (online) onlineMs += end - since;
    ratios.push(onlineMs / (end - from));
  }
  if (ratios.length === 0) return 0;
  return ratios.reduce((a, b) => a + b, 0) / ratios.length;
}

/** Clamps each metric of a category to [0, bound]: the per-home contribution the noise is sized for. */
export function clampToBounds(category: Category, values: MetricValues): MetricValues {
  const out: MetricValues = {};
  for (const m of METRICS[category]) {
    const v = values[m.name];
    out[m.name] = Number.isFinite(v) ? Math.min(m.bound, Math.max(0, Math.round(v!))) : 0;
  }
  return out;
}

function countEvents(input: AggregationInput, kind: DeviceRow['kind'], type: string, which: (d: DeviceRow) => boolean = () => true): number {
  const ofKind = new Set(input.devices.filter((d) => d.kind === kind && which(d)).map((d) => d.id));
  let n = 0;
  for (const e of input.events) {
    if (e.type === type && ofKind.has(e.deviceId) && e.at >= input.window.start && e.at < input.window.end) n++;
  }
  return n;
}
