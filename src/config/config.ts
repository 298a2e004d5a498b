/**
 * The one typed configuration object. It is built once, in the CLI, from (lowest to highest
 * precedence) built-in defaults, `<dataDir>/hearth.json`, HEARTH_* environment variables and
 * command-line flags, validated field by field, and then passed inward. Nothing below the CLI
 * reads the environment or config files itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface HearthConfig {
  dataDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  mqtt: {
    host: string;
    port: number;
    /** Largest PUBLISH payload accepted from a device, in bytes. */
    maxPayloadBytes: number;
    /** Most concurrent device connections; further connections are refused. */
    maxConnections: number;
    /** Sustained events per second one camera may send (ten times as many at once after a quiet spell). */
    eventsPerSecond: number;
    /** Events one camera may have stored in any 24 hours. */
    eventsPerDay: number;
    /** Also serve MQTT over TLS (the hub's self-signed certificate, the web UI's). */
    tls: boolean;
    /** The MQTT-over-TLS port (0 picks a free port). */
    tlsPort: number;
  };
  http: {
    host: string;
    port: number;
    /** Serve the web UI to addresses outside loopback and private ranges too. */
    allowPublic: boolean;
    /** Host names (comma-separated) the web UI answers besides IP literals and local names. */
    allowedHosts: string | null;
    /** Serve the web UI over HTTPS with a self-signed certificate the hub makes on first start. */
    tls: boolean;
    /** A web session ends after this long without a request... */
    sessionIdleMinutes: number;
    /** ...and at this age in any case. */
    sessionMaxHours: number;
  };
  ingest: {
    /** Group commit: commit after this many buffered messages... */
    batchMaxMessages: number;
    /** ...or after this many milliseconds, whichever comes first. */
    batchMaxDelayMs: number;
  };
  gpio: {
    /** Use the privacy switch and activity LED when the board has GPIO. */
    enabled: boolean;
    /** Header pin of the privacy switch, chip-relative (the BCM number on a Pi); -1 for none. */
    switchPin: number;
    /** toggle: paused while on; button: each press flips paused/resumed. */
    switchMode: 'toggle' | 'button';
    /** The switch pulls the pin low when on (wired to ground with a pull-up). */
    switchActiveLow: boolean;
    /** Header pin of the LED lit while a report is sent; -1 for none. */
    ledPin: number;
    /** A switch change counts once the level has been stable this long. */
    debounceMs: number;
    /** How often the switch is sampled. */
    pollMs: number;
    /** The gpiochip carrying the header pins; null picks the Raspberry Pi's pin controller. */
    chipLabel: string | null;
  };
  uplink: {
    /** Upstream collector broker, mqtt:// or mqtts://; null keeps the uplink off. */
    url: string | null;
    username: string | null;
    /** Files in (or relative to) the data dir: password, CA bundle, client certificate and key. */
    passwordFile: string | null;
    caFile: string | null;
    certFile: string | null;
    keyFile: string | null;
    /** Length of a report window. */
    windowSeconds: number;
    /** Format 1 reports only (discrete Laplace per report); format 2 reports spend dailyEpsilonBudget. */
    epsilonPerReport: number;
    /** Most epsilon the home spends per UTC day, over all categories; once spent, only memoized answers are sent that day. */
    dailyEpsilonBudget: number;
    /** Fresh questions asked per day, each with an equal share of dailyEpsilonBudget. */
    questionsPerDay: number;
  };
  ble: {
    /** Read Bluetooth scales (harmless without BlueZ: the reader says why and retries). */
    enabled: boolean;
    /** The BlueZ adapter, e.g. hci0. */
    adapter: string;
    /** Discover for this long at the start of every scan interval (as long as the interval: always). */
    scanWindowSeconds: number;
    scanIntervalSeconds: number;
    /** Longest wait between attempts when the adapter or BlueZ is missing. */
    retryMaxSeconds: number;
  };
  scales: {
    /** A weigh-in within this many kilograms of exactly one member's usual weight is theirs. */
    assignToleranceKg: number;
  };
  retention: {
    /** Raw device events are kept this many days; older ones are rolled up per device, day and type, then deleted. */
    eventDays: number;
    /** Weigh-ins are kept this many days; 0 keeps them for ever. */
    measurementDays: number;
    /** The privacy ledger is kept this many days; 0 keeps it for ever. */
    ledgerDays: number;
    /** Free space on the data dir's file system under this many MB is warned about. */
    lowDiskMb: number;
  };
}

