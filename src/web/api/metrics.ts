/**
 * GET /metrics for Prometheus. Not behind the session: a scraper has no login. It needs the bearer
 * token made with `hearth metrics token` (compared in constant time) and, like every route, a
 * client on the local network (the server's guard runs first). Without a valid token it answers
 * 401 and nothing else.
 */
import type { FastifyInstance } from 'fastify';
import { HomeAssistantSettings } from '../../integrations/home-assistant/settings.js';
import { HubMetrics } from '../../integrations/prometheus/exposition.js';
import { MetricsToken } from '../../integrations/prometheus/token.js';
import { PrivacyLedger } from '../../uplink/ledger.js';
import { Outbox } from '../../uplink/outbox.js';
import { upstreamState } from '../../uplink/upstream-state.js';
import type { WebDeps } from '../deps.js';
import { MetricsRoute } from './schemas.js';

export function registerMetrics(app: FastifyInstance, deps: WebDeps): void {
  const db = deps.vault.db;
  const token = new MetricsToken(db);
  const outbox = new Outbox(db);
  const ledger = new PrivacyLedger(db);
  const ha = new HomeAssistantSettings(db);
  const metrics = new HubMetrics({
    counters: () => deps.counters.snapshot(),
    deviceKinds: () => deps.devices.list().map((d) => d.kind),
    devicesOnline: () => deps.presence.connectedDeviceIds().length,
    outboxSize: () => outbox.size(),
    ledgerSize: () => ledger.size(),
    storageHealthy: () => deps.storage.status().healthy,
    upstream: () => upstreamState(deps.privacy?.status(), Boolean(deps.config.uplink.url), deps.consent.store.all().some((c) => c.enabled)),
    homeAssistantEnabled: () => ha.enabled(),
  });
  app.get('/metrics', { schema: MetricsRoute }, async (req, reply) => {
    if (!token.matchesHeader(req.headers.authorization)) {
      deps.counters.increment('http.refused.metrics_token');
      return reply.code(401).header('www-authenticate', 'Bearer realm="hearth metrics"').send({ error: 'a bearer token is needed: make one with `hearth metrics token`' });
    }
    const body = await metrics.render();
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}
