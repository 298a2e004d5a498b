/**
 * The names of the meta table's values, defined once (here, with no imports, so that migrations
 * can name them too); src/store/meta.ts reads and writes them.
 */
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
  /** Present once every stored event detail is sealed with its camera as well as its row id. */
  eventDetailsBound: 'event_details_bound_to_device',
  /** When `hearth db purge` last asked a running daemon to purge (ms since the epoch, as text). */
  purgeRequestedAt: 'retention_purge_requested_at',
} as const;
