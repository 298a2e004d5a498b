/**
 * The meta table: small named values of the hub (key check, pseudonym, admin password hash, the
 * privacy flag, report window state). One place reads and writes it, and the keys are named here
 * once, so two layers can never spell one differently.
 */
import type { Db } from './database.js';

export const META_KEYS = {
  keyCheck: 'key_check',
  adminPasswordHash: 'admin_password_hash',
  privacyPaused: 'privacy_paused',
  pseudonym: 'uplink_pseudonym',
  /** Argon2id hash of Home Assistant's MQTT password; absent while the integration is off. */
  homeAssistantCredential: 'ha_credential_hash',
  /** This hub's id in Home Assistant's topics and unique ids (random, made with the credential). */
  homeAssistantHubId: 'ha_hub_id',
  /** '0' when camera nicknames must not be shown in Home Assistant (shared by default). */
  homeAssistantShareNames: 'ha_share_names',
  /** SHA-256 of the bearer token for GET /metrics. */
  metricsTokenHash: 'metrics_token_hash',
  lastPurge: 'retention_last_purge',
  /** When `hearth db purge` last asked a running daemon to purge (ms since the epoch, as text). */
  purgeRequestedAt: 'retention_purge_requested_at',
} as const;

export class MetaStore {
  private readonly readStmt;
  private readonly writeStmt;
  private readonly insertStmt;
  private readonly deleteStmt;

  constructor(db: Db) {
    this.readStmt = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.writeStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.insertStmt = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM meta WHERE key = ?');
  }

  read(key: string): Buffer | undefined {
    const v = this.readStmt.get(key) as unknown;
    return Buffer.isBuffer(v) ? v : undefined;
  }

  write(key: string, value: Buffer): void {
    this.writeStmt.run(key, value);
  }

  delete(key: string): void {
    this.deleteStmt.run(key);
  }

  /** Inserts a value that must not exist yet (fails if it does). */
  insert(key: string, value: Buffer): void {
    this.insertStmt.run(key, value);
  }
}
