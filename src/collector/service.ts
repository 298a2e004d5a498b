/**
 * `hearth-collector start`: migrations, then intake, housekeeping and the HTTP server; a clean stop
 * that commits and acknowledges everything received before it disconnects.
 */
import { loadSodium } from '../crypto/sodium.js';
import type { Logger } from '../log/logger.js';
import { readSecretFile, type CollectorConfig } from './config.js';
import { startHttp, type HttpServer } from './http.js';
import { acceptedDays, backoffDelay, Intake, redactUrl } from './intake.js';
import { CollectorMetrics } from './metrics.js';
import { reportSchemas } from './schema.js';
import { saveDayEstimates } from './stats.js';
import { addDays, CollectorStore, dayOf } from './store.js';

export interface RunningCollector {
  httpPort: number | null;
  metrics: CollectorMetrics;
  stop(): Promise<void>;
}

const HOUSEKEEPING_MS = 60_000;
/** Kept estimates of the open days are refreshed every this many housekeeping runs (they are a full read of those days). */
const REFRESH_EVERY = 15;

export async function startCollector(config: CollectorConfig, logger: Logger, now: () => number = Date.now): Promise<RunningCollector> {
  const password = config.databasePasswordFile ? readSecretFile(config.databasePasswordFile) : null;
  const store = CollectorStore.connect(config.databaseUrl, password, 8).withKeyMode(config.keyMode);
  const metrics = new CollectorMetrics();
  // PostgreSQL may come up after us: wait for it with backoff rather than fail the start.
  for (let attempt = 0; ; attempt++) {
    try {
      const applied = await store.migrate();
      if (applied.length) logger.info('database migrated', { version: Math.max(...applied) });
      const { from, to } = acceptedDays(now(), config.maxWindowAgeDays, config.maxFutureSeconds);
      await store.ensurePartitions(from, addDays(to, 1));
      metrics.databaseUp = true;
      break;
    } catch (e) {
      const delayMs = backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 });
      logger.warn('database not reachable; retrying', { code: (e as { code?: string }).code ?? 'error', delayMs });
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
  const sodium = await loadSodium();
  const intake = new Intake({ config, store, sodium, schemas: reportSchemas(), metrics, logger, now });
  intake.start();

  let housekeepingRunning: Promise<void> = Promise.resolve();
  const housekeeping = async (refresh: boolean) => {
    try {
      await runHousekeeping(store, config, now(), { refresh });
      await store.ping();
      metrics.databaseUp = true;
    } catch (e) {
      metrics.databaseUp = false;
      logger.warn('housekeeping failed; will retry', { code: (e as { code?: string }).code ?? 'error' });
    }
  };
  let runs = 0;
  const tick = () => (housekeepingRunning = housekeeping(runs++ % REFRESH_EVERY === 0));
  tick();
  const timer = setInterval(tick, HOUSEKEEPING_MS);
  timer.unref();

  let http: HttpServer | undefined;
  if (config.httpPort >= 0) {
    http = await startHttp({
      host: config.httpHost,
      port: config.httpPort,
      store,
      metrics,
      ready: () => intake.brokerSubscribed > 0 && metrics.databaseUp,
      now,
    });
    logger.info('collector HTTP', { url: `http://${config.httpHost}:${http.port}` });
  }
  logger.info('collector started', { url: redactUrl(config.brokerUrl), count: config.connections });

  return {
    httpPort: http?.port ?? null,
    metrics,
    async stop() {
      clearInterval(timer);
      await intake.stop();
      await housekeepingRunning;
      await http?.close();
      await store.close();
      logger.info('collector stopped', { count: metrics.stored });
    },
  };
}

/**
 * Partitions for the days reports may arrive for; days that can take no more reports made final
 * once (their sums and estimates kept for good); raw days past retention dropped; with `refresh`,
 * the kept estimates of the days still open recomputed (the stats themselves always read live).
 */
export async function runHousekeeping(store: CollectorStore, config: CollectorConfig, nowMs: number, opts: { refresh?: boolean } = { refresh: true }): Promise<void> {
  const { from, to } = acceptedDays(nowMs, config.maxWindowAgeDays, config.maxFutureSeconds);
  await store.ensurePartitions(from, addDays(to, 1));
  const today = dayOf(nowMs);
  const oldestKept = addDays(today, -config.retentionDays);
  const final = new Set(await store.finalDays());
  for (const day of await store.partitionDays()) {
    if (day < from) {
      if (!final.has(day)) await saveDayEstimates(store, day, true);
    } else if (opts.refresh && day <= today) await saveDayEstimates(store, day, false);
    if (day < oldestKept) await store.dropPartition(day);
  }
}
