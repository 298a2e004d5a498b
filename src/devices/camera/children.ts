/**
 * The cameras an NVR reports (Frigate names each of its cameras in its topics and events): each
 * becomes a camera device of its own, with the NVR's name for it as its nickname (sealed) and the
 * NVR as its parent, so the dashboard, `device list` and the aggregates see every camera. Such a
 * device has no secret (it cannot log in); it goes when its NVR is removed (camera_children).
 */
import type { Sealer } from '../../crypto/sealer.js';
import type { Db } from '../../store/database.js';
import { DeviceRegistry, newDeviceId } from '../registry.js';

/** Frigate camera names are `[a-zA-Z0-9_-]`; the hub takes at most this many per NVR. */
export const MAX_CHILDREN_PER_PARENT = 64;
const CHILD_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export class ChildCameras {
  private readonly registry: DeviceRegistry;
  private readonly stmts;
  /** parent → (name → child id), loaded (nicknames opened) on first use. */
  private readonly byParent = new Map<string, Map<string, string>>();

  constructor(
    private readonly db: Db,
    sealer: Sealer,
    private readonly idPrefix: string,
    private readonly kind: string,
  ) {
    this.registry = new DeviceRegistry(db, sealer);
    this.stmts = {
      children: db.prepare('SELECT device_id FROM camera_children WHERE parent_id = ?').pluck(),
      parent: db.prepare('SELECT parent_id FROM camera_children WHERE device_id = ?').pluck(),
      link: db.prepare('INSERT INTO camera_children (device_id, parent_id) VALUES (?, ?)'),
    };
  }

  /** The child device for `name`, created on first sight; undefined if the name is unusable or the NVR has too many. */
  resolve(parentId: string, name: string): { id: string; created: boolean } | undefined {
    if (!CHILD_NAME.test(name)) return undefined;
    const children = this.load(parentId);
    const known = children.get(name);
    if (known) return { id: known, created: false };
    if (children.size >= MAX_CHILDREN_PER_PARENT) return undefined;
    const id = newDeviceId(this.idPrefix);
    const created = this.db
      .transaction(() => {
        if (!this.registry.exists(parentId)) return false; // the NVR was removed meanwhile
        this.registry.add(this.kind, id, name);
        this.stmts.link.run(id, parentId);
        return true;
      })
      .immediate();
    if (!created) return undefined;
    children.set(name, id);
    return { id, created: true };
  }

  childrenOf(parentId: string): string[] {
    return [...this.load(parentId).values()];
  }

  parentOf(childId: string): string | undefined {
    return this.stmts.parent.get(childId) as string | undefined;
  }

  forget(deviceId: string): void {
    this.byParent.delete(deviceId);
    for (const children of this.byParent.values()) for (const [name, id] of children) if (id === deviceId) children.delete(name);
  }

  private load(parentId: string): Map<string, string> {
    let children = this.byParent.get(parentId);
    if (!children) {
      children = new Map();
      for (const id of this.stmts.children.all(parentId) as string[]) {
        const d = this.registry.get(id);
        if (d) children.set(d.nickname, id);
      }
      this.byParent.set(parentId, children);
    }
    return children;
  }
}
