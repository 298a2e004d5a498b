/**
 * The services each concern adds to the daemon, and the connection adapter in front of the broker.
 * Kept apart from hub.ts so the core composition does not change when a concern is added.
 */
import type { HubContext, HubService } from './hub.js';
import type { HubOptions } from './hub.js';

export const HUB_SERVICES: ((ctx: HubContext) => HubService | HubService[] | undefined)[] = [];

export const attachConnection: HubOptions['attachConnection'] = undefined;
