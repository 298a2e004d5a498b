/**
 * What the running hub hands to its adapters (web UI, add-on services): the one config, the
 * logger, the bus, and the services. Adapters reach the store only through these.
 */
import type { DomainBus } from '../bus/bus.js';
import type { HearthConfig } from '../config/config.js';
import type { ConsentService } from '../consent/service.js';
import type { PasswordWorker } from '../crypto/password-worker.js';
import type { DeviceService } from '../devices/service.js';
import type { PrivacyStatus } from '../hw/gpio/hub-gpio.js';
import type { Logger } from '../log/logger.js';
import type { MemberService } from '../members/service.js';
import type { Counters } from '../store/counters.js';
import type { StorageHealth } from '../store/health.js';
import type { Vault } from '../store/vault.js';
import type { RetentionService } from '../store/retention-service.js';
import type { MetricsService } from '../integrations/prometheus/service.js';
import type { UplinkService } from '../uplink/service.js';

/** A part of the hub with a lifecycle (privacy switch, uplink...). */
export interface HubService {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface PrivacyControl {
  status(): PrivacyStatus;
  /** The persistent software flag (`hearth privacy pause`), for the web UI. */
  setPausedByCommand(paused: boolean): void;
}

/** The hub's own side of its broker: its publishes and its non-device accounts. */
export interface HubMqtt {
  publish(topic: string, payload: string | Buffer, opts: { qos: 0 | 1; retain: boolean }): Promise<void>;
  onPrincipalPublish(listener: (topic: string, payload: Buffer) => void): () => void;
  disconnectPrincipal(username: string): number;
  isOnline(deviceId: string): boolean;
}

export interface HubServices {
  /** The store, for the read side of adapters (queries build their stores from it). */
  vault: Vault;
  counters: Counters;
  storage: StorageHealth;
  /** Argon2id hashing and checks off the event loop (device secrets, the admin password). */
  passwords: PasswordWorker;
  devices: DeviceService;
  members: MemberService;
  consent: ConsentService;
  /** Which devices are connected to the broker now, and how many publishes it has seen since start. */
  presence: { connectedDeviceIds(): string[]; publishesReceived(): number };
  /** The port the broker listens on (the configured one, or the one picked for port 0). */
  mqttPort: number;
  /** MQTT over TLS when served (mqtt.tls): its port and the certificate's SHA-256 fingerprint. */
  mqttTls?: { port: number; fingerprint: string };
  mqtt: HubMqtt;
  /** Set by the privacy service once started: whether upstream is paused, and by what. */
  privacy?: PrivacyControl;
  /** Set by the uplink service once started (report preview, close a window now). */
  uplink?: UplinkService;
  /** Set by the retention service: purge now, the last free-space check. */
  retention?: RetentionService;
  /** Set by the metrics service: the one Prometheus exposition of this hub. */
  metrics?: MetricsService;
}

export interface HubContext {
  config: HearthConfig;
  logger: Logger;
  bus: DomainBus;
  services: HubServices;
}
