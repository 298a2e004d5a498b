/**
 * `hearth device ...`: enrol, list, show and remove devices of every kind, through the same
 * use-case service as the web UI. Works while the daemon runs (WAL): the daemon notices a
 * removal within a second and disconnects the device.
 */
import { EnrolmentError, type DeviceKindPlugin } from '../../devices/kind.js';
import { DEVICE_KINDS } from '../../devices/kinds.js';
import type { DeviceRecord } from '../../devices/registry.js';
import type { DeviceService } from '../../devices/service.js';
import { UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { withServices } from '../services.js';
import { ensureWebCertificate } from '../../web/security/tls.js';

/** `hearth device add <kind> ...`, one per registered kind, from its plugin. */
function addCommand(kind: DeviceKindPlugin): CommandSpec {
  const args = kind.enrolmentArgs;
  const options = Object.keys(kind.enrolmentOptions ?? {});
  return {
    name: `device add ${kind.kind}`,
    usage: `${args.map((a) => `<${a}>`).join(' ')}${options.map((o) => ` [--${o} <${o}>]`).join('')} [--json]`,
    summary: kind.enrolmentSummary,
    async run(ctx) {
      if (ctx.args.length < args.length) throw new UsageError(`give ${args.map((a) => `the ${a}`).join(', then ')}`);
      // The last field takes the remaining words (a nickname may have spaces).
      const input: Record<string, unknown> = Object.fromEntries(args.map((a, i) => [a, i === args.length - 1 ? ctx.args.slice(i).join(' ') : ctx.args[i]]));
      for (const o of options) if (typeof ctx.flags[o] === 'string') input[o] = ctx.flags[o];
      return withServices(ctx, async ({ devices }) => {
        try {
          const { device, shownOnce } = await devices.enrol(kind.kind, input);
          // A device with MQTT credentials may also use TLS when the hub serves it: port and the certificate to pin.
          const config = ctx.config();
          const tls = 'username' in shownOnce && config.mqtt.tls ? { port: config.mqtt.tlsPort, fingerprint: ensureWebCertificate(config.dataDir).fingerprint } : undefined;
          if (ctx.flags.json) ctx.out(JSON.stringify({ id: device.id, kind: device.kind, ...shownOnce, ...(tls ? { tls } : {}) }));
          else {
            for (const line of kind.describeEnrolment(device.id, shownOnce)) ctx.out(line);
            if (tls) ctx.out(`MQTT over TLS: port ${tls.port}; the hub's certificate is self-signed, SHA-256 ${tls.fingerprint} (pin it in the device, or use its "insecure"/no-verify option on a trusted home network)`);
          }
          return 0;
        } catch (err) {
          if (err instanceof EnrolmentError) throw new UsageError(err.message, err.kind === 'conflict' ? 1 : 2);
          throw err;
        }
      });
    },
  };
}

const list: CommandSpec = {
  name: 'device list',
  usage: '[--json]',
  summary: 'list enrolled devices',
  async run(ctx) {
    return withServices(ctx, ({ devices }) => {
      const rows = devices.list().map((d) => summarize(devices, d));
      if (ctx.flags.json) ctx.out(JSON.stringify(rows));
      else if (rows.length === 0) ctx.out('no devices enrolled yet; add one with `hearth device add camera <nickname>`');
      else for (const r of rows) ctx.out(`${r.id}  ${r.kind.padEnd(6)}  ${r.online === null ? '       ' : r.online ? 'online ' : 'offline'}  ${r.nickname}`);
      return 0;
    });
  },
};

const show: CommandSpec = {
  name: 'device show',
  usage: '<id> [--json]',
  summary: "show a device's decrypted latest state and event counts",
  async run(ctx) {
    const id = requireId(ctx);
    return withServices(ctx, ({ devices }) => {
      const device = devices.get(id);
      if (!device) throw new UsageError(`no device with id ${id}`, 1);
      const details = devices.details(device);
      // The last refused input (reason code, time, count); a running hub writes it within 10 s.
      const out = { ...details.fields, id: device.id, online: details.online, lastSeen: details.lastSeen, eventCounts: details.eventCounts, lastRefusal: details.lastRefusal, kind: device.kind, nickname: device.nickname, createdAt: device.createdAt };
      if (ctx.flags.json) {
        ctx.out(JSON.stringify(out));
        return 0;
      }
      for (const [k, v] of Object.entries(out)) ctx.out(`${k}: ${showValue(k, v)}`);
      return 0;
    });
  },
};

/** Times as dates (local time with its offset), objects as JSON, the rest as text. */
function showValue(key: string, v: unknown): string {
  if (typeof v === 'number' && /(At|Seen)$/.test(key)) return formatTime(v);
  if (key === 'lastRefusal' && v !== null && typeof v === 'object') {
    const r = v as { reason: string; at: number; count: number };
    return `${r.reason} at ${formatTime(r.at)} (${r.count} refused in all)`;
  }
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return v === null ? '-' : String(v);
}

export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

const remove: CommandSpec = {
  name: 'device remove',
  usage: '<id>',
  summary: 'remove a device and everything stored about it (a running hub disconnects it)',
  async run(ctx) {
    const id = requireId(ctx);
    return withServices(ctx, async ({ devices }) => {
      if (!(await devices.forget(id))) throw new UsageError(`no device with id ${id}`, 1);
      ctx.out(`removed ${id} and everything stored about it`);
      return 0;
    });
  },
};

function requireId(ctx: CommandContext): string {
  const id = ctx.args[0];
  if (!id || ctx.args.length > 1) throw new UsageError('give exactly one device id');
  return id;
}

function summarize(devices: DeviceService, d: DeviceRecord) {
  const details = devices.details(d);
  return { id: d.id, kind: d.kind, nickname: d.nickname, createdAt: d.createdAt, online: details.online, lastSeen: details.lastSeen };
}

export const deviceCommands: CommandSpec[] = [...DEVICE_KINDS.map(addCommand), list, show, remove];