export const CONFIG_FILE_NAME = 'hearth.json';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type FieldKind =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'number'; min: number; max: number }
  | { kind: 'string'; maxLength: number; pattern?: RegExp; patternHint?: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'bool' }
  | { kind: 'nullable-string'; maxLength: number; pattern?: RegExp; patternHint?: string };

interface FieldSpec {
  /** Dotted path into HearthConfig. */
  path: string;
  type: FieldKind;
  default: unknown;
  env?: string;
  flag?: string;
  help: string;
}

const HOST_PATTERN = /^[A-Za-z0-9.:[\]-]+$/;

/**
 * Every configurable field. Later concerns add their own section's fields here, so that the
 * README's table, the validation and the precedence rules stay in one place.
 */
export const CONFIG_FIELDS: FieldSpec[] = [
  { path: 'dataDir', type: { kind: 'string', maxLength: 4096 }, default: './data', env: 'HEARTH_DATA_DIR', flag: 'data-dir', help: 'where the key, database and state live' },
  { path: 'logLevel', type: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'] }, default: 'info', env: 'HEARTH_LOG_LEVEL', flag: 'log-level', help: 'log verbosity' },
  { path: 'mqtt.host', type: { kind: 'string', maxLength: 255, pattern: HOST_PATTERN, patternHint: 'a host name or IP address' }, default: '0.0.0.0', env: 'HEARTH_MQTT_HOST', flag: 'mqtt-host', help: 'address the MQTT broker listens on' },
  { path: 'mqtt.port', type: { kind: 'int', min: 0, max: 65535 }, default: 1883, env: 'HEARTH_MQTT_PORT', flag: 'mqtt-port', help: 'MQTT broker TCP port (0 picks a free port)' },
  { path: 'mqtt.tls', type: { kind: 'bool' }, default: false, env: 'HEARTH_MQTT_TLS', help: 'also serve MQTT over TLS, with the hub\'s self-signed certificate (the web UI\'s; `hearth web fingerprint` prints it)' },
  { path: 'mqtt.tlsPort', type: { kind: 'int', min: 0, max: 65535 }, default: 8883, env: 'HEARTH_MQTT_TLS_PORT', flag: 'mqtt-tls-port', help: 'MQTT-over-TLS port (0 picks a free port)' },
  { path: 'mqtt.maxPayloadBytes', type: { kind: 'int', min: 256, max: 65536 }, default: 4096, env: 'HEARTH_MQTT_MAX_PAYLOAD', help: 'largest device payload accepted' },
  { path: 'mqtt.maxConnections', type: { kind: 'int', min: 1, max: 10000 }, default: 500, env: 'HEARTH_MQTT_MAX_CONNECTIONS', help: 'most concurrent device connections' },
  { path: 'mqtt.eventsPerSecond', type: { kind: 'int', min: 1, max: 100000 }, default: 500, env: 'HEARTH_MQTT_EVENTS_PER_SECOND', help: 'sustained events per second one camera may send (ten times as many at once); more are refused' },
  { path: 'mqtt.eventsPerDay', type: { kind: 'int', min: 1, max: 100000000 }, default: 2000000, env: 'HEARTH_MQTT_EVENTS_PER_DAY', help: 'events one camera may have stored in any 24 hours; more are refused' },
  { path: 'http.host', type: { kind: 'string', maxLength: 255, pattern: HOST_PATTERN, patternHint: 'a host name or IP address' }, default: '0.0.0.0', env: 'HEARTH_HTTP_HOST', flag: 'http-host', help: 'address the web UI listens on' },
  { path: 'http.port', type: { kind: 'int', min: 0, max: 65535 }, default: 8080, env: 'HEARTH_HTTP_PORT', flag: 'http-port', help: 'web UI TCP port (0 picks a free port)' },
  { path: 'http.allowPublic', type: { kind: 'bool' }, default: false, env: 'HEARTH_HTTP_ALLOW_PUBLIC', help: 'answer web requests from outside the local network (loopback, private and link-local ranges)' },
  { path: 'http.allowedHosts', type: { kind: 'nullable-string', maxLength: 1024, pattern: /^[A-Za-z0-9., -]*$/, patternHint: 'host names separated by commas' }, default: null, env: 'HEARTH_HTTP_ALLOWED_HOSTS', help: 'extra host names the web UI answers to (IP addresses, localhost, single-label and .local/.lan/.home.arpa names always work)' },
  { path: 'http.tls', type: { kind: 'bool' }, default: false, env: 'HEARTH_HTTP_TLS', help: 'serve the web UI over HTTPS (self-signed certificate made on first start; `hearth web fingerprint` prints it)' },
  { path: 'http.sessionIdleMinutes', type: { kind: 'int', min: 5, max: 10080 }, default: 720, env: 'HEARTH_HTTP_SESSION_IDLE_MINUTES', help: 'web UI session ends after this many minutes without a request' },
  { path: 'http.sessionMaxHours', type: { kind: 'int', min: 1, max: 2160 }, default: 168, env: 'HEARTH_HTTP_SESSION_MAX_HOURS', help: 'web UI session ends at this age in any case' },
  { path: 'ingest.batchMaxMessages', type: { kind: 'int', min: 1, max: 10000 }, default: 256, env: 'HEARTH_BATCH_MAX_MESSAGES', help: 'group commit: messages per transaction at most' },
  { path: 'uplink.url', type: { kind: 'nullable-string', maxLength: 1024, pattern: /^mqtts?:\/\/[^\s/?#@]+(:\d+)?\/?$/, patternHint: 'mqtt://host:port or mqtts://host:port (no credentials in the URL)' }, default: null, env: 'HEARTH_UPLINK_URL', help: 'upstream collector broker; unset keeps the uplink off' },
  { path: 'uplink.username', type: { kind: 'nullable-string', maxLength: 255 }, default: null, env: 'HEARTH_UPLINK_USERNAME', help: 'upstream MQTT user name' },
  { path: 'uplink.passwordFile', type: { kind: 'nullable-string', maxLength: 4096 }, default: null, env: 'HEARTH_UPLINK_PASSWORD_FILE', help: 'file (relative to the data dir) holding the upstream password' },
  { path: 'uplink.caFile', type: { kind: 'nullable-string', maxLength: 4096 }, default: null, env: 'HEARTH_UPLINK_CA_FILE', help: 'CA bundle (relative to the data dir) that the upstream server certificate must chain to' },
  { path: 'uplink.certFile', type: { kind: 'nullable-string', maxLength: 4096 }, default: null, env: 'HEARTH_UPLINK_CERT_FILE', help: 'client certificate for the upstream broker (relative to the data dir)' },
  { path: 'uplink.keyFile', type: { kind: 'nullable-string', maxLength: 4096 }, default: null, env: 'HEARTH_UPLINK_KEY_FILE', help: 'private key of the client certificate (relative to the data dir)' },
  { path: 'uplink.windowSeconds', type: { kind: 'int', min: 60, max: 7 * 86400 }, default: 86400, env: 'HEARTH_UPLINK_WINDOW_SECONDS', help: 'length of a report window' },
  { path: 'uplink.epsilonPerReport', type: { kind: 'number', min: 0.01, max: 5 }, default: 0.5, env: 'HEARTH_UPLINK_EPSILON', help: 'epsilon per report of format 1 (no longer made; format 2 spends the daily epsilon)' },
  { path: 'uplink.dailyEpsilonBudget', type: { kind: 'number', min: 0.01, max: 20 }, default: 1, env: 'HEARTH_UPLINK_DAILY_EPSILON', help: 'most epsilon the home spends per UTC day, over all categories' },
  { path: 'uplink.questionsPerDay', type: { kind: 'int', min: 1, max: 20 }, default: 1, env: 'HEARTH_UPLINK_QUESTIONS_PER_DAY', help: 'fresh questions per day, each with an equal share of the daily epsilon' },
  { path: 'ingest.batchMaxDelayMs', type: { kind: 'int', min: 0, max: 1000 }, default: 4, env: 'HEARTH_BATCH_MAX_DELAY_MS', help: 'group commit: longest wait before committing' },
  { path: 'gpio.enabled', type: { kind: 'bool' }, default: true, env: 'HEARTH_GPIO_ENABLED', help: 'use the privacy switch and LED when the board has GPIO' },
  { path: 'gpio.switchPin', type: { kind: 'int', min: -1, max: 511 }, default: 17, env: 'HEARTH_GPIO_SWITCH_PIN', help: 'privacy switch pin (BCM number on a Pi; -1 for none)' },
  { path: 'gpio.switchMode', type: { kind: 'enum', values: ['toggle', 'button'] }, default: 'toggle', env: 'HEARTH_GPIO_SWITCH_MODE', help: 'toggle: paused while on; button: each press flips' },
  { path: 'gpio.switchActiveLow', type: { kind: 'bool' }, default: true, env: 'HEARTH_GPIO_SWITCH_ACTIVE_LOW', help: 'the switch pulls its pin low when on' },
  { path: 'gpio.ledPin', type: { kind: 'int', min: -1, max: 511 }, default: 27, env: 'HEARTH_GPIO_LED_PIN', help: 'activity LED pin, lit while a report is sent (-1 for none)' },
  { path: 'gpio.debounceMs', type: { kind: 'int', min: 5, max: 2000 }, default: 50, env: 'HEARTH_GPIO_DEBOUNCE_MS', help: 'switch debounce time' },
  { path: 'gpio.pollMs', type: { kind: 'int', min: 5, max: 1000 }, default: 25, env: 'HEARTH_GPIO_POLL_MS', help: 'how often the switch is sampled' },
  { path: 'gpio.chipLabel', type: { kind: 'nullable-string', maxLength: 64, pattern: /^[A-Za-z0-9_.:-]+$/, patternHint: 'a gpiochip label such as pinctrl-bcm2711' }, default: null, env: 'HEARTH_GPIO_CHIP_LABEL', help: 'gpiochip of the header pins (default: the Pi pin controller)' },
  { path: 'ble.enabled', type: { kind: 'bool' }, default: true, env: 'HEARTH_BLE_ENABLED', help: 'read Bluetooth scales through BlueZ' },
  { path: 'ble.adapter', type: { kind: 'string', maxLength: 16, pattern: /^hci\d{1,3}$/, patternHint: 'a BlueZ adapter name such as hci0' }, default: 'hci0', env: 'HEARTH_BLE_ADAPTER', help: 'Bluetooth adapter used for scales' },
  { path: 'ble.scanWindowSeconds', type: { kind: 'int', min: 1, max: 3600 }, default: 25, env: 'HEARTH_BLE_SCAN_WINDOW', help: 'seconds of discovery at the start of every scan interval' },
  { path: 'ble.scanIntervalSeconds', type: { kind: 'int', min: 1, max: 86400 }, default: 30, env: 'HEARTH_BLE_SCAN_INTERVAL', help: 'scan interval in seconds (window >= interval scans continuously)' },
  { path: 'ble.retryMaxSeconds', type: { kind: 'int', min: 1, max: 3600 }, default: 60, env: 'HEARTH_BLE_RETRY_MAX', help: 'longest wait between attempts while Bluetooth is unavailable' },
  { path: 'scales.assignToleranceKg', type: { kind: 'number', min: 0.1, max: 20 }, default: 2, env: 'HEARTH_SCALE_ASSIGN_TOLERANCE_KG', help: 'kilograms from a member\'s usual weight that still assign a weigh-in to them' },
  { path: 'retention.eventDays', type: { kind: 'int', min: 1, max: 36500 }, default: 90, env: 'HEARTH_RETENTION_EVENT_DAYS', help: 'days raw device events are kept (older ones are rolled up into per-day counts, kept for ever, then deleted)' },
  { path: 'retention.measurementDays', type: { kind: 'int', min: 0, max: 36500 }, default: 0, env: 'HEARTH_RETENTION_MEASUREMENT_DAYS', help: 'days weigh-ins are kept (0: for ever)' },
  { path: 'retention.ledgerDays', type: { kind: 'int', min: 0, max: 36500 }, default: 365, env: 'HEARTH_RETENTION_LEDGER_DAYS', help: 'days the privacy ledger of sent reports is kept (0: for ever)' },
  { path: 'retention.lowDiskMb', type: { kind: 'int', min: 0, max: 1_000_000 }, default: 256, env: 'HEARTH_LOW_DISK_MB', help: 'free space (MB) on the data dir\'s file system under which the hub warns (0: never)' },
];

export interface ConfigSources {
  flags?: Record<string, string | boolean | undefined>;
  env?: Record<string, string | undefined>;
  /** Overrides the data dir used to find hearth.json (normally taken from flags/env/defaults). */
  cwd?: string;
}

/** Build and validate the configuration. Throws ConfigError listing every bad field at once. */
export function loadConfig(sources: ConfigSources = {}): HearthConfig {
  const flags = sources.flags ?? {};
  const env = sources.env ?? {};
  const cwd = sources.cwd ?? process.cwd();
  const problems: string[] = [];
  const out: Record<string, unknown> = {};

  // The data dir decides where the config file is, so it is resolved first from the other sources.
  const dataDirRaw = pickRaw(fieldByPath('dataDir'), flags, env, undefined);
  const dataDir = resolve(cwd, String(dataDirRaw.value));
  const file = readConfigFile(join(dataDir, CONFIG_FILE_NAME), problems);
  if (file) {
    for (const key of flattenKeys(file)) {
      if (!CONFIG_FIELDS.some((f) => f.path === key) && !key.startsWith('$')) {
        problems.push(`${CONFIG_FILE_NAME}: unknown setting "${key}"`);
      }
    }
  }

  const sourceOf = new Map<string, string>();
  for (const field of CONFIG_FIELDS) {
    const raw = pickRaw(field, flags, env, file);
    const parsed = parseValue(field, raw.value, raw.source, problems);
    setPath(out, field.path, parsed);
    sourceOf.set(field.path, raw.source);
  }
  // One TCP port cannot serve both (0 picks a free port for each, so it may repeat).
  const mqttPort = getPath(out, 'mqtt.port');
  if (mqttPort !== 0 && mqttPort === getPath(out, 'http.port')) {
    problems.push(`mqtt.port (${sourceOf.get('mqtt.port')}) and http.port (${sourceOf.get('http.port')}) are both ${String(mqttPort)}: the MQTT broker and the web UI need a port each; change one of them`);
  }
  const tlsPort = getPath(out, 'mqtt.tlsPort');
  if (getPath(out, 'mqtt.tls') === true && tlsPort !== 0 && (tlsPort === mqttPort || tlsPort === getPath(out, 'http.port'))) {
    problems.push(`mqtt.tlsPort (${sourceOf.get('mqtt.tlsPort')}) is ${String(tlsPort)}, which mqtt.port or http.port also uses: MQTT over TLS needs a port of its own; change one of them`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  (out as { dataDir: string }).dataDir = dataDir;
  return out as unknown as HearthConfig;
}

/**
 * Checks one setting as hearth.json would give it; returns the parsed value or the problems.
 * Lets other writers of hearth.json (the web UI's settings page) apply the same rules.
 */
export function checkSetting(path: string, value: unknown): { value: unknown } | { problems: string[] } {
  const problems: string[] = [];
  const parsed = parseValue(fieldByPath(path), value, path, problems);
  return problems.length > 0 ? { problems } : { value: parsed };
}

/** Reads hearth.json of a data dir as an object (empty when absent); throws ConfigError when unreadable. */
export function readConfigFileOf(dataDir: string): Record<string, unknown> {
  const problems: string[] = [];
  const file = readConfigFile(join(dataDir, CONFIG_FILE_NAME), problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return file ?? {};
}

/** Every way to set a field, for messages that tell the user what to change: "mqtt.port in hearth.json, HEARTH_MQTT_PORT or --mqtt-port". */
export function settingNames(path: string): string {
  const f = fieldByPath(path);
  const ways = [`${f.path} in ${CONFIG_FILE_NAME}`, ...(f.env ? [f.env] : []), ...(f.flag ? [`--${f.flag}`] : [])];
  return ways.length === 1 ? ways[0]! : `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)!}`;
}

function fieldByPath(path: string): FieldSpec {
  const f = CONFIG_FIELDS.find((x) => x.path === path);
  if (!f) throw new Error(`no config field ${path}`);
  return f;
}

function pickRaw(
  field: FieldSpec,
  flags: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined>,
  file: Record<string, unknown> | undefined,
): { value: unknown; source: string } {
  if (field.flag && flags[field.flag] !== undefined) return { value: flags[field.flag], source: `--${field.flag}` };
  if (field.env && env[field.env] !== undefined && env[field.env] !== '') return { value: env[field.env], source: field.env };
  if (file) {
    const v = getPath(file, field.path);
    if (v !== undefined) return { value: v, source: `${CONFIG_FILE_NAME} ${field.path}` };
  }
  return { value: field.default, source: 'default' };
}

function parseValue(field: FieldSpec, value: unknown, source: string, problems: string[]): unknown {
  const t = field.type;
  const bad = (why: string) => {
    problems.push(`${source}: ${why}`);
    return field.default;
  };
  switch (t.kind) {
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isInteger(n)) return bad(`must be a whole number from ${t.min} to ${t.max}`);
      if (n < t.min || n > t.max) return bad(`must be from ${t.min} to ${t.max} (got ${n})`);
      return n;
    }
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
      if (!Number.isFinite(n)) return bad(`must be a number from ${t.min} to ${t.max}`);
      if (n < t.min || n > t.max) return bad(`must be from ${t.min} to ${t.max} (got ${n})`);
      return n;
    }
    case 'bool': {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === '1' || value === 'yes' || value === 'on') return true;
      if (value === 'false' || value === '0' || value === 'no' || value === 'off') return false;
      return bad('must be true or false');
    }
    case 'enum': {
      if (typeof value !== 'string' || !t.values.includes(value)) return bad(`must be one of ${t.values.join(', ')}`);
      return value;
    }
    case 'nullable-string':
    case 'string': {
      if (t.kind === 'nullable-string' && (value === null || value === '')) return null;
      if (typeof value !== 'string' || value.length === 0) return bad('must be a non-empty string');
      if (value.length > t.maxLength) return bad(`must be at most ${t.maxLength} characters`);
      if (/[\u0000-\u001f]/.test(value)) return bad('must not contain control characters');
      if (t.pattern && !t.pattern.test(value)) return bad(`must be ${t.patternHint ?? `of the form ${t.pattern}`}`);
      return value;
    }
  }
}

function readConfigFile(path: string, problems: string[]): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    problems.push(`${CONFIG_FILE_NAME}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  if (text.length > 64 * 1024) {
    problems.push(`${CONFIG_FILE_NAME}: larger than 64 KiB`);
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`${CONFIG_FILE_NAME}: must hold a JSON object`);
      return undefined;
    }
    return parsed as Record<string, unknown>;
  } catch {
    problems.push(`${CONFIG_FILE_NAME}: is not valid JSON`);
    return undefined;
  }
}

function flattenKeys(obj: Record<string, unknown>, prefix = ''): string[] {
  const keys: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !CONFIG_FIELDS.some((f) => f.path === p)) {
      keys.push(...flattenKeys(v as Record<string, unknown>, p));
    } else keys.push(p);
  }
  return keys;
}

function getPath(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}
