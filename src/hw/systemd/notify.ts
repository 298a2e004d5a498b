/**
 * The sd_notify protocol, spoken directly: newline-separated KEY=VALUE assignments in one datagram
 * to the unix socket named by $NOTIFY_SOCKET. Used with Type=notify (READY=1 once the hub serves,
 * STOPPING=1 on shutdown, STATUS=... for `systemctl status`) and WatchdogSec= (WATCHDOG=1 fed from
 * the event loop, so a blocked loop stops feeding and systemd restarts the service).
 *
 * Node has no unix datagram sockets in core, so the socket comes from `unix-dgram` (a small native
 * addon, built with the same toolchain that onoff's epoll already needs). It is loaded lazily and
 * only when $NOTIFY_SOCKET is set, so a hub started by hand never touches it, and a failed native
 * build degrades to a logged error instead of a crash. Never shells out to systemd-notify.
 */
import { createRequire } from 'node:module';
import { getSystemErrorName } from 'node:util';
import type { Logger } from '../../log/logger.js';

export type NotifyTarget = { kind: 'path'; path: string } | { kind: 'abstract'; name: string };

/** Longest STATUS= text sent; systemctl shows one line, and datagrams must stay small. */
const MAX_STATUS_CHARS = 200;
/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;
/** Feeding faster than this gains nothing and costs wakeups on a small board. */
const MIN_WATCHDOG_FEED_MS = 50;

/**
 * Where to send: an absolute path, or '@name' for Linux's abstract namespace (the leading '@'
 * stands for the NUL byte). Anything else is refused, as libsystemd does.
 */
export function parseNotifySocket(value: string | undefined): NotifyTarget | undefined {
  if (value === undefined || value === '') return undefined;
  if (Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES) throw new NotifyError('NOTIFY_SOCKET is longer than a unix socket address allows');
  if (/[\u0000-\u001f]/.test(value)) throw new NotifyError('NOTIFY_SOCKET contains control characters');
  if (value.startsWith('@')) {
    if (value.length < 2) throw new NotifyError('NOTIFY_SOCKET names an empty abstract socket');
    return { kind: 'abstract', name: value.slice(1) };
  }
  if (value.startsWith('/')) return { kind: 'path', path: value };
  throw new NotifyError('NOTIFY_SOCKET must be an absolute path or an @abstract name');
}

/**
 * How often to feed the watchdog: half of $WATCHDOG_USEC (systemd's own advice), or undefined when
 * no watchdog is armed for this process ($WATCHDOG_PID names another process, e.g. a wrapper).
 */
export function watchdogFeedIntervalMs(env: Record<string, string | undefined>, pid: number): number | undefined {
  const usecRaw = env.WATCHDOG_USEC;
  if (usecRaw === undefined || usecRaw === '') return undefined;
  if (!/^\d{1,15}$/.test(usecRaw)) throw new NotifyError('WATCHDOG_USEC is not a whole number of microseconds');
  const usec = Number(usecRaw);
  if (usec === 0) return undefined;
  const pidRaw = env.WATCHDOG_PID;
  if (pidRaw !== undefined && pidRaw !== '' && pidRaw !== String(pid)) return undefined;
  return Math.max(MIN_WATCHDOG_FEED_MS, Math.floor(usec / 2000));
}

/** One line of status text: newlines would smuggle in further assignments (e.g. MAINPID=). */
export function sanitizeStatus(text: string): string {
  const oneLine = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return oneLine.length > MAX_STATUS_CHARS ? oneLine.slice(0, MAX_STATUS_CHARS - 1) + '…' : oneLine;
}

export class NotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotifyError';
  }
}

export interface SystemdNotifier {
  /** True when $NOTIFY_SOCKET is set and usable: systemd is listening. */
  readonly active: boolean;
  notifyReady(status?: string): void;
  notifyStopping(status?: string): void;
  notifyStatus(text: string): void;
  /** Feeds WATCHDOG=1 at half of $WATCHDOG_USEC from a timer (a blocked loop stops feeding). */
  startWatchdog(): void;
  stopWatchdog(): void;
  close(): void;
}

/** The transport, injectable so the notifier's logic is testable without the native addon. */
export interface DatagramSender {
  send(target: NotifyTarget, message: Buffer): Promise<void>;
  close(): void;
}

