/**
 * `hearth-collector`: the maker's side, a program of its own. It shares the report schema, the
 * canonical JSON, the signature check and the estimators with the hub, and loads none of the
 * hub's daemon code (test/collector-imports.test.ts walks its imports to keep it so).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../log/logger.js';
import { COLLECTOR_FIELDS, ConfigError, loadCollectorConfig, readSecretFile, type CollectorConfig } from './config.js';
import { parseHubKeys } from './hub-keys.js';
import { startCollector } from './service.js';
import { computeStats } from './stats.js';
import { CollectorStore, dayOf } from './store.js';

const USAGE = `usage:
  hearth-collector start --broker <mqtt(s)://host:port> --database <postgres://...> [--http-port P] [--group NAME] [options]
  hearth-collector stats --database <postgres://...> [--day YYYY-MM-DD] [--days D] [--json]
  hearth-collector hubs import <file> --database <postgres://...>
  hearth-collector migrate --database <postgres://...>

options (each also from its environment variable):
${COLLECTOR_FIELDS.map((f) => `  --${f.flag.padEnd(24)} ${f.env.padEnd(40)} ${f.help}`).join('\n')}
`;

type Out = (s: string) => void;

export async function main(argv: string[], io: { out: Out; err: Out; env: NodeJS.ProcessEnv } = { out: (s) => process.stdout.write(s + '\n'), err: (s) => process.stderr.write(s + '\n'), env: process.env }): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean' }> = { json: { type: 'boolean' }, day: { type: 'string' }, days: { type: 'string' }, help: { type: 'boolean' } };
  for (const f of COLLECTOR_FIELDS) options[f.flag] = { type: 'string' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    io.err(`hearth-collector: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const [command, sub, ...rest] = parsed.positionals;
  if (parsed.values.help || !command || command === 'help') {
    io.out(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  const flags: Record<string, string | undefined> = {};
  for (const f of COLLECTOR_FIELDS) flags[f.flag] = parsed.values[f.flag] as string | undefined;
  const config = (required: (keyof CollectorConfig)[]) => loadCollectorConfig({ flags, env: io.env, required });
  try {
    if (command === 'start' && !sub) return await start(config(['brokerUrl', 'databaseUrl']), io);
    if (command === 'stats' && !sub) return await stats(config(['databaseUrl']), parsed.values, io);
    if (command === 'migrate' && !sub) return await withStore(config(['databaseUrl']), async (store) => {
      const applied = await store.migrate();
      io.out(applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date');
      return 0;
    });
    if (command === 'hubs' && sub === 'import' && rest.length === 1) return await importHubs(config(['databaseUrl']), rest[0]!, io);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`hearth-collector: ${e.message}`);
      return 2;
    }
    io.err(`hearth-collector: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`.trim());
    return 1;
  }
  io.err(`hearth-collector: unknown command\n${USAGE}`);
  return 2;
}

async function withStore<T>(config: CollectorConfig, f: (store: CollectorStore) => Promise<T>): Promise<T> {
  const store = CollectorStore.connect(config.databaseUrl, config.databasePasswordFile ? readSecretFile(config.databasePasswordFile) : null, 2);
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

async function start(config: CollectorConfig, io: { out: Out }): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const collector = await startCollector(config, logger);
  if (collector.httpPort !== null) io.out(`collector HTTP: http://${config.httpHost}:${collector.httpPort}`);
  io.out('collector running');
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await collector.stop();
  return 0;
}

async function stats(config: CollectorConfig, values: Record<string, string | boolean | undefined>, io: { out: Out; err: Out }): Promise<number> {
  const day = (values.day as string | undefined) ?? dayOf(Date.now());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`))) throw new ConfigError('--day: expected YYYY-MM-DD');
  const daysRaw = (values.days as string | undefined) ?? '7';
  const days = /^\d+$/.test(daysRaw) ? Number(daysRaw) : NaN;
  if (!(days >= 1 && days <= 366)) throw new ConfigError('--days: expected an integer in [1, 366]');
  return withStore(config, async (store) => {
    await store.migrate();
    const s = await computeStats(store, day, days);
    if (values.json) io.out(JSON.stringify(s));
    else {
      io.out(`${s.from} – ${s.day} (${s.days} day${s.days === 1 ? '' : 's'})`);
      io.out(`reports: ${Object.entries(s.reports).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
      io.out(`refused: ${Object.entries(s.refused).map(([r, n]) => `${r} ${n}`).join(', ') || 'none'}`);
      for (const [name, e] of Object.entries(s.statistics)) {
        io.out(`  ${name.padEnd(24)} ${e.estimate === null ? '–' : e.estimate.toFixed(3)}  95% [${e.ci_low?.toFixed(3) ?? '–'}, ${e.ci_high?.toFixed(3) ?? '–'}]  n=${e.n}`);
      }
    }
    return 0;
  });
}

async function importHubs(config: CollectorConfig, file: string, io: { out: Out; err: Out }): Promise<number> {
  const { keys, problems } = parseHubKeys(readFileSync(file, 'utf8'));
  for (const p of problems) io.err(`${file}: ${p}`);
  if (problems.length) return 1;
  return withStore(config, async (store) => {
    await store.migrate();
    const n = await store.importHubKeys(keys);
    io.out(`registered ${n} hub key${n === 1 ? '' : 's'}`);
    return 0;
  });
}
