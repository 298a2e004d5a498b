/**
 * The add-on services of the daemon, each built from the running core (HubContext). Kept apart
 * from hub.ts so the composition does not change when a concern is added.
 */
import { startHubGpio, type HubGpio } from '../hw/gpio/hub-gpio.js';
import { uplinkServiceOnBus } from '../uplink/service.js';
import { PrivacyLedger } from '../uplink/ledger.js';
import { upstreamState } from '../uplink/upstream-state.js';
import { HomeAssistantBridge } from '../integrations/home-assistant/service.js';
import { HomeAssistantSettings } from '../integrations/home-assistant/settings.js';
import { hearthVersion } from '../integrations/version.js';
import { RetentionService } from '../store/retention-service.js';
import { MetricsService } from '../integrations/prometheus/service.js';
import { HomeBudget } from '../metrics/budget.js';
import { Outbox } from '../uplink/outbox.js';
import type { HubContext, HubService } from './context.js';

export type ServiceFactory = (ctx: HubContext) => HubService | HubService[] | undefined;

/**
 * Privacy switch (GPIO or the persistent flag alone) with its activity LED, and the uplink, which
 * obeys the switch; the LED follows the uplink's sends on the bus. Built together because the
 * uplink needs the switch's gate.
 */
function privacyAndUplink(ctx: HubContext): HubService[] {
  let gpio: HubGpio | undefined;
  let unloadUplink: (() => Promise<void>) | undefined;
  const { config, logger, bus, services } = ctx;
  return [
    {
      name: 'privacy',
      start() {
        gpio = startHubGpio({ config: config.gpio, db: services.vault.db, logger, bus });
        services.privacy = gpio.gate;
      },
      stop() {
        gpio?.stop();
      },
    },
    {
      name: 'uplink',
      start() {
        if (!gpio) throw new Error('the privacy service must start before the uplink');
        const uplink = uplinkServiceOnBus({ config, logger, bus, vault: services.vault }, gpio.gate);
        uplink.service.start();
        services.uplink = uplink.service;
        unloadUplink = uplink.unload;
      },
      async stop() {
        await unloadUplink?.();
      },
    },
  ];
}

/**
 * Home Assistant discovery on the hub's broker; idle until `hearth integration add home-assistant`
 * (it follows the stored setting, so it needs no restart).
 */
function homeAssistant(ctx: HubContext): HubService {
  const { config, logger, bus, services } = ctx;
  const ledger = new PrivacyLedger(services.vault.db);
  return new HomeAssistantBridge({
    bus,
    logger,
    devices: services.devices,
    members: services.members,
    settings: new HomeAssistantSettings(services.vault.db),
    mqtt: services.mqtt,
    version: hearthVersion(),
    upstream: () => upstreamState(services.privacy?.status(), Boolean(config.uplink.url), services.consent.store.all().some((c) => c.enabled)),
    reportsSentToday: () => {
      const midnight = new Date();
      midnight.setHours(0, 0, 0, 0);
      return ledger.list(1000).filter((e) => e.sentAt >= midnight.getTime()).length;
    },
  });
}

/** Retention purges and the low-disk watch (src/store/retention-service.ts). */
function retention(ctx: HubContext): HubService {
  const service = new RetentionService({ db: ctx.services.vault.db, config: ctx.config, bus: ctx.bus, logger: ctx.logger });
  ctx.services.retention = service;
  return service;
}

/** The Prometheus exposition behind GET /metrics, one per hub (src/integrations/prometheus). */
function metrics(ctx: HubContext): HubService {
  const { config, bus, services } = ctx;
  const db = services.vault.db;
  const outbox = new Outbox(db);
  const ledger = new PrivacyLedger(db);
  const ha = new HomeAssistantSettings(db);
  const budget = new HomeBudget(db, config.uplink.dailyEpsilonBudget);
  const service = new MetricsService({
    bus,
    bleEnabled: config.ble.enabled,
    source: {
      counters: () => services.counters.snapshot(),
      deviceKinds: () => services.devices.list().map((d) => d.kind),
      devicesOnline: () => services.presence.connectedDeviceIds().length,
      publishesReceived: () => services.presence.publishesReceived(),
      outboxSize: () => outbox.size(),
      ledgerSize: () => ledger.size(),
      storageHealthy: () => services.storage.status().healthy,
      upstream: () => upstreamState(services.privacy?.status(), Boolean(config.uplink.url), services.consent.store.all().some((c) => c.enabled)),
      homeAssistantEnabled: () => ha.enabled(),
      privacyBudgetRemaining: () => budget.remaining(Date.now()),
    },
  });
  services.metrics = service;
  return service;
}

export const HUB_SERVICES: ServiceFactory[] = [privacyAndUplink, homeAssistant, retention, metrics];
