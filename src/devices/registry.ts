/**
 * The household's enrolled devices, of every kind, in one table. Nicknames are sealed with the
 * device id as associated data; secrets are kept only as Argon2id hashes.
 */
import { randomBytes } from 'node:crypto';
import type { Sealer } from '../crypto/sealer.js';
import type { Db } from '../store/database.js';
import { displayNameProblem } from '../text/display-name.js';

export type DeviceKind = 'camera' | 'scale';

export interface DeviceRecord {
  id: string;
  kind: DeviceKind;
  nickname: string;
  createdAt: number;
}

const ID_PREFIX: Record<DeviceKind, string> = { camera: 'cam', scale: 'scale' };
export const MAX_NICKNAME_BYTES = 64;

/** Every id newDeviceId makes, and nothing else: what a URL or a request may name. */
export const DEVICE_ID_PATTERN = /^(cam|scale)-[0-9a-f]{12}$/;

export function newDeviceId(kind: DeviceKind): string {
  return `${ID_PREFIX[kind]}-${randomBytes(6).toString('hex')}`;
}

export function nicknameAad(deviceId: string): string {
  return `device:${deviceId}:nickname`;
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

  add(kind: DeviceKind, nickname: string, extra: { id?: string; secretHash?: string; lookupTag?: string } = {}): DeviceRecord {
    const id = extra.id ?? newDeviceId(kind);
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

  findByLookupTag(tag: string): DeviceRecord | undefined {
    const row = this.db.prepare('SELECT id, kind, nickname, created_at FROM devices WHERE lookup_tag = ?').get(tag) as RawDevice | undefined;
    return row && this.decode(row);
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

  secretHash(id: string): string | undefined {
    const row = this.db.prepare('SELECT secret_hash FROM devices WHERE id = ?').get(id) as { secret_hash: string | null } | undefined;
    return row?.secret_hash ?? undefined;
  }

  private decode(row: RawDevice): DeviceRecord {
    return {
      id: row.id,
      kind: row.kind,
      nickname: this.sealer.openString('deviceNickname', nicknameAad(row.id), row.nickname),
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
