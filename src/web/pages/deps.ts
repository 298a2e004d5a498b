/**
 * What the pages need from the running hub, built from its context: a member's weights for the
 * chart, and where cameras reach the broker (for the credentials QR code).
 */
import { ScaleStore } from '../../devices/scale/store.js';
import type { WebDeps } from '../deps.js';
import type { PagesDeps } from './index.js';

/** The newest weigh-ins a chart shows; older ones would only crowd the line. */
const CHART_POINTS = 365;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

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
    mqttEndpoint() {
      const host = ctx.config.mqtt.host;
      // Bound to every interface: the host the browser reached the hub by is the one to give out.
      return WILDCARD_HOSTS.has(host) ? { port: ctx.mqttPort } : { host, port: ctx.mqttPort };
    },
  };
}
