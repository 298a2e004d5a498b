/**
 * Scales and their weigh-ins in the store. A scale is a device of kind 'scale' whose Bluetooth
 * address is sealed (found again through a keyed blind index in devices.lookup_tag). A weigh-in
 * keeps its time and member in the clear and every body value sealed, bound to its row id; each
 * one also adds a detail-free 'weigh_in' event, the only thing the scale-usage metric counts.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../../crypto/sealer.js';
import type { Db } from '../../store/database.js';
import { EventTotals } from '../../store/event-totals.js';
import { blindIndexColumn, sealedColumn } from '../../store/sealed-columns.js';
import type { Assignment, MemberWeights } from '../../members/assign.js';
import type { WeighIn } from './dedup.js';
import type { ScaleMeasurement } from './measurement.js';

export interface ScaleTarget {
  deviceId: string;
  /** Normalized Bluetooth address, AA:BB:CC:DD:EE:FF. */
  address: string;
}

export interface StoredMeasurement {
  id: string;
  deviceId: string;
  memberId: string | null;
  assignment: 'auto' | 'manual' | 'unassigned';
  measuredAt: number;
  measurement: ScaleMeasurement;
}

export const WEIGH_IN_EVENT = 'weigh_in';

/** Every weigh-in id the store makes (wi- and 8 random bytes in hex), and nothing else. */
export const MEASUREMENT_ID_PATTERN = /^wi-[0-9a-f]{16}$/;

/** Accepts AA:BB:CC:DD:EE:FF in either case, with colons or dashes; undefined when it is not an address. */
export function normalizeBleAddress(input: string): string | undefined {
  const s = input.trim().toUpperCase().replace(/-/g, ':');
  return /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/.test(s) ? s : undefined;
}

/** A scale's Bluetooth address, sealed to the scale. */
export const SCALE_ADDRESS = sealedColumn({ table: 'scales', column: 'address', keyColumns: ['device_id'], purpose: 'scaleAddress', aad: (r) => `scale:${String(r.device_id)}:address` });
/** A weigh-in's body values, sealed to the weigh-in. */
export const BODY_METRICS = sealedColumn({ table: 'measurements', column: 'metrics', keyColumns: ['id'], purpose: 'bodyMetrics', aad: (r) => `measurement:${String(r.id)}:metrics` });

/** The keyed blind index a scale is found by (devices.lookup_tag), from its normalized address. */
export const SCALE_ADDRESS_INDEX = blindIndexColumn({
  select: 'SELECT device_id AS k, address AS sealed FROM scales',
  update: 'UPDATE devices SET lookup_tag = ? WHERE id = ?',
  sealed: SCALE_ADDRESS,
  index: (address, blind) => `scale:${blind('deviceIndex', address)}`,
});

export function scaleAddressAad(deviceId: string): string {
  return SCALE_ADDRESS.aad({ device_id: deviceId });
}

export function measurementAad(measurementId: string): string {
  return BODY_METRICS.aad({ id: measurementId });
}

export class ScaleExistsError extends Error {
  constructor() {
    super('a scale with this address is already enrolled');
    this.name = 'ScaleExistsError';
  }
}

export class ScaleStore {
  private readonly stmts;
  private readonly totals: EventTotals;

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {
    this.totals = new EventTotals(db);
    this.stmts = {
      targets: db.prepare("SELECT s.device_id, s.address FROM scales s JOIN devices d ON d.id = s.device_id WHERE d.kind = 'scale' ORDER BY d.created_at, d.id"),
      insertMeasurement: db.prepare('INSERT INTO measurements (id, device_id, member_id, assignment, measured_at, metrics) VALUES (?, ?, ?, ?, ?, ?)'),
      insertEvent: db.prepare('INSERT INTO events (device_id, type, ts, received_at, detail) VALUES (?, ?, ?, ?, NULL)'),
      since: db.prepare('SELECT id, device_id, member_id, assignment, measured_at, metrics FROM measurements WHERE measured_at >= ? ORDER BY measured_at DESC, id LIMIT ?'),
      memberRecent: db.prepare('SELECT id, device_id, member_id, assignment, measured_at, metrics FROM measurements WHERE member_id = ? AND measured_at >= ? ORDER BY measured_at DESC LIMIT ?'),
    };
  }

  /** Seals and writes an enrolled scale's address (inside the enrolment transaction). */
  writeAddress(deviceId: string, normalizedAddress: string): void {
    this.db.prepare('INSERT INTO scales (device_id, address) VALUES (?, ?)').run(deviceId, this.sealer.seal(SCALE_ADDRESS.purpose, scaleAddressAad(deviceId), normalizedAddress));
  }

  /** Keeps a scale's latest battery level (percent, 0–100). */
  recordBattery(deviceId: string, percent: number, at: number): void {
    this.db.prepare('UPDATE scales SET battery_percent = ?, battery_at = ? WHERE device_id = ?').run(percent, at, deviceId);
  }

  /** A scale's latest battery level, or null when it never reported one. */
  battery(deviceId: string): { percent: number; at: number } | null {
    const row = this.db.prepare('SELECT battery_percent AS percent, battery_at AS at FROM scales WHERE device_id = ?').get(deviceId) as { percent: number | null; at: number | null } | undefined;
    return row && row.percent !== null && row.at !== null ? { percent: row.percent, at: row.at } : null;
  }

