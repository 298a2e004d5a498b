/**
 * What the web UI's routes use of the running hub, taken from its context once: the use-case
 * services for every change, and the store's read side for the pages' queries.
 */
import type { DomainBus } from '../bus/bus.js';
import type { HearthConfig } from '../config/config.js';
import { CameraStore } from '../devices/camera/store.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { HubContext, HubServices } from '../hub/context.js';
import type { Logger } from '../log/logger.js';

/** The hub's services (the MQTT seam is the integrations', not the web UI's) and what the routes read. */
export interface WebDeps extends Omit<HubServices, 'mqtt'> {
  config: HearthConfig;
  logger: Logger;
  bus: DomainBus;
  registry: DeviceRegistry;
  cameras: CameraStore;
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
    mqttTls: s.mqttTls,
    get privacy() {
      return s.privacy;
    },
    get uplink() {
      return s.uplink;
    },
    get retention() {
      return s.retention;
    },
    get metrics() {
      return s.metrics;
    },
  };
}
