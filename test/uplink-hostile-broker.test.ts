/**
 * A hostile upstream broker: after CONNACK it announces a 200 MB packet and starts sending it. The
 * uplink must drop the connection as soon as the length is known instead of buffering the body.
 */
import { createServer, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { silentLogger } from '../src/log/logger.js';
import { PacketSizeWatch } from '../src/uplink/packet-limit.js';
import { SwitchablePrivacyGate } from '../src/uplink/privacy-gate.js';
import { UplinkService } from '../src/uplink/service.js';
import { recordTally } from './helpers/robustness.js';
import { testVault, waitFor } from './uplink-helpers.js';

describe('uplink against a hostile upstream broker', () => {
  const tally = { surface: 'uplink-incoming', tried: 0, refused: 0, accepted: 0, crashes: 0, dataLost: 0 };
  afterAll(() => recordTally(tally));

  it('reads MQTT framing across chunk boundaries and trips only on an oversized packet', () => {
    const small = Buffer.concat([
      mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      mqttPacket.generate({ cmd: 'puback', messageId: 7 }),
      mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1000), qos: 0, retain: false, dup: false }),
      mqttPacket.generate({ cmd: 'pingresp' }),
    ]);
    const w = new PacketSizeWatch(2048);
    for (let i = 0; i < small.length; i++) expect(w.feed(small.subarray(i, i + 1))).toBe(true); // byte by byte
    const big = mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(5000), qos: 0, retain: false, dup: false });
    expect(new PacketSizeWatch(2048).feed(big.subarray(0, 4))).toBe(false);
    expect(new PacketSizeWatch(2048).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]))).toBe(false); // a five-byte length
    tally.tried += 6;
    tally.accepted += 4;
    tally.refused += 2;
  });

  it('disconnects from a broker that announces a 200 MB packet before buffering it', async () => {
    let sentBytes = 0;
    let closedByClient = false;
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => {});
      const parser = mqttPacket.parser();
      parser.on('packet', (p) => {
        if (p.cmd !== 'connect') return;
        sock.write(mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
        // PUBLISH, remaining length 200 MB (0x0BEBC200 as four 7-bit groups), then the body in chunks.
        const header = Buffer.from([0x30, 0x80, 0x84, 0xaf, 0x5f]);
        sock.write(header);
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        const pump = () => {
          while (!sock.destroyed && sentBytes < 200 * 1024 * 1024) {
            sentBytes += chunk.length;
            if (!sock.write(chunk)) return void sock.once('drain', pump);
          }
        };
        pump();
      });
      sock.on('data', (d) => parser.parse(d));
      sock.on('close', () => (closedByClient = true));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const hub = await testVault();
    const config = loadConfig({ flags: { 'data-dir': hub.config.dataDir }, env: { HEARTH_UPLINK_URL: `mqtt://127.0.0.1:${port}` } });
    const service = new UplinkService({ ...hub.vault, config, logger: silentLogger, clock: { now: Date.now }, gate: new SwitchablePrivacyGate(), backoff: { initialMs: 60_000, maxMs: 60_000 }, checkIntervalMs: 3_600_000 });
    try {
      service.start();
      await waitFor(() => closedByClient, 20_000, 'the uplink to drop the connection');
      // The client closed long before the body could arrive; its socket buffers bound what was sent.
      expect(sentBytes).toBeLessThan(32 * 1024 * 1024);
      tally.tried += 1;
      tally.refused += 1;
    } finally {
      await service.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      await hub.cleanup();
    }
  });
});
