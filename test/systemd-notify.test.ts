/**
 * sd_notify against a real unix datagram socket: a python3 receiver (an independent
 * implementation of the socket API) binds a socket in a temp dir and reports every datagram with
 * its arrival time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log/logger.js';
import { createSystemdNotifier, parseNotifySocket, sanitizeStatus, watchdogFeedIntervalMs } from '../src/hw/systemd/notify.js';

const RECEIVER = `
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps({"t": time.time() * 1000, "msg": data.decode()}), flush=True)
`;

interface Datagram {
  t: number;
  msg: string;
}

class Receiver {
  readonly received: Datagram[] = [];
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static async start(path: string): Promise<Receiver> {
    const child = spawn('python3', ['-c', RECEIVER, path]);
    const r = new Receiver(child);
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.once('error', reject);
      child.stderr.on('data', (d: Buffer) => reject(new Error(d.toString())));
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'ready') resolve();
          else r.received.push(JSON.parse(line) as Datagram);
        }
      });
    });
    return r;
  }

  async waitFor(pred: (d: Datagram[]) => boolean, timeoutMs = 3000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred(this.received)) {
      if (Date.now() > until) throw new Error(`timed out; got ${JSON.stringify(this.received.map((d) => d.msg))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  stop(): void {
    this.child.kill();
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function setup(extraEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-notify-'));
  const path = join(dir, 'notify');
  const receiver = await Receiver.start(path);
  const lines: string[] = [];
  const notifier = createSystemdNotifier({ env: { NOTIFY_SOCKET: path, ...extraEnv }, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });
  cleanups.push(() => {
    notifier.close();
    receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return { receiver, notifier, lines };
}

describe('sd_notify over a unix datagram socket', () => {
  it('sends READY, STATUS and STOPPING as separate datagrams', async () => {
    const { receiver, notifier } = await setup();
    expect(notifier.active).toBe(true);
    notifier.notifyReady('serving');
    notifier.notifyStatus('3 cameras online');
    notifier.notifyStopping();
    await receiver.waitFor((d) => d.length >= 3);
    expect(receiver.received.map((d) => d.msg)).toEqual(['READY=1\nSTATUS=serving', 'STATUS=3 cameras online', 'STOPPING=1']);
  });

  it('cannot be made to send extra assignments through the status text', async () => {
    const { receiver, notifier } = await setup();
    notifier.notifyStatus('ok\nMAINPID=1\nREADY=1');
    await receiver.waitFor((d) => d.length >= 1);
    expect(receiver.received[0]!.msg).toBe('STATUS=ok MAINPID=1 READY=1');
    expect(receiver.received[0]!.msg.split('\n')).toHaveLength(1);
  });

  it('feeds the watchdog at half of WATCHDOG_USEC from the event loop, and stops while the loop is blocked', async () => {
    const { receiver, notifier } = await setup({ WATCHDOG_USEC: '200000', WATCHDOG_PID: String(process.pid) });
    notifier.startWatchdog();
    await receiver.waitFor((d) => d.filter((x) => x.msg === 'WATCHDOG=1').length >= 4);
    const feeds = receiver.received.filter((x) => x.msg === 'WATCHDOG=1').map((x) => x.t);
    const gaps = feeds.slice(1).map((t, i) => t - feeds[i]!);
    for (const g of gaps) expect(g).toBeLessThan(180); // 100 ms nominal, within the 200 ms deadline

    // Block the loop for 600 ms: no feed may arrive while it is blocked.
    const blockStart = Date.now();
    while (Date.now() - blockStart < 600) {
      /* busy: the loop is stuck, as a hung hub would be */
    }
    const blockEnd = Date.now();
    await new Promise((r) => setTimeout(r, 250));
    const during = receiver.received.filter((x) => x.msg === 'WATCHDOG=1' && x.t > blockStart + 120 && x.t < blockEnd - 5);
    expect(during).toEqual([]);
    const after = receiver.received.filter((x) => x.msg === 'WATCHDOG=1' && x.t >= blockEnd - 5);
    expect(after.length).toBeGreaterThanOrEqual(1);

    notifier.stopWatchdog();
    const count = receiver.received.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.received.length).toBe(count);
  });

  it('does not feed a watchdog armed for another process', async () => {
    const { receiver, notifier } = await setup({ WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' });
    notifier.startWatchdog();
    notifier.notifyReady();
    await receiver.waitFor((d) => d.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received.map((d) => d.msg)).toEqual(['READY=1']);
  });

  it('is a no-op with a debug line when NOTIFY_SOCKET is unset', () => {
    const lines: string[] = [];
    const n = createSystemdNotifier({ env: {}, logger: createLogger({ level: 'debug', sink: (l) => lines.push(l) }) });
    expect(n.active).toBe(false);
    n.notifyReady();
    n.startWatchdog();
    n.close();
    expect(lines.some((l) => l.startsWith('DEBUG NOTIFY_SOCKET not set'))).toBe(true);
  });

  it('logs, and does not throw, when the socket is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-notify-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const lines: string[] = [];
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: join(dir, 'absent') }, logger: createLogger({ sink: (l) => lines.push(l) }) });
    n.notifyReady();
    n.notifyReady();
    await new Promise((r) => setTimeout(r, 20));
    n.close();
    expect(lines.filter((l) => l.startsWith('WARN sd_notify send failed'))).toHaveLength(1);
    expect(lines[0]).toContain('code=ENOENT');
  });
});