export interface NotifierOptions {
  env: Record<string, string | undefined>;
  logger: Logger;
  pid?: number;
  sender?: DatagramSender;
}

export function createSystemdNotifier(opts: NotifierOptions): SystemdNotifier {
  const { env, logger } = opts;
  const pid = opts.pid ?? process.pid;
  let target: NotifyTarget | undefined;
  let feedMs: number | undefined;
  try {
    target = parseNotifySocket(env.NOTIFY_SOCKET);
    feedMs = target ? watchdogFeedIntervalMs(env, pid) : undefined;
  } catch (err) {
    logger.error('systemd notification disabled', { reason: (err as Error).message });
    target = undefined;
  }
  if (!target) logger.debug('NOTIFY_SOCKET not set; systemd notifications are no-ops');

  let sender: DatagramSender | undefined = opts.sender;
  let senderFailed = false;
  let timer: NodeJS.Timeout | undefined;
  let sendFailures = 0;

  function send(assignments: string): void {
    if (!target) return;
    if (!sender && !senderFailed) {
      try {
        sender = loadUnixDgramSender();
      } catch (err) {
        senderFailed = true;
        logger.error('cannot load the unix datagram socket for sd_notify; systemd will not see READY or the watchdog', { code: (err as NodeJS.ErrnoException).code ?? 'load-failed' });
      }
    }
    if (!sender) return;
    sender.send(target, Buffer.from(assignments, 'utf8')).catch((err: NodeJS.ErrnoException) => {
      // Log the first failure and then every 100th, so a vanished socket cannot flood the journal.
      if (sendFailures++ % 100 === 0) logger.warn('sd_notify send failed', { code: err.code ?? 'error', count: sendFailures });
    });
  }

  return {
    active: target !== undefined,
    notifyReady(status) {
      send(status ? `READY=1\nSTATUS=${sanitizeStatus(status)}` : 'READY=1');
    },
    notifyStopping(status) {
      send(status ? `STOPPING=1\nSTATUS=${sanitizeStatus(status)}` : 'STOPPING=1');
    },
    notifyStatus(text) {
      send(`STATUS=${sanitizeStatus(text)}`);
    },
    startWatchdog() {
      if (!target || feedMs === undefined || timer) return;
      logger.info('systemd watchdog armed', { ms: feedMs });
      send('WATCHDOG=1');
      // A plain timer on the main loop on purpose: if the loop is blocked, no WATCHDOG=1 goes out.
      timer = setInterval(() => send('WATCHDOG=1'), feedMs);
      timer.unref();
    },
    stopWatchdog() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    close() {
      this.stopWatchdog();
      sender?.close();
      sender = undefined;
    },
  };
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb: (err?: Error) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  close(): void;
}

/**
 * unix-dgram copies the address with strncpy, so it reaches filesystem sockets only; systemd's
 * own notify socket (/run/systemd/notify, or the user manager's) is always one. An abstract
 * target is refused with a clear reason rather than silently sent nowhere.
 */
function loadUnixDgramSender(): DatagramSender {
  const require = createRequire(import.meta.url);
  const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
  let socket: UnixDgramSocket | undefined;
  return {
    send(target, message) {
      if (target.kind === 'abstract') {
        return Promise.reject(Object.assign(new Error('abstract notify sockets are not supported by the datagram transport'), { code: 'EAFNOSUPPORT' }));
      }
      if (!socket) {
        socket = unixDgram.createSocket('unix_dgram');
        socket.on('error', () => {
          /* reported through the send callback */
        });
      }
      const s = socket;
      return new Promise((resolve, reject) => s.send(message, 0, message.length, target.path, (err) => (err ? reject(withErrnoName(err)) : resolve())));
    },
    close() {
      socket?.close();
      socket = undefined;
    },
  };
}

/** unix-dgram reports errno as a negative number; give it the usual name (ENOENT, ECONNREFUSED...). */
function withErrnoName(err: Error): Error {
  const e = err as NodeJS.ErrnoException & { code?: unknown };
  if (typeof e.code === 'number' && e.code < 0) e.code = getSystemErrorName(e.code);
  return e;
}
