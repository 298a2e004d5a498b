/**
 * What the web UI's routes use of the running hub, taken from its context once: the use-case
 * services for every change, and the store's read side for the pages' queries.
 */
import type { DomainBus } from '../bus/bus.js';
import type { HearthConfig } from '../config/config.js';
import type { ConsentService } from '../consent/service.js';
import type { PasswordWorker } from '../crypto/password-worker.js';
import { CameraStore } from '../devices/camera/store.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { DeviceService } from '../devices/service.js';
import type { HubContext, PrivacyControl } from '../hub/context.js';
import type { Logger } from '../log/logger.js';
import type { MemberService } from '../members/service.js';
import type { Counters } from '../store/counters.js';
import type { StorageHealth } from '../store/health.js';
import type { Vault } from '../store/vault.js';
import type { UplinkService } from '../uplink/service.js';
import type { RetentionService } from '../store/retention-service.js';

export interface WebDeps {
  config: HearthConfig;
  logger: Logger;
  bus: DomainBus;
  vault: Vault;
  counters: Counters;
  storage: StorageHealth;
  passwords: PasswordWorker;
  devices: DeviceService;
  members: MemberService;
  consent: ConsentService;
  registry: DeviceRegistry;
  cameras: CameraStore;
  presence: { connectedDeviceIds(): string[] };
  mqttPort: number;
  /** Present once the privacy service runs. */
  readonly privacy?: PrivacyControl;
  /** Present once the uplink runs. */
  readonly uplink?: UplinkService;
  /** Present once the retention service runs (purges, the free-space watch). */
  readonly retention?: RetentionService;
}

export function webDepsFromHub(ctx: HubContext): WebDeps {
  const s = ctx.services;
  return {
    config: ctx.config,
    logger: ctx.logger,
    bus: ctx.bus,
    vault: s.vault,
    counters: s.counters,
    storage: s.storage,
    passwords: s.passwords,
    devices: s.devices,
    members: s.members,
    consent: s.consent,
    registry: s.devices.registry,
    cameras: new CameraStore(s.vault.db, s.vault.sealer),
    presence: s.presence,
    mqttPort: s.mqttPort,
    get privacy() {
      return s.privacy;
    },
    get uplink() {
      return s.uplink;
    },
    get retention() {
      return s.retention;
    },
  };
}
