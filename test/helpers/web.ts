/**
 * A real hub for web tests (SQLite file in a temp dir, broker on a free port, BLE off) and a logged-in
 * session on it, driven through fastify.inject.
 */
import { loadConfig } from '../../src/config/config.js';
import { startHub, type RunningHub } from '../../src/hub/hub.js';
import { HUB_SERVICES } from '../../src/hub/services.js';
import { silentLogger } from '../../src/log/logger.js';
import { tempDir } from './hub.js';

export interface WebHub {
  hub: RunningHub;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startWebHub(env: Record<string, string> = {}): Promise<WebHub> {
  const dir = tempDir();
  const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' }, env: { HEARTH_BLE_ENABLED: 'false', ...env } });
  const hub = await startHub(config, { env: {}, logger: silentLogger, services: HUB_SERVICES });
  return {
    hub,
    dataDir: dir.path,
    stop: async () => {
      await hub.stop();
      dir.cleanup();
    },
  };
}

export interface WebSession {
  cookie: string;
  csrf: string;
  /** A request with the session cookie and CSRF token (JSON body when given). */
  request(method: string, url: string, payload?: unknown): ReturnType<RunningHub['internals']['web']['inject']>;
}

/** Logs in with the hub's first admin password. */
export async function logIn(hub: RunningHub): Promise<WebSession> {
  const res = await hub.internals.web.inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode}`);
  const cookie = String(res.headers['set-cookie']).split(';')[0]!;
  const csrf = res.json().csrfToken as string;
  return {
    cookie,
    csrf,
    request: (method, url, payload) => hub.internals.web.inject({ method: method as 'GET', url, ...(payload !== undefined ? { payload: payload as object } : {}), headers: { cookie, 'x-csrf-token': csrf } }),
  };
}
