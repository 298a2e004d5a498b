/**
 * The composition root of the daemon: builds the bus, the store, the use-case services, each
 * device kind's runtime, the broker and the web server, starts them in order and stops them in
 * reverse, flushing what is buffered. It wires; it holds no behaviour of its own.
 */
import type { HearthConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { HubBroker, mqttPacketLimit, publishNotStored, type BrokerOptions } from '../broker/broker.js';
import { createMqtt5Bridge } from '../broker/mqtt5-bridge.js';
import { DomainBus } from '../bus/bus.js';
import { ConsentService } from '../consent/service.js';
import { PasswordWorker } from '../crypto/password-worker.js';
import type { KindRuntime, MqttDeviceSink } from '../devices/kind.js';
import { DeviceService } from '../devices/service.js';
import { CameraStore, type CameraRecord } from '../devices/camera/store.js';
import type { DeviceRegistry } from '../devices/registry.js';
import type { FastifyInstance } from 'fastify';
import { MemberService } from '../members/service.js';
import { Counters } from '../store/counters.js';
import { DbWatcher } from '../store/db-watcher.js';
import { StorageHealth } from '../store/health.js';
import { scrubOldFreePagesOnce } from '../store/scrub.js';
import { enableIncrementalVacuumOnce } from '../store/retention.js';
import { openVault, type Vault } from '../store/vault.js';
import { createWebServer, listenWeb } from '../web/server.js';
import { registerWebUi } from '../web/ui.js';
import { ensureWebCertificate } from '../web/security/tls.js';
import { parseAllowedHosts } from '../web/security/host.js';
import { brokerPrincipals } from '../integrations/principals.js';
import { acquirePidLock } from './pid-lock.js';
import type { HubContext, HubService, HubServices } from './context.js';

export type { HubContext, HubService, HubServices, PrivacyControl } from './context.js';

export interface HubOptions {
  env: Record<string, string | undefined>;
  logger: Logger;
  /** Builds further services once the core is up (registered by each concern). */
  services?: ((ctx: HubContext) => HubService | HubService[] | undefined)[];
  /** The adapter in front of aedes; by default the MQTT 5 bridge (3.1.1 sockets pass untouched). */
  attachConnection?: BrokerOptions['attachConnection'];
}

export interface RunningHub {
  mqttPort: number;
  httpPort: number;
  /** The admin password this start created (none was set): to be shown once, never logged. */
  firstAdminPassword?: string;
  /** SHA-256 fingerprint of the web UI's certificate when it is served over TLS (http.tls). */
  webFingerprint?: string;
  /** MQTT over TLS (mqtt.tls): its port and the certificate's fingerprint (the web UI's certificate). */
  mqttTls?: { port: number; fingerprint: string };
  ctx: HubContext;
  /** The parts behind the services, for diagnostics and tests; adapters use ctx. */
  internals: { web: FastifyInstance; broker: HubBroker; vault: Vault; counters: Counters; registry: DeviceRegistry; cameras: CameraStore };
  stop(): Promise<void>;
}

const COUNTER_FLUSH_MS = 10_000;

export async function startHub(config: HearthConfig, opts: HubOptions): Promise<RunningHub> {
  const log = opts.logger;
  const vault = await openVault(config.dataDir, opts.env, { create: true });
  const cleanups: (() => Promise<void> | void)[] = [() => vault.close()];
  const runCleanups = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log.error('error while stopping', { code: (err as { code?: string }).code ?? (err as Error).name });
      }
    }
  };
  try {
    const releaseLock = acquirePidLock(config.dataDir);
    cleanups.push(() => {
      releaseLock();
    });
    const { db, sealer } = vault;
    // Before serving: the one VACUUM a database made before incremental vacuum needs (never on a serving loop).
    if (enableIncrementalVacuumOnce(db)) log.info('switched the database to incremental vacuum (once)');
    if (scrubOldFreePagesOnce(db)) log.info('cleared pages freed before deleted values were overwritten (once)');
    const bus = new DomainBus((err, event, owner) => log.error('a listener failed on an event', { event: event.type, service: owner, code: (err as { code?: string }).code ?? (err as Error).name }));
    const counters = new Counters(db);
    // A damaged stored value shows as "(unreadable)" (sealer.ts); each such read is counted, by purpose.
    sealer.onUnreadable = (purpose) => counters.increment(`store.unseal_failed.${purpose.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`);
    const storage = new StorageHealth(bus, log);
    const passwords = new PasswordWorker(vault.sodium);
    cleanups.push(() => passwords.close());
    const devices = new DeviceService({ db, sealer, bus, passwords, lastRefusal: (id) => counters.lastRefusal(id) });
    const members = new MemberService({ db, sealer, bus });
    const consent = new ConsentService(db, bus);

    // Each device kind's part of the running hub (cameras' ingest, the scales' BLE reader).
    const runtimes: KindRuntime[] = [];
    for (const kind of devices.kinds) {
      const runtime = kind.setup?.({ db, sealer, config, logger: log, bus, counters, storage });
      if (!runtime) continue;
      runtimes.push(runtime);
      cleanups.push(() => runtime.unload());
    }
    const cameraSink = runtimes.find((r) => r.mqtt)?.mqtt as MqttDeviceSink<CameraRecord> | undefined;
    if (!cameraSink) throw new Error('no device kind serves MQTT');
    cameraSink.setNotStored((waiting) => publishNotStored(counters, waiting));

    // One self-signed certificate for the hub, made on first need: the web UI's and MQTT's over TLS.
    const certificate = config.http.tls || config.mqtt.tls ? ensureWebCertificate(config.dataDir) : undefined;
    if (certificate?.created) log.info('created the hub TLS certificate', { fingerprint: certificate.fingerprint });
    const broker = await HubBroker.create(
      {
        verifySecret: (hash, secret) => passwords.verify(hash, secret),
        logger: log,
        counters,
        cameraSecretHash: (id) => cameraSink.secretHash(id),
        ingest: (record, done) => cameraSink.ingest(record, done),
        firmware: cameraSink,
        principal: brokerPrincipals(db),
      },
      {
        host: config.mqtt.host,
        port: config.mqtt.port,
        maxPayloadBytes: config.mqtt.maxPayloadBytes,
        maxConnections: config.mqtt.maxConnections,
        eventLimits: { perSecond: config.mqtt.eventsPerSecond, burst: 10 * config.mqtt.eventsPerSecond, perDay: config.mqtt.eventsPerDay },
        tls: config.mqtt.tls && certificate ? { port: config.mqtt.tlsPort, key: certificate.key, cert: certificate.cert } : undefined,
        attachConnection:
          opts.attachConnection ??
          createMqtt5Bridge({
            maxPacketBytes: mqttPacketLimit(config.mqtt.maxPayloadBytes),
            onRefused: (reason) => counters.increment(`mqtt.bridge_refused.${reason}`),
            onDiscarded: (count) => counters.increment('mqtt.profile_dropped.image_too_large', count),
          }),
      },
    );
    // A device removed anywhere (web UI, CLI) loses its connections at once.
    bus.on('device.removed', 'broker', (e) => {
      if (broker.disconnectDevice(e.deviceId) > 0) log.info('disconnected a removed device', { deviceId: e.deviceId });
    });
    cleanups.push(() => {
      bus.removeOwner('broker');
    });

    let ready = false;
    const tls = config.http.tls ? certificate : undefined;
    const web = createWebServer({ logger: log, isReady: () => ready, allowPublic: config.http.allowPublic, count: (reason) => counters.increment(`http.refused.${reason}`), https: tls, allowedHosts: parseAllowedHosts(config.http.allowedHosts ?? '') });

    // Another process (the CLI) committed: one producer on the bus; the device service turns
    // enrolments and removals into their own events.
    const watcher = new DbWatcher(db);
    watcher.onExternalChange(() => bus.emit('store.external-change', {}));
    devices.followExternalChanges();
    cleanups.push(() => devices.stopFollowing());

    const mqttPort = await broker.listen();
    cleanups.push(() => broker.close());
    const mqttTls = broker.tlsPort !== undefined && certificate ? { port: broker.tlsPort, fingerprint: certificate.fingerprint } : undefined;
    const services: HubServices = { vault, counters, storage, passwords, devices, members, consent, presence: broker, mqttPort, mqttTls, mqtt: broker };
    const ctx: HubContext = { config, logger: log, bus, services };

    const extra: HubService[] = [];
    for (const build of opts.services ?? []) {
      const built = build(ctx);
      if (built) extra.push(...(Array.isArray(built) ? built : [built]));
    }
    for (const s of extra) {
      await s.start();
      cleanups.push(() => s.stop());
    }
    for (const r of runtimes) await r.start?.();

    const ui = await registerWebUi(web, ctx);
    const httpPort = await listenWeb(web, { host: config.http.host, port: config.http.port });
    // The web server stops first on shutdown so no request sees a half-closed store.
    cleanups.push(() => web.close());
    watcher.start();
    cleanups.push(() => watcher.stop());
    const counterTimer = setInterval(() => {
      try {
        counters.flush();
      } catch {
        /* storage trouble is reported by the ingest path; the counts stay in memory until it recovers */
      }
    }, COUNTER_FLUSH_MS);
    counterTimer.unref();
    cleanups.push(() => clearInterval(counterTimer));
    ready = true;

    let stopping: Promise<void> | undefined;
    return {
      mqttPort,
      httpPort,
      ctx,
      internals: { web, broker, vault, counters, registry: devices.registry, cameras: new CameraStore(db, sealer) },
      firstAdminPassword: ui.firstAdminPassword,
      webFingerprint: tls?.fingerprint,
      mqttTls,
      stop: () => (stopping ??= (async () => {
        ready = false;
        await runCleanups();
      })()),
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
