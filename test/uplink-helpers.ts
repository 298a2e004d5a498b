/**
 * Test-only parts for the upstream tests: a seeded random source (never used by the hub), a real
 * Mosquitto broker on a free loopback port, a real subscriber, and a hub vault in a temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfig, type HearthConfig } from '../src/config/config.js';
import type { SodiumApi } from '../src/crypto/sodium.js';
import type { RandomSource } from '../src/metrics/dp.js';
import { openVault, type Vault } from '../src/store/vault.js';
import { tempDir } from './helpers/hub.js';

/** A deterministic RandomSource from a seed (libsodium's randombytes_buf_deterministic, in blocks). */
export function seededRandom(sodium: SodiumApi, seed: string): RandomSource {
  let block = Buffer.alloc(0);
  let offset = 0;
  let counter = 0;
  const nextUint32 = (): number => {
    if (offset + 4 > block.length) {
      const blockSeed = sodium.crypto_generichash(32, `${seed}:${counter++}`);
      block = Buffer.from(sodium.randombytes_buf_deterministic(65536, blockSeed));
      offset = 0;
    }
    const v = block.readUInt32LE(offset);
    offset += 4;
    return v;
  };
  return {
    uniform(upperBound) {
      const limit = 2 ** 32 - (2 ** 32 % upperBound);
      for (;;) {
        const r = nextUint32();
        if (r < limit) return r % upperBound;
      }
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitFor(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A real Mosquitto broker on a loopback port, with persistence so sessions survive a restart. */
export class Mosquitto {
  private proc: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  readonly url: string;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    scheme: 'mqtt' | 'mqtts',
  ) {
    this.url = `${scheme}://127.0.0.1:${port}`;
  }

  /** `globalLines` go before the listener (password_file), `listenerLines` under it (TLS files). */
  static async start(dir: string, opts: { port?: number; globalLines?: string[]; listenerLines?: string[]; anonymous?: boolean; scheme?: 'mqtt' | 'mqtts' } = {}): Promise<Mosquitto> {
    const m = new Mosquitto(opts.port ?? (await freePort()), dir, opts.scheme ?? 'mqtt');
    mkdirSync(join(dir, 'persist'), { recursive: true });
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        'per_listener_settings false',
        // Stay the current user (as root, mosquitto would otherwise drop to "mosquitto" and lose access to the temp files).
        `user ${userInfo().username}`,
        `allow_anonymous ${opts.anonymous ?? true}`,
        'persistence true',
        `persistence_location ${join(dir, 'persist')}/`,
        'log_dest none',
        ...(opts.globalLines ?? []),
        `listener ${m.port} 127.0.0.1`,
        ...(opts.listenerLines ?? []),
        '',
      ].join('\n'),
    );
    await m.resume();
    return m;
  }

  async resume(): Promise<void> {
    const proc = spawn('mosquitto', ['-c', join(this.dir, 'mosquitto.conf')], { stdio: 'ignore' });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    await waitFor(() => proc.exitCode === null, 100).catch(() => {});
    const until = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (proc.exitCode !== null) throw new Error('mosquitto exited at start');
      if (Date.now() > until) throw new Error('mosquitto did not start listening');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
    this.proc = undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface Received {
  topic: string;
  payload: Buffer;
}

/** A collector-side subscriber with a persistent session (clean: false), reconnecting on its own. */
export async function subscriber(url: string, clientId: string): Promise<{ client: MqttClient; received: Received[] }> {
  const received: Received[] = [];
  const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200, connectTimeout: 5000 });
  client.on('message', (topic, payload) => received.push({ topic, payload: Buffer.from(payload) }));
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync('hearth/v1/reports/#', { qos: 1 });
  return { client, received };
}

export interface TestHub {
  vault: Vault;
  config: HearthConfig;
  cleanup(): Promise<void>;
}

export async function testVault(env: Record<string, string> = {}): Promise<TestHub> {
  const dir = tempDir('hearth-uplink-');
  const config = loadConfig({ flags: { 'data-dir': dir.path }, env });
  const vault = await openVault(config.dataDir, {}, { create: true });
  return {
    vault,
    config,
    cleanup: async () => {
      vault.close();
      dir.cleanup();
    },
  };
}
