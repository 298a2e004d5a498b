/**
 * The daemon: composes the vault, the ingest pipeline, the broker, the web server and every other
 * service, starts them in order and stops them in reverse, flushing what is buffered.
 */
import type { FastifyInstance } from 'fastify';
import type { HearthConfig } from '../config/config.js';
import type { Logger } from '../log/logger.js';
import { HubBroker, mqttPacketLimit, publishNotStored, type BrokerOptions } from '../broker/broker.js';
import { createMqtt5Bridge } from '../broker/mqtt5-bridge.js';
import { CameraStore, type CameraRecord } from '../devices/camera/store.js';
import { DeviceRegistry } from '../devices/registry.js';
import { PasswordWorker } from '../crypto/password-worker.js';
import { Counters } from '../store/counters.js';
import { DbWatcher } from '../store/db-watcher.js';
import { GroupCommitter } from '../store/group-commit.js';
import { openVault, type Vault } from '../store/vault.js';
import type { PrivacyStatus } from '../hw/gpio/hub-gpio.js';
import type { UplinkService } from '../uplink/service.js';
import { createWebServer, listenWeb } from '../web/server.js';
import { registerWebUi } from '../web/ui.js';
import { ensureWebCertificate } from '../web/security/tls.js';
import { parseAllowedHosts } from '../web/security/host.js';
import { acquirePidLock } from './pid-lock.js';
import { HubEvents, type HubChange } from './events.js';

/** A part of the hub with a lifecycle (BLE reader, uplink, GPIO...). */
export interface HubService {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

/** What services get to build themselves from. */
export interface HubContext {
  config: HearthConfig;
  env: Record<string, string | undefined>;
  logger: Logger;
  vault: Vault;
  registry: DeviceRegistry;
  counters: Counters;
  cameras: CameraStore;
  broker: HubBroker;
  /** The port the broker listens on (the configured one, or the one picked for port 0). */
  mqttPort: number;
  web: FastifyInstance;
  watcher: DbWatcher;
  /** Whether the store currently accepts writes; shown in the UI when it does not. */
  storage: StorageStatus;
  /** Argon2id hashing and checks off the event loop (device secrets, the admin password). */
  passwords: PasswordWorker;
  /** Live changes (presence, status, events) for the web UI. */
  events: HubEvents;
  /** Set by the privacy service once started: whether upstream is paused, and by what. */
  privacy?: PrivacyControl;
  /** Set by the uplink service once started (report preview, wake after a change). */
  uplink?: UplinkService;
}

export interface PrivacyControl {
  status(): PrivacyStatus;
  /** The persistent software flag (`hearth privacy pause`), for the web UI. */
  setPausedByCommand(paused: boolean): void;
}

export interface StorageStatus {
  healthy: boolean;
  /** A short code such as SQLITE_FULL when unhealthy. */
  problem?: string;
  since: number;
}

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
  ctx: HubContext;
  stop(): Promise<void>;
}

const COUNTER_FLUSH_MS = 10_000;

