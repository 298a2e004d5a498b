/**
 * The live-events stream (GET /api/events) over real TCP: bounded streams (one more gets 503 with
 * Retry-After, a closed one frees its slot and its listener), the keep-alive comment, changes
 * carrying ids and kinds only, a client that stops reading is dropped instead of buffering without
 * end, and a hub with open streams still stops promptly.
 */
import { connect, type Socket } from 'node:net';
import { get as httpGet, type ClientRequest, type IncomingMessage } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainBus } from '../src/bus/bus.js';
import { registerLiveEvents } from '../src/web/api/live.js';
import { logIn, startWebHub } from './helpers/web.js';

interface Stream {
  req: ClientRequest;
  res: IncomingMessage;
  text(): string;
}

function open(port: number, headers: Record<string, string> = {}): Promise<Stream> {
  return new Promise((resolve, reject) => {
    let text = '';
    const req = httpGet({ host: '127.0.0.1', port, path: '/api/events', headers }, (res) => {
      res.on('data', (d: Buffer) => (text += d.toString()));
      resolve({ req, res, text: () => text });
    });
    req.on('error', reject);
  });
}

describe('live events stream', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function bareServer(events: DomainBus, opts: Parameters<typeof registerLiveEvents>[2]): Promise<{ app: FastifyInstance; port: number }> {
    const app = Fastify();
    registerLiveEvents(app, events, opts);
    await app.listen({ host: '127.0.0.1', port: 0 });
    cleanups.push(() => app.close());
    const addr = app.server.address();
    return { app, port: typeof addr === 'object' && addr ? addr.port : 0 };
  }

  it('bounds the open streams, sends keep-alives, frees slots and listeners when clients leave', async () => {
    const events = new DomainBus();
    const { port } = await bareServer(events, { maxStreams: 3, heartbeatMs: 50 });
    const streams = [await open(port), await open(port), await open(port)];
    for (const s of streams) {
      expect(s.res.statusCode).toBe(200);
      expect(s.res.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(s.res.headers['cache-control']).toBe('no-store');
      expect(s.res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
    const refused = await open(port);
    expect(refused.res.statusCode).toBe(503);
    expect(Number(refused.res.headers['retry-after'])).toBeGreaterThan(0);

    await expect.poll(() => streams[0]!.text()).toContain(': keep-alive\n\n');
    events.emit('device.presence', { deviceId: 'cam-0123456789ab', online: true, at: 42 });
    for (const s of streams) await expect.poll(() => s.text()).toContain('event: presence\ndata: {"type":"presence","deviceId":"cam-0123456789ab","online":true,"at":42}\n\n');

    streams[0]!.req.destroy();
    await expect.poll(async () => {
      const again = await open(port);
      if (again.res.statusCode === 200) streams.push(again);
      else again.req.destroy();
      return again.res.statusCode;
    }).toBe(200);
    for (const s of streams) s.req.destroy();
    await expect.poll(() => events.listenerCount() > 0).toBe(false); // no listener left behind
  });

  it('drops a client that stops reading once too much is waiting for it', async () => {
    const events = new DomainBus();
    const { port } = await bareServer(events, { maxStreams: 2, heartbeatMs: 60_000, maxBufferedBytes: 64 * 1024 });
    // A raw socket that sends the request and then never reads.
    const socket: Socket = connect(port, '127.0.0.1');
    cleanups.push(() => void socket.destroy());
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /api/events HTTP/1.1\r\nHost: hub\r\n\r\n');
    socket.pause();
    await expect.poll(() => events.listenerCount() > 0).toBe(true);
    const detail = 'x'.repeat(200);
    // Far more than the kernel's socket buffers hold: the stream must end rather than grow the heap.
    for (let i = 0; i < 40_000 && events.listenerCount() > 0; i++) {
      events.emit('device.event', { deviceId: 'cam-0123456789ab', eventType: detail, at: i });
      if (i % 500 === 0) await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => events.listenerCount() > 0, { timeout: 5000 }).toBe(false);
    // Its slot is free again.
    const next = await open(port);
    cleanups.push(() => void next.req.destroy());
    expect(next.res.statusCode).toBe(200);
  });

  it('does not hold up the hub when it stops with streams open', async () => {
    const web = await startWebHub();
    const hub = web.hub;
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await web.stop();
    });
    const { cookie } = await logIn(hub);
    expect((await open(hub.httpPort)).res.statusCode).toBe(401);
    const streams = [await open(hub.httpPort, { cookie }), await open(hub.httpPort, { cookie })];
    for (const s of streams) expect(s.res.statusCode).toBe(200);
    const ended = streams.map((s) => new Promise<void>((resolve) => s.res.once('close', () => resolve())));
    const t0 = Date.now();
    await web.stop();
    stopped = true;
    expect(Date.now() - t0).toBeLessThan(3000);
    await Promise.all(ended);
  });
});
