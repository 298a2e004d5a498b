/**
 * The household's web UI on a running hub: sessions and the authorization hook, the JSON API, live
 * events, export and forget, and the pages. Registered on the hub's fastify instance before it
 * listens. A hub without an admin password gets a random one, returned for printing once.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { HubContext } from '../hub/context.js';
import { webDepsFromHub, type WebDeps } from './deps.js';
import { registerApi } from './api/routes.js';
import { registerExport } from './api/export.js';
import { registerLiveEvents } from './api/live.js';
import { registerMetrics } from './api/metrics.js';
import { registerIntegrations } from './api/integrations.js';
import { generateAdminPassword, readAdminHash, removeFirstAdminPasswordFile, writeAdminHash } from './auth/admin-password.js';
import { registerAuth } from './auth/plugin.js';
import { SessionStore } from './auth/sessions.js';
import { pagesDepsFromHub } from './pages/deps.js';
import { registerPages } from './pages/index.js';

export interface WebUi {
  /** Set when this start created the admin password: show it once, then forget it. */
  firstAdminPassword?: string;
  sessions: SessionStore;
}

export interface WebUiPluginOptions {
  deps: WebDeps;
  sessions: SessionStore;
}

/**
 * The web UI as one fastify plugin: the authorization hook, the JSON API, live events, export and
 * forget, and the pages. It is not encapsulated (as fastify-plugin would mark it): its session hook
 * must sit on the server itself, so that it guards every route, and unknown URLs, deny-by-default.
 */
export const webUiPlugin: FastifyPluginAsync<WebUiPluginOptions> = async (app, { deps, sessions }) => {
  const db = deps.vault.db;
  registerAuth(app, {
    sessions,
    counters: deps.counters,
    secure: deps.config.http.tls,
    checkPassword: async (password) => {
      // Read each time: `hearth admin set-password` may have changed it while the hub runs.
      const hash = readAdminHash(db);
      return hash !== undefined && (await deps.passwords.verify(hash, password));
    },
  });
  registerApi(app, deps);
  registerExport(app, deps);
  registerMetrics(app, deps);
  registerIntegrations(app, deps);
  registerLiveEvents(app, deps.bus);
  registerPages(app, pagesDepsFromHub(deps));
};
(webUiPlugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

let registrations = 0;

export async function registerWebUi(app: FastifyInstance, hub: HubContext): Promise<WebUi> {
  const ctx = webDepsFromHub(hub);
  const db = ctx.vault.db;
  let firstAdminPassword: string | undefined;
  // The hash the sessions were opened under; a different one read later means another process changed it.
  let adminHash = readAdminHash(db);
  if (!adminHash) {
    firstAdminPassword = generateAdminPassword();
    const hash = await ctx.passwords.hash(firstAdminPassword, 'admin');
    // Stored once the server listens (before anyone can log in): a first start that fails earlier,
    // say on a port already in use, leaves no password that nobody saw, and the next start makes one.
    app.addHook('onListen', async () => {
      if (!readAdminHash(db)) {
        writeAdminHash(db, hash);
        adminHash = hash;
      }
    });
  }
  const sessions = new SessionStore({ idleMs: ctx.config.http.sessionIdleMinutes * 60_000, absoluteMs: ctx.config.http.sessionMaxHours * 3600_000 });
  // A new admin password (`hearth admin set-password`, another process) ends every session: whoever
  // logged in with the old one, perhaps the reason it was changed, is out within a watcher tick.
  // One owner per web UI registered, so closing one server leaves another's listener alone.
  const owner = `web-sessions-${++registrations}`;
  ctx.bus.on('store.external-change', owner, () => {
    const now = readAdminHash(db);
    if (now === adminHash) return;
    adminHash = now;
    sessions.clear();
    // Set elsewhere (`hearth admin set-password`): the first password's file has served its purpose.
    removeFirstAdminPasswordFile(ctx.config.dataDir);
    ctx.logger.info('admin password changed; web sessions ended', { sessions: 'all' });
  });
  app.addHook('onClose', async () => {
    ctx.bus.removeOwner(owner);
  });
  await app.register(webUiPlugin, { deps: ctx, sessions });
  return { firstAdminPassword, sessions };
}
