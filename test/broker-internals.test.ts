/**
 * The broker patches a few non-public internals of aedes and mqtt-packet (pinned to exact
 * versions). If one is missing or reshaped, the hub refuses to start and says which, rather than
 * run without its size cap or with camera data routed. Simulated here by removing each in turn.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Aedes } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { HubBroker } from '../src/broker/broker.js';
import { BrokerInternalsError, missingBrokerInternals } from '../src/broker/internals.js';
import { Counters } from '../src/store/counters.js';
import { silentLogger } from '../src/log/logger.js';
import { cli, ROOT, tempDir } from './helpers/hub.js';

const parserProto = Object.getPrototypeOf(mqttPacket.parser()) as Record<string, unknown>;

async function createBroker(): Promise<HubBroker> {
  return HubBroker.create(
    { verifySecret: async () => false, logger: silentLogger, counters: undefined as unknown as Counters, cameraSecretHash: () => undefined, ingest: () => {} },
    { host: '127.0.0.1', port: 0, maxPayloadBytes: 4096, maxConnections: 10 },
  );
}

/** Runs `fn` with `obj[key]` replaced (or removed, for undefined), then puts it back. */
async function without<T>(obj: Record<string, unknown>, key: string, replacement: unknown, fn: () => Promise<T>): Promise<T> {
  const had = Object.hasOwn(obj, key);
  const saved = obj[key];
  if (replacement === undefined) delete obj[key];
  else obj[key] = replacement;
  try {
    return await fn();
  } finally {
    if (had) obj[key] = saved;
    else delete obj[key];
  }
}

describe('patched broker internals', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('finds every patched internal in the pinned versions', async () => {
    const aedes = await Aedes.createBroker();
    expect(missingBrokerInternals(aedes)).toEqual([]);
    await new Promise<void>((r) => aedes.close(() => r()));
    const broker = await createBroker();
    await broker.close();
  });

  it('pins aedes and mqtt-packet to the exact versions in the lock file', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    for (const name of ['aedes', 'mqtt-packet']) {
      expect(pkg.dependencies[name]).toMatch(/^\d+\.\d+\.\d+$/);
      expect(lock.packages[`node_modules/${name}`]!.version).toBe(pkg.dependencies[name]);
      expect(lock.packages[''] && (lock.packages[''] as unknown as { dependencies: Record<string, string> }).dependencies[name]).toBe(pkg.dependencies[name]);
    }
  });

  it('refuses to start when the parser’s length state (the size cap) is missing', async () => {
    await without(parserProto, '_parseLength', undefined, async () => {
      const err = await createBroker().then(
        (b) => (void b.close(), undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BrokerInternalsError);
      expect((err as BrokerInternalsError).missing).toContain('parser._parseLength');
      expect((err as Error).message).toMatch(/install the exact versions package\.json pins/);
    });
  });

  it('refuses to start when the parser cannot report an error, or writeToStream lost its cacheNumbers switch', async () => {
    await without(parserProto, '_emitError', undefined, async () => {
      await expect(createBroker()).rejects.toMatchObject({ missing: ['parser._emitError(err)'] });
    });
    const write = mqttPacket.writeToStream as unknown as Record<string, unknown>;
    await without(write, 'cacheNumbers', undefined, async () => {
      await expect(createBroker()).rejects.toMatchObject({ missing: ['mqttPacket.writeToStream.cacheNumbers'] });
    });
  });

  it('refuses to start when aedes’ publish no longer takes the client (the publish bypass)', async () => {
    const proto = Aedes.prototype as unknown as Record<string, unknown>;
    const original = proto.publish as (...a: unknown[]) => unknown;
    await without(proto, 'publish', function publish(this: unknown, packet: unknown, done: unknown) {
      return original.call(this, packet, null, done);
    }, async () => {
      await expect(createBroker()).rejects.toMatchObject({ missing: ['Aedes.publish(packet, client, done)'] });
    });
  });

  it('makes the compiled daemon exit 1 with a clear message, not an unexpected failure', () => {
    // A preload that removes the size-cap internal from the mqtt-packet the daemon loads.
    const preloadDir = mkdtempSync(join(tmpdir(), 'hearth-preload-'));
    const preload = join(preloadDir, 'drop-internal.mjs');
    const parserModule = pathToFileURL(join(ROOT, 'node_modules', 'mqtt-packet', 'mqtt.js')).href;
    writeFileSync(preload, `import mp from '${parserModule}';\ndelete Object.getPrototypeOf(mp.parser())._parseLength;\n`);
    const res = cli(['start', '--data-dir', dir.path, '--mqtt-port', '0', '--http-port', '0', '--mqtt-host', '127.0.0.1', '--http-host', '127.0.0.1'], {
      NODE_OPTIONS: `--import ${pathToFileURL(preload).href}`,
      HEARTH_BLE_ENABLED: 'false',
      HEARTH_GPIO_ENABLED: 'false',
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('hearth: cannot start the MQTT broker: the installed aedes / mqtt-packet lack internals the hub relies on (parser._parseLength');
    expect(res.stderr).not.toContain('unexpected failure');
    expect(res.stdout).not.toContain('hearth is running');
  });
});
