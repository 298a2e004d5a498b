/**
 * Key rotation: everything re-sealed, the old key opens nothing, and a kill at any moment leaves a
 * hub that opens with exactly one of the two keys and has lost nothing.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Sealer } from '../src/crypto/sealer.js';
import { loadSodium } from '../src/crypto/sodium.js';
import { CameraStore } from '../src/devices/camera/store.js';
import { DeviceRegistry, newDeviceId } from '../src/devices/registry.js';
import { SEALED_COLUMNS } from '../src/hub/catalog.js';
import { openVault } from '../src/store/vault.js';
import { BIN, baseEnv, cli, tempDir } from './helpers/hub.js';

const NOW = Date.now();

async function seedHub(dataDir: string, events: number): Promise<string[]> {
  const vault = await openVault(dataDir, {}, { create: true });
  const registry = new DeviceRegistry(vault.db, vault.sealer);
  const cameras = new CameraStore(vault.db, vault.sealer);
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push(registry.add('camera', newDeviceId('cam'), `Camera ${i}`).id);
  vault.db.transaction(() => {
    cameras.writeBatch(ids.map((id, i) => ({ kind: 'status' as const, deviceId: id, status: { state: 'online' as const, ssid: `Net${i}`, ip: `10.0.0.${i}` }, at: NOW })));
    for (let n = 0; n < events; n++) {
      cameras.writeBatch([{ kind: 'event', deviceId: ids[n % 3]!, event: { type: 'connect_failed', ts: NOW - n, detail: `detail ${n}` }, at: NOW }]);
    }
  })();
  vault.close();
  return ids;
}

/** Opens every sealed value with the given key; returns how many opened and how many did not. */
async function openAll(dataDir: string, key: Buffer): Promise<{ opened: number; failed: number }> {
  const sodium = await loadSodium();
  const sealer = new Sealer(sodium, key);
  const db = new Database(join(dataDir, 'hearth.db'), { readonly: true });
  let opened = 0;
  let failed = 0;
  for (const col of SEALED_COLUMNS) {
    const where = [`${col.column} IS NOT NULL`, ...(col.where ? [col.where] : [])].join(' AND ');
    for (const row of db.prepare(`SELECT ${col.keyColumns.join(', ')}, ${col.column} AS sealed FROM ${col.table} WHERE ${where}`).all() as Record<string, unknown>[]) {
      try {
        sealer.open(col.purpose, col.aad(row), row.sealed as Buffer);
        opened++;
      } catch {
        failed++;
      }
    }
  }
  db.close();
  return { opened, failed };
}

