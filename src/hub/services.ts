/**
 * The services each concern adds to the daemon. Kept apart from hub.ts so the core composition
 * does not change when a concern is added; each factory gets the running core (HubContext).
 */
import { scaleReaderService } from '../devices/scale/ble/service.js';
import { startHubGpio, type HubGpio } from '../hw/gpio/hub-gpio.js';
import { uplinkServiceFromHub, type UplinkService } from '../uplink/service.js';
import type { HubContext, HubService } from './hub.js';

export type ServiceFactory = (ctx: HubContext) => HubService | HubService[] | undefined;

/**
 * Privacy switch (GPIO or the persistent flag alone), activity LED and the uplink, which obeys the
 * switch and lights the LED while it sends. Built together because the uplink needs both.
 */
function privacyAndUplink(ctx: HubContext): HubService[] {
  let gpio: HubGpio | undefined;
  let uplink: UplinkService | undefined;
  return [
    {
      name: 'privacy',
      start() {
        gpio = startHubGpio({ config: ctx.config.gpio, db: ctx.vault.db, logger: ctx.logger });
        ctx.privacy = gpio.gate;
      },
      stop() {
        gpio?.stop();
      },
    },
    {
      name: 'uplink',
      start() {
        if (!gpio) throw new Error('the privacy service must start before the uplink');
        uplink = uplinkServiceFromHub(ctx, { gate: gpio.gate, hooks: [gpio.led] });
        uplink.start();
        ctx.uplink = uplink;
      },
      async stop() {
        await uplink?.stop();
      },
    },
  ];
}

export const HUB_SERVICES: ServiceFactory[] = [privacyAndUplink, scaleReaderService];
