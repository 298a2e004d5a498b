/**
 * Export and forget. Export gives the household everything stored about one member or device,
 * decrypted, as JSON. Forget deletes it irrevocably through the same use case as the CLI
 * (DeviceService.forget, MemberService.forget): the rows go in one transaction with deleted
 * content overwritten, and the write-ahead log is checkpointed and truncated, so no page still
 * holds the sealed bytes (or the blind index) in the database file or its WAL.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import * as S from './schemas.js';
import { NOT_CONFIRMED } from './schemas.js';
import { DEVICE_ID_PATTERN } from '../../devices/registry.js';
import { MEMBER_ID_PATTERN } from '../../members/store.js';
import { ScaleStore } from '../../devices/scale/store.js';
import type { WebDeps } from '../deps.js';
import { EventLog } from '../../store/event-log.js';
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * The device export's answer is written as it is read (a busy camera has hundreds of thousands of
 * events): its schema stays the allow-list, applied by hand because a stream is not serialized by
 * fastify: the head is cleaned by the schema without its events, each event is built from the
 * schema's four fields.
 */
const EXPORT_DEVICE = S.ExportDeviceRoute.response[200];
const EXPORT_DEVICE_HEAD = Type.Omit(EXPORT_DEVICE, ['events']);

type Ctx = Pick<WebDeps, 'vault' | 'registry' | 'cameras' | 'devices' | 'members' | 'counters'>;

function attachment(reply: FastifyReply, name: string): FastifyReply {
  return reply.header('content-disposition', `attachment; filename="${name}"`).header('cache-control', 'no-store');
}

export function registerExport(server: FastifyInstance, ctx: Ctx): void {
  const app = server.withTypeProvider<TypeBoxTypeProvider>();
  const db = ctx.vault.db;
  const members = ctx.members.store;
  const scales = new ScaleStore(db, ctx.vault.sealer);
  const eventLog = new EventLog(db);

  app.get('/api/export/device/:id', { schema: S.ExportDeviceRoute }, async (req, reply) => {
    const d = DEVICE_ID_PATTERN.test(req.params.id) ? ctx.registry.get(req.params.id) : undefined;
    if (!d) return reply.code(404).send({ error: 'not found' });
    const measurements = scales.ofDevice(d.id);
    const state = d.kind === 'camera' ? ctx.cameras.view(d.id) : undefined;
    const head = Value.Clean(EXPORT_DEVICE_HEAD, structuredClone({ exportedAt: new Date().toISOString(), device: d, state, measurements })) as Record<string, unknown>;
    const cameras = ctx.cameras;
    async function* document(): AsyncGenerator<string> {
      yield `${JSON.stringify(head).slice(0, -1)},"events":[`;
      let first = true;
      for await (const batch of eventLog.ofDeviceInSteps(d!.id)) {
        let text = '';
        let since = performance.now();
        for (const e of batch) {
          // The schema's four fields written straight out: no object per event to collect later
          // (a long export's garbage is what made the collector pause the loop).
          const detail = e.detail ? JSON.stringify(cameras.openDetail(e.id, d!.id, e.detail)) : 'null';
          text += `${first ? '' : ','}{"type":${JSON.stringify(e.type)},"ts":${JSON.stringify(e.ts)},"receivedAt":${JSON.stringify(e.receivedAt)},"detail":${detail}}`;
          first = false;
          // Chunks stay small: a string past ~128 kB is allocated straight in the old generation,
          // which then grows until a full collection, which pauses the loop.
          if (text.length > 32_768) {
            yield text;
            text = '';
          }
          // Opening details is the costly part: the loop gets its turn every few milliseconds of it
          // (a stream's pull alone is a microtask, not a turn of the loop).
          if (performance.now() - since > 3) {
            if (text) yield text;
            text = '';
            await new Promise<void>((resolve) => setImmediate(resolve));
            since = performance.now();
          }
        }
        if (text) yield text;
      }
      yield ']}';
    }
    return attachment(reply, `hearth-device-${d.id}.json`).type('application/json; charset=utf-8').send(Readable.from(document(), { highWaterMark: 1 })); // one chunk ahead of the socket, not sixteen
  });

  app.get('/api/export/member/:id', { schema: S.ExportMemberRoute }, async (req, reply) => {
    const m = MEMBER_ID_PATTERN.test(req.params.id) ? members.get(req.params.id) : undefined;
    if (!m) return reply.code(404).send({ error: 'not found' });
    return attachment(reply, `hearth-member-${m.id}.json`).send({ exportedAt: new Date().toISOString(), member: m, measurements: scales.history(m.id, 1_000_000) });
  });

  // Forget: POST with { "confirm": true } (what the export page sends) or DELETE (the method says it).
  // DELETE /api/devices/:id is the same as forgetting the device: nothing of it is kept either way.
  const confirmed = (req: FastifyRequest) => req.method === 'DELETE' || (req.body as { confirm?: unknown } | undefined)?.confirm === true;

  const forgetDevice = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const d = DEVICE_ID_PATTERN.test(req.params.id) ? ctx.registry.get(req.params.id) : undefined;
    if (!d) return reply.code(404).send({ error: 'not found' });
    if (!confirmed(req)) return reply.code(400).send({ error: NOT_CONFIRMED });
    if (!(await ctx.devices.forget(d.id))) return reply.code(404).send({ error: 'not found' });
    return { forgotten: d.id };
  };

  const forgetMember = async (req: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) => {
    const m = MEMBER_ID_PATTERN.test(req.params.id) ? members.get(req.params.id) : undefined;
    if (!m) return reply.code(404).send({ error: 'not found' });
    if (!confirmed(req)) return reply.code(400).send({ error: NOT_CONFIRMED });
    // The member's body metrics are theirs: they go too (the count-only weigh-in events stay).
    if (!ctx.members.forget(m.id)) return reply.code(404).send({ error: 'not found' });
    return { forgotten: m.id };
  };

  app.post('/api/forget/device/:id', { schema: S.ForgetRoute(S.DeviceIdParams) }, forgetDevice);
  app.delete('/api/forget/device/:id', { schema: S.ForgetByDeleteRoute(S.DeviceIdParams) }, forgetDevice);
  app.delete('/api/devices/:id', { schema: S.ForgetByDeleteRoute(S.DeviceIdParams) }, forgetDevice);
  app.post('/api/forget/member/:id', { schema: S.ForgetRoute(S.MemberIdParams) }, forgetMember);
  app.delete('/api/forget/member/:id', { schema: S.ForgetByDeleteRoute(S.MemberIdParams) }, forgetMember);
}