export async function startHub(config: HearthConfig, opts: HubOptions): Promise<RunningHub> {
  const log = opts.logger;
  const vault = await openVault(config.dataDir, opts.env, { create: true });
  let releaseLock: (() => void) | undefined;
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
    releaseLock = acquirePidLock(config.dataDir);
    cleanups.push(releaseLock);
    const { db, sealer, sodium } = vault;
    const registry = new DeviceRegistry(db, sealer);
    const counters = new Counters(db);
    const cameras = new CameraStore(db, sealer);
    const closedStale = cameras.closeStalePresence(Date.now());
    if (closedStale > 0) log.info('marked cameras offline that were online when the hub last stopped', { count: closedStale });

    const writeBatch = db.transaction((items: CameraRecord[]) => {
      cameras.writeBatch(items);
      counters.writePending();
    });
    const storage: StorageStatus = { healthy: true, since: Date.now() };
    const events = new HubEvents();
    const committer = new GroupCommitter<CameraRecord>({
      maxItems: config.ingest.batchMaxMessages,
      maxDelayMs: config.ingest.batchMaxDelayMs,
      commit: (items) => {
        writeBatch.immediate(items);
        counters.committed();
        if (events.watched) for (const item of items) events.emit(changeOf(item));
        if (!storage.healthy) {
          log.info('storage is writable again; accepting messages');
          Object.assign(storage, { healthy: true, problem: undefined, since: Date.now() });
          events.emit({ type: 'storage', at: Date.now() });
        }
      },
      callbackError: (_err, waiting) => publishNotStored(counters, waiting),
      settled: (items) => cameras.release(items),
      onError: (err, items) => {
        cameras.invalidateCaches();
        const code = (err as { code?: string }).code ?? err.name;
        if (storage.healthy) {
          const why = code === 'SQLITE_FULL' ? 'the disk is full' : 'the database cannot be written';
          log.error(`could not store messages (${why}); refusing them until storage recovers`, { code, count: items });
          Object.assign(storage, { healthy: false, problem: code, since: Date.now() });
          events.emit({ type: 'storage', at: Date.now() });
        }
      },
    });
    cleanups.push(() => {
      committer.close();
      counters.flush();
    });

    const passwords = new PasswordWorker(sodium);
    cleanups.push(() => passwords.close());
    const cameraSecretHash = db.prepare("SELECT secret_hash FROM devices WHERE id = ? AND kind = 'camera'").pluck();
    const broker = await HubBroker.create(
      {
        verifySecret: (hash, secret) => passwords.verify(hash, secret),
        logger: log,
        counters,
        cameraSecretHash: (id) => (cameraSecretHash.get(id) as string | null | undefined) ?? undefined,
        ingest: (record, done) => committer.add(cameras.stage(record), done),
      },
      {
        host: config.mqtt.host,
        port: config.mqtt.port,
        maxPayloadBytes: config.mqtt.maxPayloadBytes,
        maxConnections: config.mqtt.maxConnections,
        attachConnection:
          opts.attachConnection ??
          createMqtt5Bridge({
            maxPacketBytes: mqttPacketLimit(config.mqtt.maxPayloadBytes),
            onRefused: (reason) => counters.increment(`mqtt.bridge_refused.${reason}`),
          }),
      },
    );
    let ready = false;
    const tls = config.http.tls ? ensureWebCertificate(config.dataDir) : undefined;
    if (tls?.created) log.info('created the web UI TLS certificate', { fingerprint: tls.fingerprint });
    const web = createWebServer({ logger: log, isReady: () => ready, allowPublic: config.http.allowPublic, count: (reason) => counters.increment(`http.refused.${reason}`), https: tls, allowedHosts: parseAllowedHosts(config.http.allowedHosts ?? '') });

    // Another process (the CLI) changed the database: drop connections of removed cameras.
    const watcher = new DbWatcher(db);
    watcher.onExternalChange(() => {
      for (const id of broker.connectedDeviceIds()) {
        if (!registry.exists(id)) {
          broker.disconnectDevice(id);
          cameras.forget(id);
          log.info('disconnected a removed device', { deviceId: id });
        }
      }
      events.emit({ type: 'devices', at: Date.now() });
    });

    const mqttPort = await broker.listen();
    cleanups.push(() => broker.close());
    const ctx: HubContext = { config, env: opts.env, logger: log, vault, registry, counters, cameras, broker, mqttPort, web, watcher, storage, passwords, events };

    const services: HubService[] = [];
    for (const build of opts.services ?? []) {
      const built = build(ctx);
      if (built) services.push(...(Array.isArray(built) ? built : [built]));
    }
    for (const s of services) {
      await s.start();
      cleanups.push(() => s.stop());
    }

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
      firstAdminPassword: ui.firstAdminPassword,
      webFingerprint: tls?.fingerprint,
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

/** What the web UI may learn of a stored camera record: its kind, device and time, no values. */
function changeOf(item: CameraRecord): HubChange {
  switch (item.kind) {
    case 'presence':
      return { type: 'presence', deviceId: item.deviceId, online: item.online, at: item.at };
    case 'status':
      return { type: 'status', deviceId: item.deviceId, at: item.at };
    case 'event':
      return { type: 'event', deviceId: item.deviceId, eventType: item.event.type, at: item.at };
  }
}