describe('sd_notify environment parsing', () => {
  it('accepts absolute paths and @abstract names, and refuses anything else', () => {
    expect(parseNotifySocket(undefined)).toBeUndefined();
    expect(parseNotifySocket('')).toBeUndefined();
    expect(parseNotifySocket('/run/systemd/notify')).toEqual({ kind: 'path', path: '/run/systemd/notify' });
    expect(parseNotifySocket('@hearth/notify')).toEqual({ kind: 'abstract', name: 'hearth/notify' });
    expect(() => parseNotifySocket('@')).toThrow(/empty/);
    expect(() => parseNotifySocket('relative/notify')).toThrow(/absolute/);
    expect(() => parseNotifySocket('/' + 'x'.repeat(200))).toThrow(/longer/);
    expect(() => parseNotifySocket('/run/a\nb')).toThrow(/control/);
  });

  it('reports an abstract socket it cannot reach instead of pretending', async () => {
    const lines: string[] = [];
    const n = createSystemdNotifier({ env: { NOTIFY_SOCKET: '@hearth-test' }, logger: createLogger({ sink: (l) => lines.push(l) }) });
    n.notifyReady();
    await new Promise((r) => setTimeout(r, 20));
    n.close();
    expect(lines.some((l) => l.startsWith('WARN sd_notify send failed') && l.includes('EAFNOSUPPORT'))).toBe(true);
  });

  it('computes the watchdog feed interval as half of WATCHDOG_USEC', () => {
    expect(watchdogFeedIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogFeedIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15000);
    expect(watchdogFeedIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15000);
    expect(watchdogFeedIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
    expect(watchdogFeedIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
    expect(watchdogFeedIntervalMs({ WATCHDOG_USEC: '10' }, 42)).toBe(50);
    expect(() => watchdogFeedIntervalMs({ WATCHDOG_USEC: '1e9' }, 42)).toThrow();
  });

  it('keeps status text to one bounded line', () => {
    expect(sanitizeStatus('a\r\nb\tc')).toBe('a b c');
    expect(sanitizeStatus('x'.repeat(500))).toHaveLength(200);
  });
});

describe('the daemon under Type=notify', () => {
  it('sends READY=1 only once MQTT and HTTP serve, feeds the watchdog, and STOPPING=1 on SIGTERM', async () => {
    const { startDaemon, tempDir } = await import('./helpers/hub.js');
    const { connect } = await import('node:net');
    const dir = mkdtempSync(join(tmpdir(), 'hearth-notify-'));
    const path = join(dir, 'notify');
    const receiver = await Receiver.start(path);
    const data = tempDir();
    cleanups.push(() => {
      receiver.stop();
      rmSync(dir, { recursive: true, force: true });
      data.cleanup();
    });
    const daemon = await startDaemon(data.path, [], { NOTIFY_SOCKET: path, WATCHDOG_USEC: '400000' });
    await receiver.waitFor((d) => d.some((x) => x.msg.startsWith('READY=1')));
    // When READY=1 was sent, both ports already accepted connections.
    for (const port of [daemon.mqttPort, daemon.httpPort]) {
      await new Promise<void>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve();
        });
        s.once('error', reject);
      });
    }
    await receiver.waitFor((d) => d.filter((x) => x.msg === 'WATCHDOG=1').length >= 3, 3000);
    const ready = receiver.received.find((x) => x.msg.startsWith('READY=1'))!;
    expect(ready.msg).toMatch(/^READY=1\nSTATUS=serving MQTT on port \d+/);
    expect(await daemon.stop()).toBe(0);
    await receiver.waitFor((d) => d.some((x) => x.msg.startsWith('STOPPING=1')));
  });
});
