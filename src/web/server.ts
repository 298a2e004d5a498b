/**
 * The local HTTP server (fastify). Unauthenticated, it answers only GET /api/health, the login page
 * and static assets; every other route is added by the web UI (ui.ts) and sits behind a session.
 * Every response carries the security headers; requests from outside the local network, or naming a
 * host that is not the hub's (DNS rebinding), are refused.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifySchema } from 'fastify';
import { HealthRoute } from './api/schemas.js';
import { SchemaRefusal, webValidatorCompiler } from './validation.js';
import type { Logger } from '../log/logger.js';
import { isLanAddress } from './security/lan.js';
import { isAllowedHost } from './security/host.js';
import { SECURITY_HEADERS } from './security/headers.js';
import { notFoundPage } from './pages/shells.js';

export interface WebDeps {
  logger: Logger;
  /** True once the broker and the store are up. */
  isReady(): boolean;
  /** Serve clients outside loopback and private ranges too (http.allowPublic). */
  allowPublic?: boolean;
  /** Counts refused requests by reason. */
  count?(reason: string): void;
  /** Host names answered besides IP literals and local names (http.allowedHosts). */
  allowedHosts?: ReadonlySet<string>;
  /** Serve HTTPS with this key and certificate (http.tls); plain HTTP when absent. */
  https?: { key: Buffer; cert: Buffer };
}

/** Body-parser and request errors a client can cause, with what to tell it. */
const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large', 'the request body is larger than 64 KiB'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'bad_json', 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'bad_json', 'the JSON body is empty'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'bad_media_type', 'send JSON (content-type: application/json)'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'bad_length', 'the content length does not match the body'],
  FST_ERR_BAD_URL: [400, 'bad_url', 'the URL is malformed'],
  FST_ERR_ASYNC_CONSTRAINT: [400, 'bad_request', 'bad request'],
};

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The counter a schema refusal on this route adds to (http.refused.<name>); `invalid` by default. */
    refusalCounter?: string;
  }
}

export interface WebOptions {
  host: string;
  port: number;
}

export interface RouteEntry {
  method: string;
  url: string;
  /** The route's schemas (params, querystring, body, response), as declared. */
  schema?: FastifySchema;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on a server made by createWebServer (the authorization test walks it). */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export function createWebServer(deps: WebDeps): FastifyInstance {
  const count = deps.count ?? (() => {});
  const options = {
    logger: false,
    // URLs the router rejects (malformed, a parameter over the length limit) are answered before any
    // hook runs; fastify's own answer would quote the URL and carry none of the headers.
    frameworkErrors: (err: { code?: string }, req: FastifyRequest, reply: FastifyReply) => {
      reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
      if (!deps.allowPublic && !isLanAddress(req.ip)) {
        count('not_lan');
        return reply.code(403).send({ error: 'this hub answers only on the local network' });
      }
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      count(tooLong ? 'url_too_long' : 'bad_url');
      return reply.code(tooLong ? 414 : 400).send({ error: tooLong ? 'the URL is too long' : 'the URL is malformed' });
    },
    bodyLimit: 64 * 1024,
    // Nothing in a URL needs to be long; long ones are probes.
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
    return503OnClosing: true,
  } as const;
  // Routes and hooks are the same over HTTP and HTTPS; only the listening server differs.
  const app = (deps.https ? Fastify({ ...options, https: deps.https }) : Fastify(options)) as unknown as FastifyInstance;
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (r) => {
    for (const method of Array.isArray(r.method) ? r.method : [r.method]) routes.push({ method, url: r.url, ...(r.schema ? { schema: r.schema } : {}) });
  });
  // Every route's params, query and body are checked against its schema before its handler runs.
  app.setValidatorCompiler(webValidatorCompiler);

  app.addHook('onRequest', async (req, reply) => {
    if (!deps.allowPublic && !isLanAddress(req.ip)) {
      count('not_lan');
      return reply.code(403).send({ error: 'this hub answers only on the local network' });
    }
    if (!isAllowedHost(req.headers.host, deps.allowedHosts)) {
      count('bad_host');
      return reply.code(403).send({ error: 'unknown host name; add it to http.allowedHosts to use it' });
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.get('/api/health', { schema: HealthRoute }, async (_req, reply) => {
    if (!deps.isReady()) return reply.code(503).send({ status: 'starting' });
    return { status: 'ok' };
  });

  // A browser asking for a page the UI does not have gets the UI's own page; the API answers JSON.
  app.setNotFoundHandler((req, reply) => {
    if (req.method === 'GET' && !req.url.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html')) {
      return reply.code(404).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(notFoundPage());
    }
    return reply.code(404).send({ error: 'not found' });
  });

  app.setErrorHandler((err: { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof SchemaRefusal) {
      // Its message comes from the schema, never from the request (validation.ts).
      count(req.routeOptions.config.refusalCounter ?? 'invalid');
      return reply.code(err.statusCode).send({ error: err.message });
    }
    const known = err.code ? CLIENT_ERRORS[err.code] : undefined;
    if (known) {
      count(known[1]);
      return reply.code(known[0]).send({ error: known[2] });
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status < 500) count('bad_request');
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
