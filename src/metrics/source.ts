/**
 * Reads what the pure aggregation needs from the store: device kinds and enrolment times, event
 * types and receive times in a window, camera presence at the window's start, and the broker's
 * refused-login counters. Nothing sealed is read or opened here.
 */
import { FIRMWARE_PROFILES, isProfileName } from '../devices/camera/profiles/index.js';
import { DEVICE_AUTH_FAILED_PREFIX } from '../store/counters.js';
import type { Db } from '../store/database.js';
import type { AggregationInput, DeviceRow, EventRow, TimeWindow } from './aggregate.js';

/** Only these event types are ever read for upstream aggregation. */
export const AGGREGATED_EVENT_TYPES = ['activation', 'connect_failed', 'reboot', 'online', 'offline', 'weigh_in'] as const;

/** The broker counts refused logins of enrolled devices under this prefix and the device id. */
const AUTH_FAILED_PREFIX = DEVICE_AUTH_FAILED_PREFIX;

export class MetricsSource {
  private readonly stmts;

  constructor(db: Db) {
    const types = AGGREGATED_EVENT_TYPES.map((t) => `'${t}'`).join(', ');
    this.stmts = {
      // The profile name and the parent link are plain; nothing sealed is read.
      devices: db.prepare(
        `SELECT d.id, d.kind, d.created_at, p.profile, c.parent_id IS NOT NULL AS child FROM devices d
         LEFT JOIN camera_profiles p ON p.device_id = d.id LEFT JOIN camera_children c ON c.device_id = d.id`,
      ),
      events: db.prepare(`SELECT device_id, type, received_at FROM events WHERE received_at >= ? AND received_at < ? AND type IN (${types})`),
      presenceBefore: db.prepare(
        `SELECT e.device_id, e.type FROM events e
         JOIN (SELECT device_id, MAX(id) AS id FROM events INDEXED BY events_presence
               WHERE type IN ('online', 'offline') AND received_at < ? GROUP BY device_id) last ON last.id = e.id`,
      ),
      authFailed: db.prepare('SELECT COALESCE(SUM(value), 0) FROM counters WHERE substr(name, 1, ?) = ?').pluck(),
    };
  }

  input(window: TimeWindow, brokerAuthFailures?: number): AggregationInput {
    const devices = (this.stmts.devices.all() as { id: string; kind: DeviceRow['kind']; created_at: number; profile: string | null; child: number }[]).map((d) => ({
      id: d.id,
      kind: d.kind,
      createdAt: d.created_at,
      connects: ownConnections(d.profile, d.child === 1),
    }));
    const events: EventRow[] = (this.stmts.events.all(window.start, window.end) as { device_id: string; type: string; received_at: number }[]).map((e) => ({
      deviceId: e.device_id,
      type: e.type,
      at: e.received_at,
    }));
    const presenceBefore = new Map<string, boolean>();
    for (const row of this.stmts.presenceBefore.all(window.start) as { device_id: string; type: string }[]) {
      presenceBefore.set(row.device_id, row.type === 'online');
    }
    return { window, devices, events, presenceBefore, brokerAuthFailures };
  }

  /** Cumulative refused broker logins over all devices, as counted by the broker. */
  authFailuresTotal(): number {
    return this.stmts.authFailed.get(AUTH_FAILED_PREFIX.length, AUTH_FAILED_PREFIX) as number;
  }
}

/** Is a camera's presence its own connection's (see DeviceRow.connects)? */
function ownConnections(profile: string | null, child: boolean): boolean {
  if (child) return false;
  if (profile === null || !isProfileName(profile) || profile === 'hearth') return true;
  return FIRMWARE_PROFILES[profile].presence === 'connection';
}
