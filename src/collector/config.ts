/**
 * The collector's one typed configuration object, built once in its CLI from (lowest to highest
 * precedence) defaults, HEARTH_COLLECTOR_* environment variables and flags, validated field by
 * field. Broker and database passwords are read from files, never from flags or the environment.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { RECEIVE_MAXIMUM } from './ordered-acks.js';

export interface CollectorConfig {
  /** mqtt:// or mqtts:// URL of the maker's broker (no credentials in it). */
  brokerUrl: string;
  brokerUsername: string | null;
  /** File holding the broker password (read at start). */
  brokerPasswordFile: string | null;
  brokerCaFile: string | null;
  brokerCertFile: string | null;
  brokerKeyFile: string | null;
  /** postgres:// URL of the database (no password in it; see databasePasswordFile or PGPASSFILE). */
  databaseUrl: string;
  databasePasswordFile: string | null;
  /** Shared-subscription group: every collector process of one deployment uses the same group. */
  group: string;
  /**
   * This process's stable name. Its broker sessions are named after it and persist, so a restarted
   * process takes over the messages that were in flight to it (Mosquitto keeps them for its session).
   */
  instance: string;
  /** MQTT connections per process; each carries up to RECEIVE_MAXIMUM unacknowledged messages (intake.ts). */
  connections: number;
  /** Worker threads for the report checks (the Ed25519 check is about half a report's CPU); 0 checks on the main thread. */
  checkThreads: number;
  httpHost: string;
  /** 0 picks a free port; -1 turns the HTTP server off. */
  httpPort: number;
  /** `pin`: a pseudonym's key is pinned on first sight; `registered`: only imported hub keys are accepted. */
  keyMode: 'pin' | 'registered';
  /** Reports whose window ended longer ago than this are refused. */
  maxWindowAgeDays: number;
  /** Clock skew allowed for a window's end in the future. */
  maxFutureSeconds: number;
  /** Raw reports are dropped this many days after their day; daily estimates are kept. */
  retentionDays: number;
  maxReportBytes: number;
  batchMaxReports: number;
  batchMaxDelayMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface ConfigField {
  key: keyof CollectorConfig;
  flag: string;
  env: string;
  kind: 'string' | 'int' | 'enum';
  values?: readonly string[];
  min?: number;
  max?: number;
  help: string;
}

/** Every setting, once: the CLI's flags, the environment variables and the README table come from here. */
export const COLLECTOR_FIELDS: readonly ConfigField[] = [
  { key: 'brokerUrl', flag: 'broker', env: 'HEARTH_COLLECTOR_BROKER', kind: 'string', help: 'mqtt:// or mqtts:// URL of the broker the hubs report to' },
  { key: 'brokerUsername', flag: 'broker-username', env: 'HEARTH_COLLECTOR_BROKER_USERNAME', kind: 'string', help: 'broker user name' },
  { key: 'brokerPasswordFile', flag: 'broker-password-file', env: 'HEARTH_COLLECTOR_BROKER_PASSWORD_FILE', kind: 'string', help: 'file holding the broker password' },
  { key: 'brokerCaFile', flag: 'broker-ca-file', env: 'HEARTH_COLLECTOR_BROKER_CA_FILE', kind: 'string', help: 'CA certificate for mqtts:// (default: system CAs)' },
  { key: 'brokerCertFile', flag: 'broker-cert-file', env: 'HEARTH_COLLECTOR_BROKER_CERT_FILE', kind: 'string', help: 'client certificate for mqtts://' },
  { key: 'brokerKeyFile', flag: 'broker-key-file', env: 'HEARTH_COLLECTOR_BROKER_KEY_FILE', kind: 'string', help: 'client key for mqtts://' },
  { key: 'databaseUrl', flag: 'database', env: 'HEARTH_COLLECTOR_DATABASE', kind: 'string', help: 'postgres:// URL of the database' },
  { key: 'databasePasswordFile', flag: 'database-password-file', env: 'HEARTH_COLLECTOR_DATABASE_PASSWORD_FILE', kind: 'string', help: 'file holding the database password' },
  { key: 'group', flag: 'group', env: 'HEARTH_COLLECTOR_GROUP', kind: 'string', help: 'shared-subscription group name' },
  { key: 'instance', flag: 'instance', env: 'HEARTH_COLLECTOR_INSTANCE', kind: 'string', help: "this process's stable name (broker sessions are named after it)" },
  { key: 'connections', flag: 'connections', env: 'HEARTH_COLLECTOR_CONNECTIONS', kind: 'int', min: 1, max: 256, help: `MQTT connections per process (each with up to ${RECEIVE_MAXIMUM} reports in flight)` },
  { key: 'checkThreads', flag: 'check-threads', env: 'HEARTH_COLLECTOR_CHECK_THREADS', kind: 'int', min: 0, max: 64, help: 'worker threads checking reports (0: on the main thread; default: one per core, at most 8)' },
  { key: 'httpHost', flag: 'http-host', env: 'HEARTH_COLLECTOR_HTTP_HOST', kind: 'string', help: 'address the HTTP server listens on' },
  { key: 'httpPort', flag: 'http-port', env: 'HEARTH_COLLECTOR_HTTP_PORT', kind: 'int', min: -1, max: 65535, help: 'HTTP port (0: any free port, -1: off)' },
  { key: 'keyMode', flag: 'key-mode', env: 'HEARTH_COLLECTOR_KEY_MODE', kind: 'enum', values: ['pin', 'registered'], help: 'pin keys on first sight, or accept only registered hub keys' },
  { key: 'maxWindowAgeDays', flag: 'max-window-age-days', env: 'HEARTH_COLLECTOR_MAX_WINDOW_AGE_DAYS', kind: 'int', min: 1, max: 365, help: 'refuse reports whose window ended longer ago' },
  { key: 'maxFutureSeconds', flag: 'max-future-seconds', env: 'HEARTH_COLLECTOR_MAX_FUTURE_SECONDS', kind: 'int', min: 0, max: 86400, help: 'clock skew allowed for a window end in the future' },
  { key: 'retentionDays', flag: 'retention-days', env: 'HEARTH_COLLECTOR_RETENTION_DAYS', kind: 'int', min: 1, max: 3650, help: 'days raw reports are kept (daily estimates are kept for good)' },
  { key: 'maxReportBytes', flag: 'max-report-bytes', env: 'HEARTH_COLLECTOR_MAX_REPORT_BYTES', kind: 'int', min: 256, max: 1048576, help: 'largest accepted report' },
  { key: 'batchMaxReports', flag: 'batch-max-reports', env: 'HEARTH_COLLECTOR_BATCH_MAX_REPORTS', kind: 'int', min: 1, max: 10000, help: 'reports per database transaction at most' },
  { key: 'batchMaxDelayMs', flag: 'batch-max-delay-ms', env: 'HEARTH_COLLECTOR_BATCH_MAX_DELAY_MS', kind: 'int', min: 0, max: 1000, help: 'longest a report waits for its batch' },
  { key: 'logLevel', flag: 'log-level', env: 'HEARTH_COLLECTOR_LOG_LEVEL', kind: 'enum', values: ['debug', 'info', 'warn', 'error'], help: 'log level' },
];