  /** The enrolled scales with their (unsealed) addresses, for the BLE reader. */
  targets(): ScaleTarget[] {
    return (this.stmts.targets.all() as { device_id: string; address: Buffer }[]).map((r) => ({
      deviceId: r.device_id,
      address: this.sealer.openString('scaleAddress', scaleAddressAad(r.device_id), r.address),
    }));
  }

  findByAddress(address: string): string | undefined {
    const normalized = normalizeBleAddress(address);
    if (!normalized) return undefined;
    const row = this.db.prepare("SELECT id FROM devices WHERE lookup_tag = ? AND kind = 'scale'").get(this.lookupTag(normalized)) as { id: string } | undefined;
    return row?.id;
  }

  /** Stores one weigh-in and its count-only event in one transaction. */
  record(weighIn: WeighIn, assignment: Assignment, now = Date.now()): StoredMeasurement {
    const id = `wi-${randomBytes(8).toString('hex')}`;
    const stored: StoredMeasurement = {
      id,
      deviceId: weighIn.deviceId,
      memberId: assignment.memberId,
      assignment: assignment.memberId ? 'auto' : 'unassigned',
      measuredAt: weighIn.measuredAt,
      measurement: weighIn.measurement,
    };
    this.db.transaction(() => {
      this.stmts.insertMeasurement.run(id, stored.deviceId, stored.memberId, stored.assignment, stored.measuredAt, this.sealer.sealJson('bodyMetrics', measurementAad(id), stored.measurement));
      this.stmts.insertEvent.run(stored.deviceId, WEIGH_IN_EVENT, stored.measuredAt, now);
      this.totals.inserted(1);
    }).immediate();
    return stored;
  }

  /** Weigh-ins since a time (newest first), e.g. to recognise repeats after a restart. */
  since(from: number, limit = 200): StoredMeasurement[] {
    return (this.stmts.since.all(from, limit) as RawMeasurement[]).map((r) => this.decode(r));
  }

  /** Each member's most recent weights within the history window, newest first. */
  memberWeights(memberIds: string[], since: number, perMember = 5): MemberWeights[] {
    return memberIds.map((memberId) => ({
      memberId,
      recentKg: (this.stmts.memberRecent.all(memberId, since, perMember) as RawMeasurement[])
        .map((r) => this.decode(r).measurement.weightKg)
        .filter((w): w is number => w !== null),
    }));
  }

  history(memberId: string, limit = 1000): StoredMeasurement[] {
    const rows = this.db
      .prepare('SELECT id, device_id, member_id, assignment, measured_at, metrics FROM measurements WHERE member_id = ? ORDER BY measured_at DESC, id LIMIT ?')
      .all(memberId, limit) as RawMeasurement[];
    return rows.map((r) => this.decode(r));
  }

  /** Every weigh-in of one scale, oldest first (the household's export). */
  ofDevice(deviceId: string): StoredMeasurement[] {
    const rows = this.db
      .prepare('SELECT id, device_id, member_id, assignment, measured_at, metrics FROM measurements WHERE device_id = ? ORDER BY measured_at, id')
      .all(deviceId) as RawMeasurement[];
    return rows.map((r) => this.decode(r));
  }

  list(opts: { unassignedOnly?: boolean; limit?: number } = {}): StoredMeasurement[] {
    const where = opts.unassignedOnly ? 'WHERE member_id IS NULL' : '';
    const rows = this.db
      .prepare(`SELECT id, device_id, member_id, assignment, measured_at, metrics FROM measurements ${where} ORDER BY measured_at DESC, id LIMIT ?`)
      .all(opts.limit ?? 100) as RawMeasurement[];
    return rows.map((r) => this.decode(r));
  }

  /** The latest time a scale was heard from (its newest weigh-in event). */
  lastSeen(deviceId: string): number | null {
    return this.totals.lastReceivedAt(deviceId);
  }

  /** How many weigh-ins a scale has stored, by event type (for `device show`). */
  eventCounts(deviceId: string): Record<string, number> {
    return this.totals.countsByType(deviceId);
  }

  /** Deletes a member's weigh-ins (their body values are theirs; the count-only events stay). */
  deleteOfMember(memberId: string): number {
    return this.db.prepare('DELETE FROM measurements WHERE member_id = ?').run(memberId).changes;
  }

  /** Manual assignment by the household (null unassigns). */
  assign(measurementId: string, memberId: string | null): boolean {
    return (
      this.db
        .prepare('UPDATE measurements SET member_id = ?, assignment = ? WHERE id = ?')
        .run(memberId, memberId ? 'manual' : 'unassigned', measurementId).changes > 0
    );
  }

  /** The keyed blind index a scale is found by (devices.lookup_tag), never the address itself. */
  lookupTag(normalizedAddress: string): string {
    return SCALE_ADDRESS_INDEX.index(normalizedAddress, (purpose, value) => this.sealer.blindIndex(purpose, value));
  }

  private decode(r: RawMeasurement): StoredMeasurement {
    return {
      id: r.id,
      deviceId: r.device_id,
      memberId: r.member_id,
      assignment: r.assignment,
      measuredAt: r.measured_at,
      measurement: this.sealer.openJson<ScaleMeasurement>('bodyMetrics', measurementAad(r.id), r.metrics),
    };
  }
}

interface RawMeasurement {
  id: string;
  device_id: string;
  member_id: string | null;
  assignment: StoredMeasurement['assignment'];
  measured_at: number;
  metrics: Buffer;
}
