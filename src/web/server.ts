/**
 * The local HTTP server (fastify). Unauthenticated, it answers only GET /api/health; every other
 * route is added by the web UI and sits behind a session.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../log/logger.js';

export interface WebDeps {
  logger: Logger;
  /** True once the broker and the store are up. */
  isReady(): boolean;
}

export interface WebOptions {
  host: string;
  port: number;
}

export function createWebServer(deps: WebDeps): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Nothing in a URL needs to be long; long ones are probes.
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
    return503OnClosing: true,
  });

  app.get('/api/health', async (_req, reply) => {
    if (!deps.isReady()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ok' };
  });

  app.setNotFoundHandler((_req, reply) => {
    reply.code(404).send({ error: 'not found' });
  });

  app.setErrorHandler((err: { statusCode?: number; code?: string }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.logger.error('http handler failed', { code: err.code ?? 'unknown' });
    // Never echo library messages: they can quote the request.
    reply.code(status).send({ error: status >= 500 ? 'internal error' : 'bad request' });
  });

  return app;
}

export async function listenWeb(app: FastifyInstance, opts: WebOptions): Promise<number> {
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address();
  return typeof addr === 'object' && addr ? addr.port : opts.port;
}
