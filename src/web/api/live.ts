/**
 * GET /api/events: server-sent events of the hub's live changes (device presence, new status or
 * events, enrolments, privacy and storage changes), so pages update without reloading. Carries ids,
 * kinds and times only. The number of open streams is bounded; a comment line every 25 s keeps
 * idle connections (and proxies) from timing out; a client that stops reading is dropped.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { HubEvents } from '../../hub/events.js';
import { SECURITY_HEADERS } from '../security/headers.js';

export interface LiveEventsOptions {
  /** Open streams at most; one more gets 503 with Retry-After. */
  maxStreams?: number;
  /** Interval of the keep-alive comment line. */
  heartbeatMs?: number;
  /** A client that lets more than this wait unread is dropped (it reconnects and reloads). */
  maxBufferedBytes?: number;
}

export function registerLiveEvents(app: FastifyInstance, events: HubEvents, opts: LiveEventsOptions = {}): void {
  const maxStreams = opts.maxStreams ?? 16;
  const heartbeatMs = opts.heartbeatMs ?? 25_000;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
  const streams = new Set<ServerResponse>();
  // A stream never ends by itself: without this, closing the server would wait for every browser.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  app.get('/api/events', async (req, reply) => {
    if (streams.size >= maxStreams) return reply.code(503).header('retry-after', '30').send({ error: 'too many live connections' });
    reply.hijack();
    const res = reply.raw;
    streams.add(res);
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    // A stalled reader must not make the hub buffer every camera event for it.
    const send = (text: string) => {
      if (res.writableLength > maxBufferedBytes) res.destroy();
      else res.write(text);
    };
    const off = events.on((change) => {
      const { type, ...data } = change;
      send(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    });
    const heartbeat = setInterval(() => send(': keep-alive\n\n'), heartbeatMs);
    heartbeat.unref();
    req.raw.once('close', () => {
      streams.delete(res);
      off();
      clearInterval(heartbeat);
    });
  });
}
