/**
 * The household's enrolled devices, of every kind, in one table. Nicknames are sealed with the
 * device id as associated data; secrets are kept only as Argon2id hashes. The registry knows no
 * kind by name: kinds are plugins (kind.ts, kinds.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../crypto/sealer.js';
import type { Db } from '../store/database.js';
import { sealedColumn } from '../store/sealed-columns.js';
import { displayNameProblem } from '../text/display-name.js';

/** A registered kind's name (see kinds.ts); stored in devices.kind. */
export type DeviceKind = string;

export interface DeviceRecord {
  id: string;
  kind: DeviceKind;
  nickname: string;
  createdAt: number;
}

export const MAX_NICKNAME_BYTES = 64;

/** A kind's id prefix: a few lower-case letters (cam, scale). */
export const DEVICE_ID_PREFIX_PATTERN = /^[a-z]{2,8}$/;

/** Every id newDeviceId makes, and nothing else: what a URL or a request may name. */
export const DEVICE_ID_PATTERN = /^[a-z]{2,8}-[0-9a-f]{12}$/;

export function newDeviceId(idPrefix: string): string {
  if (!DEVICE_ID_PREFIX_PATTERN.test(idPrefix)) throw new RangeError('a device id prefix is 2–8 lower-case letters');
  return `${idPrefix}-${randomBytes(6).toString('hex')}`;
}

/** The device nickname column: sealed with the device id as associated data. */
export const DEVICE_NICKNAME = sealedColumn({ table: 'devices', column: 'nickname', keyColumns: ['id'], purpose: 'deviceNickname', aad: (r) => `device:${String(r.id)}:nickname` });

export function nicknameAad(deviceId: string): string {
  return DEVICE_NICKNAME.aad({ id: deviceId });
}

/** Returns a reason when a nickname is unusable, undefined when it is fine. */
export function nicknameProblem(nickname: string): string | undefined {
  if (Buffer.byteLength(nickname) > MAX_NICKNAME_BYTES) return `the nickname is longer than ${MAX_NICKNAME_BYTES} bytes`;
  return displayNameProblem(nickname, 'nickname', MAX_NICKNAME_BYTES);
}

export class DeviceRegistry {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  /** Writes the devices row; the caller (DeviceService) gives the id and runs the transaction. */
  add(kind: DeviceKind, id: string, nickname: string, extra: { secretHash?: string; lookupTag?: string } = {}): DeviceRecord {
    const createdAt = Date.now();
    this.db
      .prepare('INSERT INTO devices (id, kind, nickname, secret_hash, lookup_tag, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, kind, this.sealer.seal('deviceNickname', nicknameAad(id), nickname), extra.secretHash ?? null, extra.lookupTag ?? null, createdAt);
    return { id, kind, nickname, createdAt };
  }

  get(id: string): DeviceRecord | undefined {
    const row = this.db.prepare('SELECT id, kind, nickname, created_at FROM devices WHERE id = ?').get(id) as RawDevice | undefined;
    return row && this.decode(row);
  }

  /** Whether a device with this blind index exists (a kind's duplicate check). */
  hasLookupTag(tag: string): boolean {
    return this.db.prepare('SELECT 1 FROM devices WHERE lookup_tag = ?').get(tag) !== undefined;
  }

  /** Every device id with its kind, without opening a nickname (the watcher's diff). */
  idsWithKinds(): Map<string, DeviceKind> {
    return new Map((this.db.prepare('SELECT id, kind FROM devices').all() as { id: string; kind: string }[]).map((r) => [r.id, r.kind]));
  }

  kindOf(id: string): DeviceKind | undefined {
    return this.db.prepare('SELECT kind FROM devices WHERE id = ?').pluck().get(id) as string | undefined;
  }

  list(kind?: DeviceKind): DeviceRecord[] {
    const rows = (
      kind
        ? this.db.prepare('SELECT id, kind, nickname, created_at FROM devices WHERE kind = ? ORDER BY created_at, id').all(kind)
        : this.db.prepare('SELECT id, kind, nickname, created_at FROM devices ORDER BY created_at, id').all()
    ) as RawDevice[];
    return rows.map((r) => this.decode(r));
  }

  /** Removes a device and, through foreign keys, everything stored about it. */
  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM devices WHERE id = ?').run(id).changes > 0;
  }

  exists(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM devices WHERE id = ?').get(id) !== undefined;
  }

  /** The Argon2id hash of a device's secret, if it is of this kind and has one. */
  secretHashOf(kind: DeviceKind): (id: string) => string | undefined {
    const stmt = this.db.prepare('SELECT secret_hash FROM devices WHERE id = ? AND kind = ?').pluck();
    return (id) => (stmt.get(id, kind) as string | null | undefined) ?? undefined;
  }

  private decode(row: RawDevice): DeviceRecord {
    return {
      id: row.id,
      kind: row.kind,
      nickname: this.sealer.openStringForDisplay('deviceNickname', nicknameAad(row.id), row.nickname),
      createdAt: row.created_at,
    };
  }
}

interface RawDevice {
  id: string;
  kind: DeviceKind;
  nickname: Buffer;
  created_at: number;
}
