/**
 * GET /api/events: server-sent events of the hub's live changes (device presence, new status or
 * events, enrolments, privacy and storage changes), so pages update without reloading. Carries ids,
 * kinds and times only. The number of open streams is bounded; a comment line every 25 s keeps
 * idle connections (and proxies) from timing out; a client that stops reading is dropped.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { DomainBus } from '../../bus/bus.js';
import type { DomainEvent } from '../../bus/events.js';
import { SECURITY_HEADERS } from '../security/headers.js';
import { LiveEventsRoute } from './schemas.js';

export interface LiveEventsOptions {
  /** Open streams at most; one more gets 503 with Retry-After. */
  maxStreams?: number;
  /** Interval of the keep-alive comment line. */
  heartbeatMs?: number;
  /** A client that lets more than this wait unread is dropped (it reconnects and reloads). */
  maxBufferedBytes?: number;
}

/** What the pages hear: a name and ids, kinds and times only (an allow-list of the bus's fields). */
export type LiveMessage =
  | { type: 'presence'; deviceId: string; online: boolean; at: number }
  | { type: 'status'; deviceId: string; at: number }
  | { type: 'event'; deviceId: string; eventType: string; at: number }
  | { type: 'devices' | 'measurement' | 'privacy' | 'storage' | 'consent'; at: number };

/** The page message for a domain event, or undefined for events pages do not follow. */
export function liveMessage(e: DomainEvent): LiveMessage | undefined {
  switch (e.type) {
    case 'device.presence':
      return { type: 'presence', deviceId: e.deviceId, online: e.online, at: e.at };
    case 'device.status':
      return { type: 'status', deviceId: e.deviceId, at: e.at };
    case 'device.event':
      return { type: 'event', deviceId: e.deviceId, eventType: e.eventType, at: e.at };
    case 'device.enrolled':
    case 'device.removed':
      return { type: 'devices', at: e.at };
    case 'measurement.stored':
    case 'measurement.assigned':
    case 'member.added':
    case 'member.forgotten':
      return { type: 'measurement', at: e.at };
    case 'privacy.changed':
      return { type: 'privacy', at: e.at };
    case 'storage.changed':
    case 'storage.disk':
      return { type: 'storage', at: e.at };
    case 'consent.changed':
      return { type: 'consent', at: e.at };
    default:
      return undefined;
  }
}

let streamOwners = 0;

export function registerLiveEvents(app: FastifyInstance, bus: DomainBus, opts: LiveEventsOptions = {}): void {
  const maxStreams = opts.maxStreams ?? 16;
  const heartbeatMs = opts.heartbeatMs ?? 25_000;
  const maxBufferedBytes = opts.maxBufferedBytes ?? 256 * 1024;
  const streams = new Set<ServerResponse>();
  // A stream never ends by itself: without this, closing the server would wait for every browser.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });
  app.get('/api/events', { schema: LiveEventsRoute }, async (req, reply) => {
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
    const off = bus.onAny(`live-page-${++streamOwners}`, (event) => {
      const m = liveMessage(event);
      if (m) send(`event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`);
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
