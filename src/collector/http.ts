/**
 * The collector's HTTP side (fastify): the published statistics as JSON, a page with a chart of a
 * statistic over days with its 95 % band (one self-contained HTML document, inline SVG, no script,
 * nothing loaded from elsewhere), liveness and readiness, and Prometheus metrics.
 */
import Fastify from 'fastify';
import type { CollectorMetrics } from './metrics.js';
import { computeStats, dailySeries } from './stats.js';
import { dayOf, type CollectorStore } from './store.js';
import { chartPage } from './page.js';

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

const DAY = '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$';
const nullableNumber = { type: ['number', 'null'] } as const;

export const STATS_RESPONSE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['day', 'days', 'from', 'reports', 'refused', 'statistics'],
  properties: {
    day: { type: 'string' },
    days: { type: 'integer' },
    from: { type: 'string' },
    reports: { type: 'object', additionalProperties: { type: 'integer' } },
    refused: { type: 'object', additionalProperties: { type: 'integer' } },
    statistics: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['estimate', 'ci_low', 'ci_high', 'n', 'category'],
        properties: { estimate: nullableNumber, ci_low: nullableNumber, ci_high: nullableNumber, n: { type: 'integer' }, category: { type: 'string' } },
      },
    },
  },
} as const;

export async function startHttp(opts: { host: string; port: number; store: CollectorStore; metrics: CollectorMetrics; ready: () => boolean; now: () => number }): Promise<HttpServer> {
  const app = Fastify({ logger: false, bodyLimit: 1024 });
  app.get(
    '/v1/stats',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { day: { type: 'string', pattern: DAY }, days: { type: 'integer', minimum: 1, maximum: 366, default: 7 } },
        },
        response: { 200: STATS_RESPONSE_SCHEMA },
      },
    },
    async (req) => {
      const q = req.query as { day?: string; days: number };
      return computeStats(opts.store, q.day ?? dayOf(opts.now()), q.days);
    },
  );
  app.get(
    '/',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { statistic: { type: 'string', pattern: '^[a-z_]{1,64}$', default: 'connect_failures_mean' }, days: { type: 'integer', minimum: 2, maximum: 366, default: 30 }, to: { type: 'string', pattern: DAY } },
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { statistic: string; days: number; to?: string };
      const series = await dailySeries(opts.store, q.statistic, q.to ?? dayOf(opts.now()), q.days);
      reply
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:")
        .header('x-content-type-options', 'nosniff')
        .type('text/html; charset=utf-8');
      return chartPage(q.statistic, series);
    },
  );
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = opts.ready();
    reply.code(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', broker: opts.metrics.brokerConnections, database: opts.metrics.databaseUp };
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type('text/plain; version=0.0.4');
    return opts.metrics.render();
  });
  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : opts.port,
    close: () => app.close(),
  };
}
