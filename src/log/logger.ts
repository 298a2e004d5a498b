/**
 * Structured, line-oriented logging to stderr (journald picks it up under systemd).
 *
 * Only values that are safe to leave the process may be passed as fields: ids, counts, reasons,
 * ports. Callers never hand payloads, nicknames, SSIDs, addresses or secrets to the logger; as a
 * second line of defence, any field whose name suggests a secret or personal value is replaced.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(bindings: LogFields): Logger;
}

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const REDACTED_FIELD = /pass|secret|token|key|nickname|ssid|ip|mac|email|name|weight|payload/i;
const SAFE_FIELD = /^(deviceId|device|id|kind|name_ok|topic|reason|count|port|host|path|dataDir|level|type|ms|code|clientId|category|reportId|window|attempt|delayMs|pin|chip|offset|schemaVersion|version|bytes|listen|url)$/;

export function createLogger(opts: { level?: LogLevel; sink?: (line: string) => void; bindings?: LogFields } = {}): Logger {
  const min = LEVEL_RANK[opts.level ?? 'info'];
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const bindings = opts.bindings ?? {};

  function emit(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_RANK[level] < min) return;
    const all = { ...bindings, ...fields };
    let line = `${level.toUpperCase()} ${msg}`;
    for (const [k, v] of Object.entries(all)) {
      if (v === undefined) continue;
      const safe = SAFE_FIELD.test(k) || !REDACTED_FIELD.test(k);
      line += ` ${k}=${safe ? formatValue(v) : '[redacted]'}`;
    }
    sink(line);
  }

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (b) => createLogger({ ...opts, bindings: { ...bindings, ...b } }),
  };
}

function formatValue(v: string | number | boolean | null): string {
  if (typeof v !== 'string') return String(v);
  // Quote and cap strings so a hostile value cannot forge extra log lines or flood the journal.
  const clipped = v.length > 200 ? v.slice(0, 200) + '…' : v;
  return /^[\w./:@-]+$/.test(clipped) ? clipped : JSON.stringify(clipped);
}

/** A logger that discards everything, for tests and quiet CLI commands. */
export const silentLogger: Logger = createLogger({ sink: () => {} });
