/**
 * What the pages need from the running hub, built from its context: a member's weights and a
 * device's events per day for the charts, and where cameras reach the broker (for the credentials
 * QR code).
 */
import { ScaleStore } from '../../devices/scale/store.js';
import { DAY_MS, rolledUpDays } from '../../store/retention.js';
import { hostname, networkInterfaces } from 'node:os';
import { reachableHosts } from '../../net/addresses.js';
import type { WebDeps } from '../deps.js';
import type { PagesDeps } from './index.js';

/** The newest weigh-ins a chart shows; older ones would only crowd the line. */
const CHART_POINTS = 365;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$/i;

export function pagesDepsFromHub(ctx: Pick<WebDeps, 'vault' | 'config' | 'mqttPort' | 'members' | 'registry'>): PagesDeps {
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
    deviceActivity(deviceId, fromAt, toAt) {
      if (!ctx.registry.exists(deviceId)) return undefined;
      const perDay = new Map<number, number>();
      for (const r of rolledUpDays(ctx.vault.db, deviceId, Math.floor(fromAt / DAY_MS), Math.floor(toAt / DAY_MS) + 1)) perDay.set(r.day, (perDay.get(r.day) ?? 0) + r.n);
      return [...perDay].map(([day, n]) => ({ at: day * DAY_MS, n }));
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
