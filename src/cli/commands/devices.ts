/**
 * `hearth device ...`: enrol, list, show and remove devices. Works while the daemon runs (WAL):
 * the daemon notices a removal within a second and disconnects the device.
 */
import { storedDeviceRefusal } from '../../store/counters.js';
import { generateDevicePassword, hashPassword } from '../../crypto/password.js';
import { CameraStore } from '../../devices/camera/store.js';
import { DeviceRegistry, nicknameProblem, type DeviceRecord } from '../../devices/registry.js';
import { openVault, type Vault } from '../../store/vault.js';
import { UsageError, type CommandContext, type CommandSpec } from '../command.js';

export async function withVault<T>(ctx: CommandContext, fn: (vault: Vault) => T | Promise<T>): Promise<T> {
  const config = ctx.config();
  const vault = await openVault(config.dataDir, ctx.env);
  try {
    return await fn(vault);
  } finally {
    vault.close();
  }
}

const addCamera: CommandSpec = {
  name: 'device add camera',
  usage: '<nickname> [--json]',
  summary: 'enrol a camera; prints its MQTT username and password once',
  async run(ctx) {
    const nickname = ctx.args.join(' ');
    const problem = nicknameProblem(nickname);
    if (problem) throw new UsageError(problem);
    return withVault(ctx, (vault) => {
      const password = generateDevicePassword();
      const device = new DeviceRegistry(vault.db, vault.sealer).add('camera', nickname, { secretHash: hashPassword(vault.sodium, password, 'device') });
      if (ctx.flags.json) {
        ctx.out(JSON.stringify({ id: device.id, kind: device.kind, username: device.id, password }));
      } else {
        ctx.out(`camera enrolled: ${device.id}`);
        ctx.out(`  MQTT username: ${device.id}`);
        ctx.out(`  MQTT password: ${password}`);
        ctx.out(`  publish to: hearth/cam/${device.id}/status and hearth/cam/${device.id}/event`);
        ctx.out('The password is shown only now; the hub keeps only a hash of it.');
      }
      return 0;
    });
  },
};

const list: CommandSpec = {
  name: 'device list',
  usage: '[--json]',
  summary: 'list enrolled devices',
  async run(ctx) {
    return withVault(ctx, (vault) => {
      const registry = new DeviceRegistry(vault.db, vault.sealer);
      const cameras = new CameraStore(vault.db, vault.sealer);
      const rows = registry.list().map((d) => summarize(d, d.kind === 'camera' ? cameras.view(d.id) : undefined));
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
    return withVault(ctx, (vault) => {
      const device = new DeviceRegistry(vault.db, vault.sealer).get(id);
      if (!device) throw new UsageError(`no device with id ${id}`, 1);
      // The last refused input (reason code, time, count); a running hub writes it within 10 s.
      const view = device.kind === 'camera' ? { ...new CameraStore(vault.db, vault.sealer).view(id), lastRefusal: storedDeviceRefusal(vault.db, id) } : {};
      const out = { ...view, id: device.id, kind: device.kind, nickname: device.nickname, createdAt: device.createdAt };
      if (ctx.flags.json) ctx.out(JSON.stringify(out));
      else for (const [k, v] of Object.entries(out)) ctx.out(`${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
      return 0;
    });
  },
};

const remove: CommandSpec = {
  name: 'device remove',
  usage: '<id>',
  summary: 'remove a device and everything stored about it (a running hub disconnects it)',
  async run(ctx) {
    const id = requireId(ctx);
    return withVault(ctx, (vault) => {
      if (!new DeviceRegistry(vault.db, vault.sealer).remove(id)) throw new UsageError(`no device with id ${id}`, 1);
      ctx.out(`removed ${id}`);
      return 0;
    });
  },
};

function requireId(ctx: CommandContext): string {
  const id = ctx.args[0];
  if (!id || ctx.args.length > 1) throw new UsageError('give exactly one device id');
  return id;
}

function summarize(d: DeviceRecord, camera?: { online: boolean; lastSeen: number | null }) {
  return { id: d.id, kind: d.kind, nickname: d.nickname, createdAt: d.createdAt, online: camera ? camera.online : null, lastSeen: camera?.lastSeen ?? null };
}

export const deviceCommands: CommandSpec[] = [addCamera, list, show, remove];
