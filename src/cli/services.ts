/**
 * The use-case services for one CLI command: the same ones the daemon runs, on the data dir's
 * vault, with inline password hashing (a short-lived process may block) and blocking scrubs (the
 * command returns only once what it deleted is gone from the file). The command's bus has no
 * listeners: a running daemon hears of the change through its database watcher.
 */
import { DomainBus } from '../bus/bus.js';
import { ConsentService } from '../consent/service.js';
import { inlinePasswordHashing } from '../crypto/password.js';
import { DeviceService } from '../devices/service.js';
import { MemberService } from '../members/service.js';
import { openVault, type Vault } from '../store/vault.js';
import type { CommandContext } from './command.js';

export interface CliServices {
  vault: Vault;
  devices: DeviceService;
  members: MemberService;
  consent: ConsentService;
}

export async function withVault<T>(ctx: CommandContext, fn: (vault: Vault) => T | Promise<T>): Promise<T> {
  const config = ctx.config();
  const vault = await openVault(config.dataDir, ctx.env);
  try {
    return await fn(vault);
  } finally {
    vault.close();
  }
}

export async function withServices<T>(ctx: CommandContext, fn: (services: CliServices) => T | Promise<T>): Promise<T> {
  return withVault(ctx, (vault) => {
    const { db, sealer } = vault;
    const bus = new DomainBus();
    return fn({
      vault,
      devices: new DeviceService({ db, sealer, bus, passwords: inlinePasswordHashing(vault.sodium), scrub: 'blocking' }),
      members: new MemberService({ db, sealer, bus, scrub: 'blocking' }),
      consent: new ConsentService(db, bus),
    });
  });
}
