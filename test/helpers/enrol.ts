/** Enrolment in tests goes through the same use case as the CLI and the web UI. */
import { DomainBus } from '../../src/bus/bus.js';
import { inlinePasswordHashing } from '../../src/crypto/password.js';
import type { DeviceRecord } from '../../src/devices/registry.js';
import { DeviceService } from '../../src/devices/service.js';
import type { Vault } from '../../src/store/vault.js';

export function deviceService(vault: Pick<Vault, 'db' | 'sealer' | 'sodium'>, bus = new DomainBus()): DeviceService {
  return new DeviceService({ db: vault.db, sealer: vault.sealer, bus, passwords: inlinePasswordHashing(vault.sodium), scrub: 'blocking' });
}

export async function enrolScale(vault: Pick<Vault, 'db' | 'sealer' | 'sodium'>, address: string, nickname: string): Promise<DeviceRecord> {
  return (await deviceService(vault).enrol('scale', { address, nickname })).device;
}
