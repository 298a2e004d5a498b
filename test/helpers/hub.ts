/**
 * Test helpers that run hearth for real: temp data dirs, the CLI as a child process, and the daemon
 * as a child process (compiled output, as a user runs it) or in-process via startHub.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDevicePassword, hashPassword } from '../../src/crypto/password.js';
import { newDeviceId, type DeviceRecord } from '../../src/devices/registry.js';
import type { RunningHub } from '../../src/hub/hub.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'hearth.js');

/** Waits into the next whole second: report windows are whole seconds, so one closed now covers what came before. */
export async function nextWholeSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
}

export function tempDir(prefix = 'hearth-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `hearth <args>` synchronously with a clean HEARTH_* environment. */
export function cli(args: string[], env: Record<string, string> = {}, input?: string): CliResult {
  const res = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...baseEnv(), ...env },
    encoding: 'utf8',
    input,
    timeout: 30_000,
  });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  // Nor systemd's (a test run from a service): a daemon that believes it runs under systemd writes
  // its first admin password to a file instead of printing it. Tests that want that set them.
  const systemd = new Set(['CREDENTIALS_DIRECTORY', 'INVOCATION_ID', 'JOURNAL_STREAM', 'NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']);
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('HEARTH_') && !systemd.has(k)) env[k] = v;
  // Daemons under test never reach a real BlueZ on the machine (a CI host may run one): the BLE
  // tests point this at their private bus.
  env.DBUS_SYSTEM_BUS_ADDRESS = 'unix:path=/nonexistent/hearth-test-system-bus';
  return env;
}

export interface Camera {
  id: string;
  username: string;
  password: string;
}

export function enrolCamera(dataDir: string, nickname: string): Camera {
  const res = cli(['device', 'add', 'camera', nickname, '--json', '--data-dir', dataDir]);
  if (res.code !== 0) throw new Error(`enrol failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Camera;
}

export interface DaemonHandle {
  proc: ChildProcess;
  mqttPort: number;
  httpPort: number;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait (a power cut, as far as the process can tell). */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `hearth start` on free ports and waits until it prints where it listens. */
export async function startDaemon(dataDir: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<DaemonHandle> {
  const proc = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0', '--mqtt-host', '127.0.0.1', '--http-host', '127.0.0.1', ...extraArgs], {
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const ports = await new Promise<{ mqtt: number; http: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${out}`)), 20_000);
    const check = () => {
      const m = /MQTT broker: mqtt:\/\/[^:]+:(\d+)/.exec(out);
      const h = /web UI:\s+https?:\/\/[^:]+:(\d+)/.exec(out);
      if (m && h) {
        clearTimeout(timer);
        resolve({ mqtt: Number(m[1]), http: Number(h[1]) });
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}:\n${out}`));
    });
  });
  return {
    proc,
    mqttPort: ports.mqtt,
    httpPort: ports.http,
    output: () => out,
    exited,
    stop: async () => {
      proc.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

import type { MqttClient } from 'mqtt';

/**
 * QoS 1 publish that settles when the PUBACK arrives, or fails when the connection closes first
 * (mqtt.js keeps an unacknowledged publish pending forever when it will not reconnect).
 */
export function publishAcked(client: MqttClient, topic: string, payload: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!client.connected) return reject(new Error('not connected'));
    const onClose = () => reject(new Error('connection closed before PUBACK'));
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      if (err) reject(err);
      else resolve();
    });
  });
}

/** Enrols a camera on a hub started in this process, with the password the test chose or a new one. */
export function addCameraWithPassword(hub: RunningHub, nickname: string, password = generateDevicePassword()): DeviceRecord & { password: string } {
  const { registry, vault } = hub.internals;
  return { ...registry.add('camera', newDeviceId('cam'), nickname, { secretHash: hashPassword(vault.sodium, password, 'device') }), password };
}
