/**
 * The Home Assistant integration's stored state, in the meta table: the Argon2id hash of the MQTT
 * password Home Assistant connects with (present = the integration is on), this hub's random id in
 * Home Assistant's topics and unique ids, and whether camera nicknames may be shown there. Read
 * each time it is asked, so a change made by the CLI applies to the running hub at once. The
 * members whose weight is shared are rows of ha_weight_sharing (they go with the member).
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/database.js';
import { META_KEYS, MetaStore } from '../../store/meta.js';

/** The MQTT username Home Assistant connects with; it can never be a device id (no `-<hex>`). */
export const HA_USERNAME = 'homeassistant';

export class HomeAssistantSettings {
  private readonly meta: MetaStore;

  constructor(private readonly db: Db) {
    this.meta = new MetaStore(db);
  }

  /** The password hash, or undefined while the integration is off. */
  credentialHash(): string | undefined {
    const v = this.meta.read(META_KEYS.homeAssistantCredential);
    return v && v.length > 0 ? v.toString('utf8') : undefined;
  }

  enabled(): boolean {
    return this.credentialHash() !== undefined;
  }

  /** Turns the integration on with this password hash (a new one replaces the old). */
  setCredentialHash(hash: string): void {
    this.meta.write(META_KEYS.homeAssistantCredential, Buffer.from(hash, 'utf8'));
    if (!this.meta.read(META_KEYS.homeAssistantHubId)) this.meta.write(META_KEYS.homeAssistantHubId, Buffer.from(randomBytes(4).toString('hex'), 'utf8'));
  }

  /** Turns the integration off: the credential is gone (the hub id stays, so re-adding keeps entity ids). */
  removeCredential(): boolean {
    const had = this.enabled();
    this.meta.delete(META_KEYS.homeAssistantCredential);
    return had;
  }

  /** Eight hex digits, made when the integration was first turned on. */
  hubId(): string | undefined {
    const v = this.meta.read(META_KEYS.homeAssistantHubId)?.toString('utf8');
    return v && /^[0-9a-f]{8}$/.test(v) ? v : undefined;
  }

  /** Camera nicknames are shown in Home Assistant unless the household turned this off. */
  shareNames(): boolean {
    return this.meta.read(META_KEYS.homeAssistantShareNames)?.toString('utf8') !== '0';
  }

  setShareNames(share: boolean): void {
    this.meta.write(META_KEYS.homeAssistantShareNames, Buffer.from(share ? '1' : '0', 'utf8'));
  }

  /** Members whose latest weight Home Assistant may show (off for everyone by default), sorted. */
  weightSharedMembers(): string[] {
    return this.db.prepare('SELECT member_id FROM ha_weight_sharing ORDER BY member_id').pluck().all() as string[];
  }

  /** Turns one member's weight sharing on or off; false when there is no such member. */
  setShareWeight(memberId: string, share: boolean, now = Date.now()): boolean {
    return this.db.transaction(() => {
      if (!this.db.prepare('SELECT 1 FROM members WHERE id = ?').get(memberId)) return false;
      if (share) this.db.prepare('INSERT OR IGNORE INTO ha_weight_sharing (member_id, since) VALUES (?, ?)').run(memberId, now);
      else this.db.prepare('DELETE FROM ha_weight_sharing WHERE member_id = ?').run(memberId);
      return true;
    })();
  }
}
