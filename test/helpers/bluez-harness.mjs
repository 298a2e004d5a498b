/**
 * A private system bus (a real dbus-daemon on a unix socket in a temp dir) and the BlueZ stand-in
 * (bluez-standin.mjs) as child processes. Plain JavaScript so that both the tests (through the
 * typed bluez.ts) and `npm run soak` use it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const STANDIN = fileURLToPath(new URL('./bluez-standin.mjs', import.meta.url));

/** The address a private bus in `dir` listens on (known before the bus exists). */
export function privateBusAddress(dir) {
  return `unix:path=${join(dir, 'system_bus_socket')}`;
}

/** Starts dbus-daemon with a policy that lets anyone own and call anything, on a temp unix socket. */
export async function startPrivateBus(opts = {}) {
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
  proc.stderr.on('data', (d) => (err += d.toString()));
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dbus-daemon did not start: ${err}`)), 10_000);
    createInterface({ input: proc.stdout }).once('line', (line) => {
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

/** Starts the stand-in on the bus; resolves once it owns org.bluez. */
export async function startStandin(busAddress, opts = {}) {
  const proc = spawn(process.execPath, [STANDIN], {
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress, BLUEZ_STANDIN_NO_ADAPTER: opts.noAdapter ? '1' : '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr.on('data', (d) => (err += d.toString()));
  const pending = new Map();
  let nextId = 1;
  const rl = createInterface({ input: proc.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stand-in did not start: ${err}`)), 10_000);
    rl.on('line', (line) => {
      const msg = JSON.parse(line);
      if (msg.ready) {
        clearTimeout(timer);
        resolve();
        return;
      }
      const cb = pending.get(msg.id);
      pending.delete(msg.id);
      cb?.(msg);
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`stand-in exited with ${code}: ${err}`));
    });
  });
  const call = (op, args = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (msg) => (msg.ok ? resolve(msg) : reject(new Error(`stand-in ${op}: ${String(msg.error)}`))));
      proc.stdin.write(JSON.stringify({ id, op, ...args }) + '\n');
    });
  const state = () => call('state');
  return {
    proc,
    call,
    state,
    addDevice: async (d) => void (await call('addDevice', { ...d })),
    advert: async (address, serviceData, rssi) => (await call('advert', { address, serviceData, rssi })).delivered,
    notify: async (address, char, hex) => (await call('notify', { address, char, hex })).delivered,
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

async function stopChild(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 3_000);
  await gone;
  clearTimeout(timer);
}

/** Polls until fn returns a truthy value. */
export async function eventually(what, fn, timeoutMs = 10_000, stepMs = 50) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
