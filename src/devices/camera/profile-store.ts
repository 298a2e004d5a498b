/**
 * Which firmware profile and topic root each camera was enrolled with (camera_profiles). The root
 * is sealed; the hub has few cameras, so the overlap check at enrolment opens them all.
 */
import type { Sealer } from '../../crypto/sealer.js';
import type { Db } from '../../store/database.js';
import { sealedColumn } from '../../store/sealed-columns.js';
import { isProfileName, type CameraBinding } from './profiles/index.js';

/** A camera's topic root: sealed, bound to the camera. */
export const CAMERA_TOPIC = sealedColumn({ table: 'camera_profiles', column: 'topic', keyColumns: ['device_id'], purpose: 'cameraTopic', aad: (r) => `camera_profiles:${String(r.device_id)}:topic` });
const topicAad = (deviceId: string) => CAMERA_TOPIC.aad({ device_id: deviceId });

export class CameraProfileStore {
  private readonly stmts;

  constructor(
    db: Db,
    private readonly sealer: Sealer,
  ) {
    this.stmts = {
      one: db.prepare('SELECT profile, topic FROM camera_profiles WHERE device_id = ?'),
      all: db.prepare('SELECT device_id, profile, topic FROM camera_profiles'),
      insert: db.prepare('INSERT INTO camera_profiles (device_id, profile, topic) VALUES (?, ?, ?)'),
    };
  }

  /** The camera's binding; undefined for a camera speaking hearth's own protocol (or none at all). */
  bindingOf(deviceId: string): CameraBinding | undefined {
    const row = this.stmts.one.get(deviceId) as { profile: string; topic: Buffer } | undefined;
    return row ? this.open(deviceId, row.profile, row.topic) : undefined;
  }

  all(): { deviceId: string; binding: CameraBinding }[] {
    const rows = this.stmts.all.all() as { device_id: string; profile: string; topic: Buffer }[];
    return rows.flatMap((r) => {
      const binding = this.open(r.device_id, r.profile, r.topic);
      return binding ? [{ deviceId: r.device_id, binding }] : [];
    });
  }

  insert(deviceId: string, binding: CameraBinding): void {
    this.stmts.insert.run(deviceId, binding.profile, this.sealer.seal('cameraTopic', topicAad(deviceId), binding.root));
  }

  private open(deviceId: string, profile: string, topic: Buffer): CameraBinding | undefined {
    // A profile this build does not know (written by a newer one) leaves the camera unbound: refused.
    if (!isProfileName(profile) || profile === 'hearth') return undefined;
    return { profile, root: this.sealer.openString('cameraTopic', topicAad(deviceId), topic) };
  }
}
