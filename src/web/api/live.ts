/**
 * GET /api/events: server-sent events of the hub's live changes (device presence, new status or
 * events, enrolments, privacy and storage changes), so pages update without reloading. Carries ids,
 * kinds and times only. The number of open streams is bounded; a comment line every 25 s keeps
 * idle connections (and proxies) from timing out.
 */
import type { FastifyInstance } from 'fastify';
import type { HubEvents } from '../../hub/events.js';
import { SECURITY_HEADERS } from '../security/headers.js';

const MAX_STREAMS = 16;
const HEARTBEAT_MS = 25_000;

export function registerLiveEvents(app: FastifyInstance, events: HubEvents): void {
  let open = 0;
  app.get('/api/events', async (req, reply) => {
    if (open >= MAX_STREAMS) return reply.code(503).header('retry-after', '30').send({ error: 'too many live connections' });
    open++;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 3000\n\n');
    const off = events.on((change) => {
      const { type, ...data } = change;
      res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    req.raw.once('close', () => {
      open--;
      off();
      clearInterval(heartbeat);
    });
  });
}
