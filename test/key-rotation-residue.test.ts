/**
 * After `hearth key rotate` nothing sealed under the old key is left anywhere in the files: not in
 * free pages, not in old page images, not in WAL frames. Every sealed value is collected before
 * the rotation; then the raw bytes of the database and its WAL (every page, free or not, and every
 * frame) are searched for each of them: a ciphertext found byte for byte is one the old key opens
 * (a sealed value opens only with its row's identity, so a blind trial of the old key on every
 * window could not decide; the exact search can, and is checked to find them all beforehand).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CameraStore } from '../src/devices/camera/store.js';
import { DeviceRegistry, newDeviceId } from '../src/devices/registry.js';
import { SEALED_COLUMNS } from '../src/hub/catalog.js';
import { openVault } from '../src/store/vault.js';
import { cli, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

const NOW = Date.now();

function sealedValues(dataDir: string): Buffer[] {
  const db = new Database(join(dataDir, 'hearth.db'), { readonly: true });
  const out: Buffer[] = [];
  for (const col of SEALED_COLUMNS) {
    const where = [`${col.column} IS NOT NULL`, ...(col.where ? [col.where] : [])].join(' AND ');
    for (const row of db.prepare(`SELECT ${col.column} AS sealed FROM ${col.table} WHERE ${where}`).all() as { sealed: Buffer }[]) out.push(Buffer.from(row.sealed));
  }
  db.close();
  return out;
}

describe('key rotation leaves no old ciphertext behind', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('finds none of the pre-rotation sealed values in the database file or the WAL', async () => {
    const d = tempDir();
    dirs.push(d);
    const vault = await openVault(d.path, {}, { create: true });
    const registry = new DeviceRegistry(vault.db, vault.sealer);
    const cameras = new CameraStore(vault.db, vault.sealer);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(registry.add('camera', newDeviceId('cam'), `Camera number ${i}`).id);
    for (let n = 0; n < 600; n++) {
      cameras.writeBatch([{ kind: 'event', deviceId: ids[n % 6]!, event: { type: 'connect_failed', ts: NOW - n, detail: `detail ${n} ${'x'.repeat(n % 40)}` }, at: NOW }]);
      if (n % 50 === 0) cameras.writeBatch(ids.map((id, i) => ({ kind: 'status' as const, deviceId: id, status: { state: 'online' as const, ssid: `Net${i}-${n}`, ip: `10.0.0.${i}` }, at: NOW })));
    }
    // Some deletions too, so the file has free pages before the rotation.
    vault.db.prepare('DELETE FROM events WHERE id % 3 = 0').run();
    vault.close();

    const before = sealedValues(d.path);
    expect(before.length).toBeGreaterThan(400);
    const rawFiles = () => Buffer.concat(['hearth.db', 'hearth.db-wal'].map((f) => join(d.path, f)).filter(existsSync).map((p) => readFileSync(p)));
    // The search works: before the rotation it finds every value.
    const rawBefore = rawFiles();
    expect(before.filter((b) => rawBefore.includes(b.subarray(0, 32)))).toHaveLength(before.length);
    const res = cli(['key', 'rotate', '--json', '--data-dir', d.path]);
    expect(res.code, res.stderr).toBe(0);

    const raw = rawFiles();
    // Byte for byte: the version byte, the nonce and the first bytes of the ciphertext.
    const found = before.filter((b) => raw.includes(b.subarray(0, 32)));
    recordTally({ surface: 'key-rotation-residue', tried: before.length, refused: before.length - found.length, accepted: found.length, crashes: 0, dataLost: 0 });
    expect(found.length).toBe(0);
  });
});
