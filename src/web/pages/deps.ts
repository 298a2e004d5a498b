/**
 * What the pages need from the running hub, built from its context: a member's weights for the
 * chart, and where cameras reach the broker (for the credentials QR code).
 */
import { ScaleStore } from '../../devices/scale/store.js';
import { hostname, networkInterfaces } from 'node:os';
import { reachableHosts } from '../../net/addresses.js';
import type { WebDeps } from '../deps.js';
import type { PagesDeps } from './index.js';

/** The newest weigh-ins a chart shows; older ones would only crowd the line. */
const CHART_POINTS = 365;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;

export function pagesDepsFromHub(ctx: Pick<WebDeps, 'vault' | 'config' | 'mqttPort' | 'members'>): PagesDeps {
  const members = ctx.members.store;
  const scales = new ScaleStore(ctx.vault.db, ctx.vault.sealer);
  return {
    weightHistory(memberId) {
      const member = members.get(memberId);
      if (!member) return undefined;
      const points = scales
        .history(memberId, CHART_POINTS)
        .filter((m) => m.measurement.weightKg !== null)
        .map((m) => ({ at: m.measuredAt, value: m.measurement.weightKg! }))
        .reverse();
      return { name: member.name, points };
    },
    mqttEndpoint(requestHost) {
      const host = ctx.config.mqtt.host;
      if (!WILDCARD_HOSTS.has(host)) return { host, port: ctx.mqttPort };
      // Bound to every interface: the host the browser reached the hub by, unless that was the hub
      // itself (localhost), which no camera or phone can reach: then its first LAN address.
      const own = LOOPBACK.test(requestHost) ? reachableHosts(host, networkInterfaces(), hostname())[0]! : requestHost;
      return { host: own, port: ctx.mqttPort };
    },
  };
}
