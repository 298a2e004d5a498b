/**
 * One weigh-in, one measurement. Scales repeat themselves: a Xiaomi scale advertises the same
 * stabilized reading many times (first without, then with impedance, then again flagged "weight
 * removed" after the person steps off), and a GATT scale may resend stored measurements after a
 * reconnection. This pure reducer groups the frames of one weigh-in and releases one merged
 * measurement per weigh-in, then remembers it for a while so late repeats are dropped.
 *
 * Frames belong to the same weigh-in when they come from the same scale, their weights agree
 * within a small tolerance, they arrive within the window of the group's last frame, and their
 * scale clocks (when both have one) agree.
 */
import type { ScaleMeasurement } from './measurement.js';

export interface ScaleFrame {
  deviceId: string;
  measurement: ScaleMeasurement;
  receivedAt: number;
}

/** A finished weigh-in: the best merged measurement and when it started (hub clock). */
export interface WeighIn {
  deviceId: string;
  measurement: ScaleMeasurement;
  measuredAt: number;
}

export interface DedupOptions {
  /** A group is released once no frame has joined it for this long. */
  settleMs: number;
  /** Frames within this time of a group's last frame may belong to it; released groups absorb repeats this long. */
  windowMs: number;
  /** Largest weight difference between frames of one weigh-in. */
  toleranceKg: number;
  /** Bound on remembered groups, so a flood of distinct frames cannot grow memory. */
  maxGroups: number;
}

export const DEFAULT_DEDUP: DedupOptions = { settleMs: 3_000, windowMs: 60_000, toleranceKg: 0.05, maxGroups: 256 };

interface Group {
  deviceId: string;
  measurement: ScaleMeasurement;
  firstAt: number;
  lastAt: number;
  released: boolean;
}

export interface DedupState {
  groups: readonly Group[];
}

export const EMPTY_DEDUP: DedupState = { groups: [] };

/** Adds one decoded frame. A frame flagged "weight removed" ends its weigh-in at once. */
export function pushFrame(state: DedupState, frame: ScaleFrame, opts: DedupOptions = DEFAULT_DEDUP): { state: DedupState; released: WeighIn[] } {
  const groups = state.groups.map((g) => ({ ...g }));
  const match = groups.find((g) => sameWeighIn(g, frame, opts));
  let target: Group;
  if (match) {
    match.lastAt = Math.max(match.lastAt, frame.receivedAt);
    // A released weigh-in only absorbs its repeats; its stored measurement does not change.
    if (!match.released) match.measurement = better(match.measurement, frame.measurement);
    target = match;
  } else {
    target = { deviceId: frame.deviceId, measurement: frame.measurement, firstAt: frame.receivedAt, lastAt: frame.receivedAt, released: false };
    groups.push(target);
  }
  const released: WeighIn[] = [];
  if (frame.measurement.weightRemoved && !target.released) {
    target.released = true;
    released.push(toWeighIn(target));
  }
  return { state: { groups: bound(groups, opts.maxGroups, released) }, released };
}

/** Releases groups that have settled and forgets released ones older than the window. */
export function tick(state: DedupState, now: number, opts: DedupOptions = DEFAULT_DEDUP): { state: DedupState; released: WeighIn[] } {
  const released: WeighIn[] = [];
  const groups: Group[] = [];
  for (const g of state.groups) {
    if (!g.released && now - g.lastAt >= opts.settleMs) {
      released.push(toWeighIn(g));
      groups.push({ ...g, released: true });
    } else if (g.released && now - g.lastAt > opts.windowMs) {
      continue;
    } else groups.push(g);
  }
  return { state: { groups }, released };
}

/** Releases every open group now (shutdown), keeping them remembered as released. */
export function flush(state: DedupState): { state: DedupState; released: WeighIn[] } {
  const released = state.groups.filter((g) => !g.released).map(toWeighIn);
  return { state: { groups: state.groups.map((g) => ({ ...g, released: true })) }, released };
}

/** Remembers weigh-ins already stored (e.g. before a restart) so their repeats are dropped. */
export function remember(state: DedupState, weighIns: WeighIn[], lastSeenAt: number): DedupState {
  const added = weighIns.map((w) => ({ deviceId: w.deviceId, measurement: w.measurement, firstAt: w.measuredAt, lastAt: Math.max(w.measuredAt, lastSeenAt), released: true }));
  return { groups: [...state.groups, ...added] };
}

/** Convenience for a finished batch of frames: everything they amount to, in order. */
export function dedupeFrames(frames: ScaleFrame[], opts: DedupOptions = DEFAULT_DEDUP): WeighIn[] {
  let state = EMPTY_DEDUP;
  const out: WeighIn[] = [];
  for (const f of [...frames].sort((a, b) => a.receivedAt - b.receivedAt)) {
    const t = tick(state, f.receivedAt, opts);
    out.push(...t.released);
    const p = pushFrame(t.state, f, opts);
    out.push(...p.released);
    state = p.state;
  }
  out.push(...flush(state).released);
  return out;
}

function sameWeighIn(g: Group, f: ScaleFrame, opts: DedupOptions): boolean {
  if (g.deviceId !== f.deviceId) return false;
  if (f.receivedAt - g.lastAt > opts.windowMs || g.firstAt - f.receivedAt > opts.windowMs) return false;
  const a = g.measurement;
  const b = f.measurement;
  if (a.weightKg === null || b.weightKg === null) {
    if (a.weightKg !== b.weightKg) return false;
  } else if (Math.abs(a.weightKg - b.weightKg) > opts.toleranceKg) return false;
  if (a.scaleTime !== null && b.scaleTime !== null && !clocksAgree(a.scaleTime, b.scaleTime, opts.windowMs)) return false;
  return true;
}

function clocksAgree(a: string, b: string, windowMs: number): boolean {
  const ta = Date.parse(a + 'Z');
  const tb = Date.parse(b + 'Z');
  if (Number.isNaN(ta) || Number.isNaN(tb)) return a === b;
  return Math.abs(ta - tb) <= windowMs;
}

/** The more complete of two readings of one weigh-in (impedance, then body composition, then the later one). */
function better(current: ScaleMeasurement, incoming: ScaleMeasurement): ScaleMeasurement {
  const score = (m: ScaleMeasurement) => (m.impedanceOhm !== null ? 100 : 0) + Object.values(m).filter((v) => v !== null).length;
  const merged = score(incoming) >= score(current) ? { ...incoming } : { ...current };
  // The "removed" flag describes the frame, not the weigh-in.
  merged.weightRemoved = false;
  return merged;
}

function toWeighIn(g: Group): WeighIn {
  return { deviceId: g.deviceId, measurement: { ...g.measurement, weightRemoved: false }, measuredAt: g.firstAt };
}

/** Keeps at most `max` groups, dropping the oldest released ones first, then the oldest open ones. */
function bound(groups: Group[], max: number, released: WeighIn[]): Group[] {
  if (groups.length <= max) return groups;
  const sorted = [...groups].sort((a, b) => Number(b.released) - Number(a.released) || a.lastAt - b.lastAt);
  const excess = groups.length - max;
  const dropped = new Set(sorted.slice(0, excess));
  // An open group pushed out by a flood is released rather than lost.
  for (const g of dropped) if (!g.released) released.push(toWeighIn(g));
  return groups.filter((g) => !dropped.has(g));
}
