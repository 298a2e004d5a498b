/**
 * A private system bus (a real dbus-daemon on a unix socket in a temp dir) and the BlueZ stand-in
 * (test/helpers/bluez-standin.mjs) as child processes, for tests that run node-ble for real.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const STANDIN = fileURLToPath(new URL('./bluez-standin.mjs', import.meta.url));

export interface PrivateBus {
  /** For DBUS_SYSTEM_BUS_ADDRESS. */
  address: string;
  socketPath: string;
  stop(): Promise<void>;
}

/** The address a private bus in `dir` listens on (known before the bus exists). */
export function privateBusAddress(dir: string): string {
  return `unix:path=${join(dir, 'system_bus_socket')}`;
}

/** Starts dbus-daemon with a policy that lets anyone own and call anything, on a temp unix socket. */
export async function startPrivateBus(opts: { dir?: string } = {}): Promise<PrivateBus> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hearth-dbus-'));
  const socketPath = join(dir, 'system_bus_socket');
  const conf = join(dir, 'bus.conf');
  writeFileSync(
    conf,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
`,
  );
  const proc = spawn('dbus-daemon', ['--config-file', conf, '--nofork', '--print-address'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dbus-daemon did not start: ${err}`)), 10_000);
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dbus-daemon exited with ${code}: ${err}`));
    });
  });
  return {
    address,
    socketPath,
    stop: async () => {
      await stopChild(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface StandinDevice {
  address: string;
  name?: string;
  rssi?: number;
  /** 16-bit service UUIDs the device advertises, e.g. ['181d']. */
  uuids?: string[];
  /** GATT services exported once connected. */
  gatt?: { uuid: string; chars: { uuid: string; flags?: string[] }[] }[];
  connectable?: boolean;
}

export interface StandinState {
  adapter: { discovering: boolean; powered: boolean; filter: Record<string, unknown> | null } | null;
  devices: { address: string; connected: boolean; notifying: string[] }[];
  stats: Record<string, number>;
}

export interface BluezStandin {
  proc: ChildProcess;
  call<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T & { ok: true }>;
  state(): Promise<StandinState>;
  addDevice(d: StandinDevice): Promise<void>;
  advert(address: string, serviceData: Record<string, string>, rssi?: number): Promise<boolean>;
  notify(address: string, char: string, hex: string): Promise<boolean>;
  /** Polls until the predicate on the stand-in's state holds. */
  waitFor(what: string, predicate: (s: StandinState) => boolean, timeoutMs?: number): Promise<StandinState>;
  /** SIGKILL (BlueZ crashing); resolves once the process is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export async function startStandin(busAddress: string, opts: { noAdapter?: boolean } = {}): Promise<BluezStandin> {
  const proc = spawn(process.execPath, [STANDIN], {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress, BLUEZ_STANDIN_NO_ADAPTER: opts.noAdapter ? '1' : '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const pending = new Map<number, (msg: Record<string, unknown>) => void>();
  let nextId = 1;
  const rl = createInterface({ input: proc.stdout! });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stand-in did not start: ${err}`)), 10_000);
    rl.on('line', (line) => {
      const msg = JSON.parse(line) as Record<string, unknown>;
      if (msg.ready) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const cb = pending.get(msg.id as number);
      pending.delete(msg.id as number);
      cb?.(msg);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in exited with ${code}: ${err}`));
    });
  });
  await ready;
  const call = <T>(op: string, args: Record<string, unknown> = {}) =>
    new Promise<T & { ok: true }>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (msg) => (msg.ok ? resolve(msg as T & { ok: true }) : reject(new Error(`stand-in ${op}: ${String(msg.error)}`))));
      proc.stdin!.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  const state = () => call<StandinState>('state');
  return {
    proc,
    call,
    state,
    addDevice: async (d) => void (await call('addDevice', { ...d })),
    advert: async (address, serviceData, rssi) => (await call<{ delivered: boolean }>('advert', { address, serviceData, rssi })).delivered,
    notify: async (address, char, hex) => (await call<{ delivered: boolean }>('notify', { address, char, hex })).delivered,
    waitFor: async (what, predicate, timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const s = await state();
        if (predicate(s)) return s;
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await gone;
    },
    stop: () => stopChild(proc),
    output: () => err,
  };
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
  await gone;
  clearTimeout(timer);
}

/** Polls until fn returns a truthy value. */
export async function eventually<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, stepMs = 50): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