export const COLLECTOR_DEFAULTS: Omit<CollectorConfig, 'brokerUrl' | 'databaseUrl'> = {
  brokerUsername: null,
  brokerPasswordFile: null,
  brokerCaFile: null,
  brokerCertFile: null,
  brokerKeyFile: null,
  databasePasswordFile: null,
  group: 'hearth-collectors',
  instance: hostname(),
  connections: 16,
  // As many as the machine has cores: the main thread mostly waits on the broker and the database.
  checkThreads: Math.min(8, availableParallelism()),
  httpHost: '127.0.0.1',
  httpPort: 8090,
  keyMode: 'pin',
  maxWindowAgeDays: 14,
  maxFutureSeconds: 300,
  retentionDays: 30,
  maxReportBytes: 16384,
  batchMaxReports: 500,
  batchMaxDelayMs: 5,
  logLevel: 'info',
};

export class ConfigError extends Error {}

/** Builds and validates the config; `required` names the fields the command needs. */
export function loadCollectorConfig(opts: { flags: Record<string, string | undefined>; env: Record<string, string | undefined>; required: (keyof CollectorConfig)[] }): CollectorConfig {
  const out: Record<string, unknown> = { ...COLLECTOR_DEFAULTS, brokerUrl: '', databaseUrl: '' };
  const problems: string[] = [];
  for (const f of COLLECTOR_FIELDS) {
    const fromFlag = opts.flags[f.flag];
    const raw = fromFlag ?? opts.env[f.env];
    if (raw === undefined || raw === '') continue;
    const where = fromFlag !== undefined ? `--${f.flag}` : f.env;
    if (f.kind === 'int') {
      const n = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < (f.min ?? -Infinity) || n > (f.max ?? Infinity)) problems.push(`${where}: expected an integer in [${f.min}, ${f.max}]`);
      else out[f.key] = n;
    } else if (f.kind === 'enum') {
      if (!f.values!.includes(raw)) problems.push(`${where}: expected one of ${f.values!.join(', ')}`);
      else out[f.key] = raw;
    } else out[f.key] = raw;
  }
  const config = out as unknown as CollectorConfig;
  for (const key of opts.required) if (!config[key]) problems.push(`${fieldOf(key).flag}: required (--${fieldOf(key).flag} or ${fieldOf(key).env})`);
  if (config.brokerUrl) {
    const u = safeUrl(config.brokerUrl);
    if (!u || !['mqtt:', 'mqtts:'].includes(u.protocol)) problems.push('broker: expected an mqtt:// or mqtts:// URL');
    else if (u.password) problems.push('broker: put the password in a file (--broker-password-file), not in the URL');
    else if (u.protocol === 'mqtt:' && (config.brokerPasswordFile || config.brokerUsername) && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
      problems.push('broker: credentials only over mqtts:// (plain mqtt:// only to loopback)');
    }
  }
  if (config.databaseUrl) {
    const u = safeUrl(config.databaseUrl);
    if (!u || !['postgres:', 'postgresql:'].includes(u.protocol)) problems.push('database: expected a postgres:// URL');
    else if (u.password) problems.push('database: put the password in a file (--database-password-file), not in the URL');
  }
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(config.group)) problems.push('group: letters, digits, _ . - only (no MQTT wildcards)');
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(config.instance)) problems.push('instance: letters, digits, _ . - only');
  if (config.maxWindowAgeDays >= config.retentionDays) problems.push('max-window-age-days: must be below retention-days (a report would land in a dropped day)');
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return config;
}

function fieldOf(key: keyof CollectorConfig): ConfigField {
  return COLLECTOR_FIELDS.find((f) => f.key === key)!;
}

function safeUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

/** Reads a secret file (trailing newline removed); errors name the file, never its contents. */
export function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
