/**
 * A camera store on a fresh vault (real SQLite file) with `cameras` enrolled, for the store's own
 * tests. `cleanups` gets what closes and removes it.
 */
import { CameraStore, type CameraRecord } from '../../src/devices/camera/store.js';
import { DeviceRegistry, newDeviceId } from '../../src/devices/registry.js';
import { openVault, type Vault } from '../../src/store/vault.js';
import { tempDir } from './hub.js';

export interface CameraStoreRig {
  vault: Vault;
  registry: DeviceRegistry;
  store: CameraStore;
  ids: string[];
  /** Writes one batch in its own transaction, as the hub's group committer does. */
  write(records: CameraRecord[]): void;
}

export async function cameraStoreRig(cleanups: (() => void)[], cameras: number): Promise<CameraStoreRig> {
  const dir = tempDir();
  const vault = await openVault(dir.path, {}, { create: true });
  cleanups.push(() => {
    vault.close();
    dir.cleanup();
  });
  const registry = new DeviceRegistry(vault.db, vault.sealer);
  const ids = Array.from({ length: cameras }, (_, i) => registry.add('camera', newDeviceId('cam'), `Camera ${i}`).id);
  const store = new CameraStore(vault.db, vault.sealer);
  const batch = vault.db.transaction((records: CameraRecord[]) => store.writeBatch(records));
  return { vault, registry, store, ids, write: (records) => batch.immediate(records) };
}
