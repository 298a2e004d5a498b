/**
 * Who may use the web UI: one authorization hook in front of every route, with an explicit list of
 * public routes; sessions by cookie; a CSRF token on every state change; login attempts slowed per
 * client address. Runs in onRequest, so nothing of an unauthenticated request's body is parsed.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LoginRoute, LogoutRoute, SessionRoute } from '../api/schemas.js';
import { AuthThrottle } from '../../broker/auth-throttle.js';
import type { Counters } from '../../store/counters.js';
import { throttleKey } from '../security/lan.js';
import { csrfMatches, SessionStore, type Session } from './sessions.js';

export const SESSION_COOKIE = 'hearth_session';

/**
 * Routes anyone on the LAN may reach: the login page and call, static assets, the health check,
 * and the metrics, which check their own bearer token (src/web/api/metrics.ts).
 */
const PUBLIC_ROUTES = new Set(['GET /login', 'POST /api/login', 'GET /api/health', 'GET /assets/:name', 'GET /metrics']);

export function isPublicRoute(method: string, url: string | undefined): boolean {
  return url !== undefined && PUBLIC_ROUTES.has(`${method === 'HEAD' ? 'GET' : method} ${url}`);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Password checks running at once, over all client addresses (each is an Argon2id run). */
const MAX_CONCURRENT_LOGIN_CHECKS = 4;

declare module 'fastify' {
  interface FastifyRequest {
    session?: Session;
  }
}

export interface AuthDeps {
  sessions: SessionStore;
  counters: Counters;
  /** Checks the admin password (Argon2id off the event loop); false when none is set. */
  checkPassword(password: string): Promise<boolean>;
  /** Cookies get the Secure attribute when the UI is served over TLS. */
  secure: boolean;
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (typeof header !== 'string' || header.length > 4096) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sessionCookie(value: string, secure: boolean, maxAgeSeconds?: number): string {
  return [`${SESSION_COOKIE}=${value}`, 'HttpOnly', 'SameSite=Strict', 'Path=/', ...(secure ? ['Secure'] : []), ...(maxAgeSeconds !== undefined ? [`Max-Age=${maxAgeSeconds}`] : [])].join('; ');
}

/** A state change from another site's page: its Origin names a different host than the one asked. */
function crossOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

export function registerAuth(server: FastifyInstance, deps: AuthDeps): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const throttle = new AuthThrottle({ freeFailures: 5, windowMs: 15 * 60_000, maxPenaltyMs: 15 * 60_000 });
  const refuse = (reply: FastifyReply, code: number, counter: string, error: string) => {
    deps.counters.increment(`http.refused.${counter}`);
    return reply.code(code).header('cache-control', 'no-store').send({ error });
  };

  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url;
    if (!SAFE_METHODS.has(req.method) && crossOrigin(req)) return refuse(reply, 403, 'cross_origin', 'cross-origin request refused');
    if (isPublicRoute(req.method, route)) return;
    const session = deps.sessions.get(readCookie(req, SESSION_COOKIE));
    if (!session) {
      deps.counters.increment('http.refused.no_session');
      const wantsPage = req.method === 'GET' && !req.url.startsWith('/api/') && (req.headers.accept ?? '').includes('text/html');
      if (wantsPage) return reply.code(302).header('location', '/login').header('cache-control', 'no-store').send();
      return reply.code(401).header('cache-control', 'no-store').send({ error: 'log in first' });
    }
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.headers['x-csrf-token'])) return refuse(reply, 403, 'csrf', 'missing or wrong CSRF token');
    req.session = session;
  });

  // Failures are counted when a check ends, so guesses sent in parallel would all be checked before
  // the throttle saw one: one check at a time per address, and only a few at once overall.
  const checking = new Set<string>();
  const tooMany = (reply: FastifyReply, counter: string, seconds: number) => {
    deps.counters.increment(`http.refused.${counter}`);
    return reply.code(429).header('retry-after', String(seconds)).header('cache-control', 'no-store').send({ error: 'too many attempts; try again later' });
  };

  app.post('/api/login', { schema: LoginRoute, config: { refusalCounter: 'login_bad_request' } }, async (req, reply) => {
    const source = throttleKey(req.ip);
    const wait = throttle.retryAfterMs(source);
    if (wait > 0) return tooMany(reply, 'login_throttled', Math.ceil(wait / 1000));
    if (checking.has(source) || checking.size >= MAX_CONCURRENT_LOGIN_CHECKS) return tooMany(reply, 'login_busy', 1);
    const { password } = req.body;
    checking.add(source);
    let right: boolean;
    try {
      right = await deps.checkPassword(password);
    } finally {
      checking.delete(source);
    }
    if (!right) {
      throttle.recordFailure(source);
      deps.counters.increment('http.login_failed');
      return reply.code(401).send({ error: 'wrong password' });
    }
    throttle.recordSuccess(source);
    // Never keep a session id the browser brought along (fixation): a login always starts a new one.
    deps.sessions.destroy(readCookie(req, SESSION_COOKIE));
    const { id, session } = deps.sessions.create();
    return reply.header('set-cookie', sessionCookie(id, deps.secure)).header('cache-control', 'no-store').send({ ok: true, csrfToken: session.csrfToken });
  });

  app.get('/api/session', { schema: SessionRoute }, async (req, reply) => reply.header('cache-control', 'no-store').send({ csrfToken: req.session!.csrfToken }));

  app.post('/api/logout', { schema: LogoutRoute }, async (req, reply) => {
    deps.sessions.destroy(readCookie(req, SESSION_COOKIE));
    return reply.header('set-cookie', sessionCookie('', deps.secure, 0)).send({ ok: true });
  });
}
