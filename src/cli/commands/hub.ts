/**
 * `hearth init` and `hearth start`.
 */
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { reachableHosts, urlsFor } from '../../net/addresses.js';
import { createLogger } from '../../log/logger.js';
import { openVault } from '../../store/vault.js';
import { DB_FILE_NAME } from '../../store/database.js';
import { startHub } from '../../hub/hub.js';
import { HUB_SERVICES } from '../../hub/services.js';
import { underSystemd, writeFirstAdminPasswordFile } from '../../web/auth/admin-password.js';
import { AlreadyRunningError } from '../../hub/pid-lock.js';
import { createSystemdNotifier } from '../../hw/systemd/notify.js';
import type { CommandSpec } from '../command.js';
import { settingNames, type HearthConfig } from '../../config/config.js';
import { ListenError } from '../../broker/broker.js';
import { BrokerInternalsError } from '../../broker/internals.js';

const init: CommandSpec = {
  name: 'init',
  usage: '[--data-dir DIR]',
  summary: 'create the data dir, its master key (hearth.key) and database',
  async run(ctx) {
    const config = ctx.config();
    const vault = await openVault(config.dataDir, ctx.env, { create: true });
    vault.close();
    ctx.out(`hub ready in ${config.dataDir}`);
    ctx.out(`  database: ${join(config.dataDir, DB_FILE_NAME)}`);
    ctx.out(`  master key: ${vault.key.path}${vault.key.source === 'credential' ? ' (systemd credential)' : ''} — back it up: without it nothing stored can be read`);
    return 0;
  },
};

const start: CommandSpec = {
  name: 'start',
  usage: '[--data-dir DIR] [--mqtt-port P] [--mqtt-tls-port P] [--http-port P] [--mqtt-host H] [--http-host H]',
  summary: 'run the hub daemon (creates the data dir on first run)',
  async run(ctx) {
    const config = ctx.config();
    const logger = createLogger({ level: config.logLevel });
    // Under systemd (Type=notify) READY=1 goes out only once broker, store and web all serve.
    const systemd = createSystemdNotifier({ env: ctx.env, logger });
    // A promise some library forgot to handle (e.g. a D-Bus reply after BlueZ went away) must not
    // take the whole hub down with it; say so and keep serving. Thrown exceptions still end the
    // process, and systemd restarts it.
    process.on('unhandledRejection', (reason) => {
      logger.error('a background operation failed without a handler; the hub keeps running', { code: (reason as { code?: string } | undefined)?.code ?? (reason as Error | undefined)?.name ?? 'unknown' });
    });
    let hub;
    try {
      hub = await startHub(config, { env: ctx.env, logger, services: HUB_SERVICES });
    } catch (err) {
      systemd.close();
      if (err instanceof AlreadyRunningError) {
        ctx.err(`hearth: ${err.message}`);
        return 1;
      }
      if (err instanceof BrokerInternalsError) {
        ctx.err(`hearth: cannot start the MQTT broker: ${err.message}`);
        return 1;
      }
      const listen = listenFailure(err, config);
      if (listen) {
        logger.error('could not open a listening port; stopping', { service: listen.service, port: listen.port, code: listen.code });
        ctx.err(`hearth: ${listenFailureMessage(listen)}`);
        return 1;
      }
      throw err;
    }
    logger.info('hub started', { dataDir: config.dataDir });
    ctx.out(`hearth is running (data dir ${config.dataDir})`);
    // Addresses a phone on the home network can open, not the wildcard the servers bind to.
    const names = { interfaces: networkInterfaces(), host: hostname() };
    const mqttUrls = urlsFor('mqtt', reachableHosts(config.mqtt.host, names.interfaces, names.host), hub.mqttPort);
    const webUrls = urlsFor(config.http.tls ? 'https' : 'http', reachableHosts(config.http.host, names.interfaces, names.host), hub.httpPort, '/');
    ctx.out(`  web UI:      ${webUrls.join('  ')}`);
    ctx.out(`  MQTT broker: ${mqttUrls.join('  ')}`);
    if (hub.mqttTls) {
      ctx.out(`  MQTT over TLS: ${urlsFor('mqtts', reachableHosts(config.mqtt.host, names.interfaces, names.host), hub.mqttTls.port).join('  ')}`);
      ctx.out(`  MQTT TLS certificate SHA-256: ${hub.mqttTls.fingerprint}`);
    }
    if (hub.webFingerprint) ctx.out(`  web UI certificate SHA-256: ${hub.webFingerprint}`);
    if (hub.firstAdminPassword) {
      if (underSystemd(ctx.env)) {
        // The journal would keep it: a 0600 file in the data dir instead, deleted once it is changed.
        const path = writeFirstAdminPasswordFile(config.dataDir, hub.firstAdminPassword);
        ctx.out(`  web UI admin password: in ${path} (readable by the hub's user only; deleted once you change it)`);
      } else {
        // Printed once on the terminal (not through the logger); only its hash is kept.
        ctx.out(`  web UI admin password (shown only now): ${hub.firstAdminPassword}`);
      }
      ctx.out('  change it with `hearth admin set-password`');
    }
    systemd.notifyReady(`serving MQTT on port ${hub.mqttPort} and the web UI on port ${hub.httpPort}`);
    systemd.startWatchdog();

    return await new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info('stopping', { reason: signal });
        systemd.notifyStopping('flushing and closing the store');
        systemd.stopWatchdog();
        hub
          .stop()
          .then(() => {
            logger.info('stopped cleanly');
            systemd.close();
            resolve(0);
          })
          .catch((err: unknown) => {
            logger.error('error while stopping', { code: (err as { code?: string }).code ?? 'unknown' });
            resolve(1);
          });
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
  },
};

const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

/**
 * The broker reports its own ListenError; the web server's listen fails with the system error,
 * recognised by its code and port (the broker listens first, so a later one is the web UI's).
 */
function listenFailure(err: unknown, config: HearthConfig): ListenError | undefined {
  // (ListenError covers the MQTT ports; anything else with a listen code came from the web server.)
  if (err instanceof ListenError) return err;
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (typeof e?.code === 'string' && LISTEN_CODES.has(e.code) && (e.port === undefined || e.port === config.http.port)) {
    return new ListenError('http', config.http.host, config.http.port, e.code);
  }
  return undefined;
}

export function listenFailureMessage(e: ListenError): string {
  const what = e.service === 'mqtt' ? 'the MQTT broker' : e.service === 'mqtt-tls' ? 'MQTT over TLS' : 'the web UI';
  const why =
    e.code === 'EADDRINUSE'
      ? `port ${e.port} on ${e.host} is already in use${e.service === 'mqtt' ? ' (another MQTT broker, e.g. a mosquitto service, or a second hub?)' : ''}`
      : e.code === 'EACCES'
        ? `port ${e.port} on ${e.host} is not permitted for this user (ports below 1024 need privileges)`
        : e.code === 'EADDRNOTAVAIL'
          ? `the address ${e.host} is not on this machine`
          : `port ${e.port} on ${e.host} cannot be opened (${e.code})`;
  const setting = e.service === 'mqtt-tls' ? (e.code === 'EADDRNOTAVAIL' ? 'mqtt.host' : 'mqtt.tlsPort') : e.code === 'EADDRNOTAVAIL' ? `${e.service}.host` : `${e.service}.port`;
  return `${what} cannot listen: ${why}. Change ${settingNames(setting)}.`;
}

export const hubCommands: CommandSpec[] = [init, start];