describe('hearth key rotate', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('re-seals every value; the old key opens nothing and is refused; data reads back', async () => {
    const d = tempDir();
    dirs.push(d);
    const ids = await seedHub(d.path, 50);
    const oldKey = readFileSync(join(d.path, 'hearth.key'));
    const total = await openAll(d.path, oldKey);
    expect(total.failed).toBe(0);

    const res = cli(['key', 'rotate', '--json', '--data-dir', d.path]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ rotated: true, resealed: total.opened });
    // Progress on stderr (not a terminal here: a line per tenth of each column), ending at 100 %.
    expect(res.stderr).toMatch(/^re-sealing events\.detail: \d+\/\d+ \(\d+ %\)$/m);
    expect(res.stderr).toMatch(/^re-sealing devices\.nickname: (\d+)\/\1 \(100 %\)$/m);
    const newKey = readFileSync(join(d.path, 'hearth.key'));
    expect(newKey.equals(oldKey)).toBe(false);
    expect(await openAll(d.path, oldKey)).toEqual({ opened: 0, failed: total.opened });
    expect(await openAll(d.path, newKey)).toEqual({ opened: total.opened, failed: 0 });
    expect(existsSync(join(d.path, 'hearth.key.new'))).toBe(false);

    const shown = JSON.parse(cli(['device', 'show', ids[1]!, '--json', '--data-dir', d.path]).stdout);
    expect(shown).toMatchObject({ nickname: 'Camera 1', ssid: 'Net1', ip: '10.0.0.1' });

    writeFileSync(join(d.path, 'hearth.key'), oldKey);
    expect(cli(['device', 'list', '--data-dir', d.path]).stderr).toMatch(/master key does not match/);
  });

  it('finishes a rotation that committed but was killed before swapping the key files', async () => {
    const d = tempDir();
    dirs.push(d);
    await seedHub(d.path, 5);
    const oldKey = readFileSync(join(d.path, 'hearth.key'));
    expect(cli(['key', 'rotate', '--data-dir', d.path]).code).toBe(0);
    // Recreate the on-disk state of a crash between the commit and the rename.
    copyFileSync(join(d.path, 'hearth.key'), join(d.path, 'hearth.key.new'));
    const newKey = readFileSync(join(d.path, 'hearth.key'));
    writeFileSync(join(d.path, 'hearth.key'), oldKey);
    expect(cli(['device', 'list', '--data-dir', d.path]).code).toBe(0);
    expect(readFileSync(join(d.path, 'hearth.key')).equals(newKey)).toBe(true);
    expect(existsSync(join(d.path, 'hearth.key.new'))).toBe(false);
  });

  it('survives being killed at random moments: always exactly one key opens everything', async () => {
    const d = tempDir();
    dirs.push(d);
    await seedHub(d.path, 20_000);
    const before = await openAll(d.path, readFileSync(join(d.path, 'hearth.key')));
    let completedOrRolledBack = 0;
    let rotated = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      const keyBefore = readFileSync(join(d.path, 'hearth.key'));
      const proc = spawn(process.execPath, [BIN, 'key', 'rotate', '--data-dir', d.path], { env: baseEnv(), stdio: 'ignore' });
      const exited = new Promise((r) => proc.once('exit', r));
      await new Promise((r) => setTimeout(r, 150 + attempt * 120));
      proc.kill('SIGKILL');
      await exited;
      // The next command (or daemon) sorts out whatever state the kill left.
      const list = cli(['device', 'list', '--data-dir', d.path]);
      expect(list.code, list.stderr).toBe(0);
      const keyAfter = readFileSync(join(d.path, 'hearth.key'));
      expect(await openAll(d.path, keyAfter)).toEqual(before);
      if (!keyAfter.equals(keyBefore)) {
        rotated++;
        expect((await openAll(d.path, keyBefore)).opened).toBe(0);
      }
      expect(existsSync(join(d.path, 'hearth.key.new'))).toBe(false);
      completedOrRolledBack++;
    }
    expect(completedOrRolledBack).toBe(6);
    console.log(`key rotation kill test: ${rotated} of 6 kills came after the commit`);
  });

  it('keeps the previous key (mode 0600, named by date) and says so; lookups by sealed values still work', async () => {
    const d = tempDir();
    dirs.push(d);
    await seedHub(d.path, 3);
    expect(cli(['member', 'add', 'Anna', '--data-dir', d.path]).code).toBe(0);
    expect(cli(['device', 'add', 'scale', 'C8:47:8C:12:34:56', 'Bathroom', '--data-dir', d.path]).code).toBe(0);
    const oldKey = readFileSync(join(d.path, 'hearth.key'));
    const oldFingerprint = JSON.parse(cli(['key', 'fingerprint', '--json', '--data-dir', d.path]).stdout).fingerprint as string;
    expect(oldFingerprint).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{8}){3}$/);

    const res = cli(['key', 'rotate', '--data-dir', d.path]);
    expect(res.code, res.stderr).toBe(0);
    const kept = readdirSync(d.path).filter((n) => n.startsWith('hearth.key.until-'));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^hearth\.key\.until-\d{8}T\d{6}Z$/);
    const keptPath = join(d.path, kept[0]!);
    expect(readFileSync(keptPath).equals(oldKey)).toBe(true);
    expect(statSync(keptPath).mode & 0o777).toBe(0o600);
    expect(res.stdout).toContain(`previous key kept as:     ${keptPath} (mode 0600; fingerprint ${oldFingerprint})`);
    expect(res.stdout).toMatch(/Backups taken before now are sealed with the previous key/);
    const newFingerprint = JSON.parse(cli(['key', 'fingerprint', '--json', '--data-dir', d.path]).stdout).fingerprint as string;
    expect(newFingerprint).not.toBe(oldFingerprint);
    expect(res.stdout).toContain(`new key fingerprint:      ${newFingerprint}`);
    expect(JSON.parse(cli(['key', 'fingerprint', '--json', '--key', keptPath, '--data-dir', d.path]).stdout).fingerprint).toBe(oldFingerprint);

    // Blind indexes follow the key: a member is still found by name, a scale by its address.
    const history = cli(['member', 'history', 'anna', '--json', '--data-dir', d.path]);
    expect(history.code, history.stderr).toBe(0);
    const again = cli(['device', 'add', 'scale', 'C8:47:8C:12:34:56', 'Twice', '--data-dir', d.path]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already/);

    // A second rotation keeps a second key, and never overwrites the first.
    expect(cli(['key', 'rotate', '--data-dir', d.path]).code).toBe(0);
    expect(readdirSync(d.path).filter((n) => n.startsWith('hearth.key.until-'))).toHaveLength(2);
    expect(readFileSync(keptPath).equals(oldKey)).toBe(true);
  });

  it('restores a backup taken before a rotation with the kept key, re-sealed under the current key; without it, names the key needed', async () => {
    const d = tempDir();
    dirs.push(d);
    const ids = await seedHub(d.path, 5);
    const backup = join(d.path, 'before.db');
    const made = cli(['backup', backup, '--data-dir', d.path]);
    expect(made.code, made.stderr).toBe(0);
    const oldFingerprint = JSON.parse(cli(['key', 'fingerprint', '--json', '--data-dir', d.path]).stdout).fingerprint as string;
    expect(readFileSync(`${backup}.key-fingerprint`, 'utf8')).toBe(`${oldFingerprint}\n`);
    expect(made.stdout).toContain(`it needs the master key with fingerprint ${oldFingerprint}`);

    expect(cli(['key', 'rotate', '--data-dir', d.path]).code).toBe(0);
    const kept = join(d.path, readdirSync(d.path).find((n) => n.startsWith('hearth.key.until-'))!);
    const current = readFileSync(join(d.path, 'hearth.key'));
    const newFingerprint = JSON.parse(cli(['key', 'fingerprint', '--json', '--data-dir', d.path]).stdout).fingerprint as string;

    // Without the kept key: refused, naming the fingerprint the backup needs and the current one.
    const aside = join(d.path, 'kept-elsewhere');
    copyFileSync(kept, aside);
    unlinkSync(kept);
    const before = readFileSync(join(d.path, 'hearth.db'));
    const refused = cli(['restore', backup, '--data-dir', d.path]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`sealed with the master key with fingerprint ${oldFingerprint}`);
    expect(refused.stderr).toContain(`has fingerprint ${newFingerprint}`);
    expect(refused.stderr).toMatch(/Nothing was replaced/);
    expect(readFileSync(join(d.path, 'hearth.db')).equals(before)).toBe(true);

    // With it back in place: restored, re-sealed under the current key, and it says which key it used.
    copyFileSync(aside, kept);
    const restored = cli(['restore', backup, '--data-dir', d.path]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`sealed with the previous key ${kept} (fingerprint ${oldFingerprint})`);
    expect(restored.stdout).toContain(`re-sealed under the current key (fingerprint ${newFingerprint})`);
    const total = await openAll(d.path, current);
    expect(total.failed).toBe(0);
    expect(total.opened).toBeGreaterThan(0);
    expect(JSON.parse(cli(['device', 'show', ids[0]!, '--json', '--data-dir', d.path]).stdout)).toMatchObject({ nickname: 'Camera 0', ssid: 'Net0' });
    // A backup of the restored database now names the current key.
    const after = join(d.path, 'after.db');
    expect(cli(['backup', after, '--data-dir', d.path]).code).toBe(0);
    expect(readFileSync(`${after}.key-fingerprint`, 'utf8').trim()).toBe(newFingerprint);
  });

  it('refuses while the daemon runs', async () => {
    const d = tempDir();
    dirs.push(d);
    await seedHub(d.path, 1);
    writeFileSync(join(d.path, 'hearth.pid'), `${process.pid}\n`);
    const res = cli(['key', 'rotate', '--data-dir', d.path]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/already running/);
  });

  it('lists every sealed BLOB column of the schema', async () => {
    const d = tempDir();
    dirs.push(d);
    await seedHub(d.path, 1);
    const db = new Database(join(d.path, 'hearth.db'), { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    const blobColumns: string[] = [];
    for (const t of tables) for (const c of db.prepare(`PRAGMA table_info(${t})`).all() as { name: string; type: string }[]) if (c.type === 'BLOB') blobColumns.push(`${t}.${c.name}`);
    db.close();
    const { UNSEALED_BLOB_COLUMNS } = await import('../src/store/sealed-columns.js');
    const covered = new Set([...SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`), ...Object.keys(UNSEALED_BLOB_COLUMNS)]);
    expect(blobColumns.filter((c) => !covered.has(c))).toEqual([]);
  });
});
