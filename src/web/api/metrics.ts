/**
 * GET /metrics for Prometheus. Not behind the session: a scraper has no login. It needs the bearer
 * token made with `hearth metrics token` (compared in constant time) and, like every route, a
 * client on the local network (the server's guard runs first). Without a valid token it answers
 * 401 and nothing else.
 */
import type { FastifyInstance } from 'fastify';
import { MetricsToken } from '../../integrations/prometheus/token.js';
import type { WebDeps } from '../deps.js';
import { MetricsRoute } from './schemas.js';

export function registerMetrics(app: FastifyInstance, deps: WebDeps): void {
  const token = new MetricsToken(deps.vault.db);
  app.get('/metrics', { schema: MetricsRoute }, async (req, reply) => {
    if (!token.matchesHeader(req.headers.authorization)) {
      deps.counters.increment('http.refused.metrics_token');
      return reply.code(401).header('www-authenticate', 'Bearer realm="hearth metrics"').send({ error: 'a bearer token is needed: make one with `hearth metrics token`' });
    }
    // The exposition is the hub's (built once in its composition); a hub started without it has none.
    const metrics = deps.metrics?.exposition;
    if (!metrics) return reply.code(503).send({ error: 'metrics are not collected by this hub' });
    const body = await metrics.render();
    return reply.header('content-type', metrics.contentType).header('cache-control', 'no-store').send(body);
  });
}
