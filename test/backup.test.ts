/**
 * `hearth backup` while a real daemon ingests camera messages, and `hearth restore` into a fresh
 * data dir: the copy is consistent, sealed, key-less and only restores with the right key.
 */
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { backupDatabase, type BackupProgress } from '../src/store/backup.js';
import { baseEnv, BIN, cli, enrolCamera, publishAcked, ROOT, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const NOW = Date.now();

function cliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('hearth backup / restore', () => {
  const dirs: { cleanup(): void }[] = [];
  const daemons: DaemonHandle[] = [];
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
    dirs.splice(0).forEach((d) => d.cleanup());
  });

  it('backs up while the daemon ingests; the copy restores with the same key, sealed and without the key', async () => {
    const d = tempDir();
    dirs.push(d);
    const hub = join(d.path, 'hub');
    const canaries = { nickname: 'CanaryNick-Attic', ssid: 'CanarySSID-4410' };
    expect(cli(['init', '--data-dir', hub]).code).toBe(0);
    const cam = enrolCamera(hub, canaries.nickname);
    const dmn = await startDaemon(hub);
    daemons.push(dmn);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${dmn.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: canaries.ssid, model: 'Cam-1', firmware: '1.2.3' }));
    // Motion events keep arriving during the backup.
    let acked = 0;
    let stop = false;
    const ingest = (async () => {
      for (let n = 0; !stop; n++) {
        await publishAcked(client, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW - n }));
        acked++;
      }
    })();
    while (acked < 20) await new Promise((r) => setTimeout(r, 10));

    const file = join(d.path, 'hub-backup.db');
    // Run without blocking this process, so messages keep flowing while the copy is taken.
    const ackedAtBackup = acked;
    const res = await cliAsync(['backup', file, '--json', '--data-dir', hub]);
    expect(acked).toBeGreaterThan(ackedAtBackup);
    expect(res.code, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ path: file });
    stop = true;
    await ingest;
    client.end(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // A second backup to the same name is refused (and leaves the first intact), then allowed with --force.
    const first = readFileSync(file);
    const again = cli(['backup', file, '--data-dir', hub]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already exists; pass --force/);
    expect(readFileSync(file).equals(first)).toBe(true);
    const later = join(d.path, 'later.db');
    expect(cli(['backup', later, '--data-dir', hub]).code).toBe(0);
    expect(cli(['backup', later, '--force', '--data-dir', hub]).code).toBe(0);
    const copy = file;

    // The copy is one self-contained file, intact, and its personal values are sealed.
    expect(existsSync(`${copy}-wal`)).toBe(false);
    const bytes = readFileSync(copy);
    for (const value of Object.values(canaries)) expect(bytes.includes(Buffer.from(value)), value).toBe(false);
    expect(bytes.includes(readFileSync(join(hub, 'hearth.key')))).toBe(false);
    const raw = new Database(copy, { readonly: true });
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();

    // Restore is refused while the daemon runs, and nothing changes.
    const busy = cli(['restore', copy, '--data-dir', hub]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/already running.*stop it first/);
    expect(existsSync(join(hub, 'hearth.db.before-restore'))).toBe(false);
    expect(await dmn.stop()).toBe(0);

    // Into a fresh data dir holding the same key: devices and camera state are back.
    const fresh = join(d.path, 'fresh');
    mkdirSync(fresh, { mode: 0o700 });
    copyFileSync(join(hub, 'hearth.key'), join(fresh, 'hearth.key'));
    const restored = cli(['restore', copy, '--data-dir', fresh]);
    expect(restored.code, restored.stderr).toBe(0);
    const devices = JSON.parse(cli(['device', 'list', '--json', '--data-dir', fresh]).stdout) as { id: string; nickname: string }[];
    expect(devices.map((x) => [x.id, x.nickname])).toEqual([[cam.id, canaries.nickname]]);
    const shown = JSON.parse(cli(['device', 'show', cam.id, '--json', '--data-dir', fresh]).stdout);
    expect(shown).toMatchObject({ nickname: canaries.nickname, ssid: canaries.ssid, model: 'Cam-1', firmware: '1.2.3' });
    // Every event acknowledged before the backup started is in it (a consistent snapshot).
    const db = new Database(join(fresh, 'hearth.db'), { readonly: true });
    expect(db.prepare("SELECT count(*) FROM events WHERE device_id = ? AND type = 'motion'").pluck().get(cam.id) as number).toBeGreaterThanOrEqual(ackedAtBackup);
    db.close();

    // Restoring over an existing database keeps the old one aside.
    expect(cli(['restore', later, '--data-dir', fresh]).code).toBe(0);
    expect(existsSync(join(fresh, 'hearth.db.before-restore'))).toBe(true);
    // ... and a third restore will not overwrite that kept copy.
    const third = cli(['restore', later, '--data-dir', fresh]);
    expect(third.code).not.toBe(0);
    expect(third.stderr).toMatch(/left from an earlier restore/);
  });

  it('refuses a backup sealed with another key, and a file that is not a backup, replacing nothing', () => {
    const d = tempDir();
    dirs.push(d);
    const a = join(d.path, 'a');
    const b = join(d.path, 'b');
    expect(cli(['init', '--data-dir', a]).code).toBe(0);
    enrolCamera(a, 'Porch');
    expect(cli(['init', '--data-dir', b]).code).toBe(0);
    enrolCamera(b, 'Garden');
    const file = join(d.path, 'a.db');
    expect(cli(['backup', file, '--data-dir', a]).code).toBe(0);

    const before = readFileSync(join(b, 'hearth.db'));
    const wrong = cli(['restore', file, '--data-dir', b]);
    expect(wrong.code).toBe(1);
    const fingerprintOf = (dir: string) => JSON.parse(cli(['key', 'fingerprint', '--json', '--data-dir', dir]).stdout).fingerprint as string;
    expect(wrong.stderr).toContain(`sealed with the master key with fingerprint ${fingerprintOf(a)}; the current key ${join(b, 'hearth.key')} has fingerprint ${fingerprintOf(b)}`);
    expect(wrong.stderr).toMatch(/Nothing was replaced/);
    expect(readFileSync(join(b, 'hearth.db')).equals(before)).toBe(true);
    expect(existsSync(join(b, 'hearth.db.before-restore'))).toBe(false);

    const junk = join(d.path, 'junk.db');
    writeFileSync(junk, Buffer.alloc(8192, 0x41));
    const notDb = cli(['restore', junk, '--data-dir', b]);
    expect(notDb.code).toBe(1);
    expect(notDb.stderr).toMatch(/not a readable SQLite database.*nothing was replaced/);
    expect(readFileSync(join(b, 'hearth.db')).equals(before)).toBe(true);
    // Never over the live database itself, even with --force.
    const self = cli(['backup', join(b, 'hearth.db'), '--force', '--data-dir', b]);
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/cannot be written over the live database/);
    // A folder that cannot take the file: a clear reason, not a stack trace.
    const unwritable = cli(['backup', '/proc/hearth-backup.db', '--data-dir', b]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/cannot write a backup in \/proc/);
    expect(cli(['device', 'list', '--json', '--data-dir', b]).code).toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)('run as root, restore leaves the database to the data dir\'s owner', () => {
    const d = tempDir();
    dirs.push(d);
    const hub = join(d.path, 'hub');
    expect(cli(['init', '--data-dir', hub]).code).toBe(0);
    enrolCamera(hub, 'Porch');
    const file = join(d.path, 'hub.db');
    expect(cli(['backup', file, '--data-dir', hub]).code).toBe(0);
    // The data dir as the service user's (nobody here), the command run as root.
    const nobody = 65534;
    for (const f of ['', ...readdirSync(hub)]) chownSync(join(hub, f), nobody, nobody);
    const res = cli(['restore', file, '--data-dir', hub]);
    expect(res.code, res.stderr).toBe(0);
    expect(statSync(join(hub, 'hearth.db')).uid).toBe(nobody);
    expect(statSync(join(hub, 'hearth.db')).gid).toBe(nobody);
    expect(statSync(join(hub, 'hearth.db')).mode & 0o777).toBe(0o600);
  });

  it('reports progress step by step and copies the one snapshot it began with while the database changes between steps', async () => {
    const d = tempDir();
    dirs.push(d);
    expect(cli(['init', '--data-dir', d.path]).code).toBe(0);
    // A writer on another connection, as the daemon would be.
    const writer = new Database(join(d.path, 'hearth.db'));
    writer.exec('CREATE TABLE IF NOT EXISTS filler (id INTEGER PRIMARY KEY, pad BLOB) STRICT');
    const insert = writer.prepare('INSERT INTO filler (pad) VALUES (randomblob(3000))');
    for (let i = 0; i < 200; i++) insert.run();
    const seen: BackupProgress[] = [];
    const result = await backupDatabase(d.path, join(d.path, 'copy.db'), {
      pagesPerStep: 8,
      onProgress: (p) => {
        seen.push(p);
        insert.run(); // a commit between steps, as the daemon's cameras make them
      },
    });
    const rowsNow = writer.prepare('SELECT count(*) FROM filler').pluck().get() as number;
    writer.close();
    // No step started over: the pages remaining only go down, one step at a time.
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.remainingPages).toBeLessThan(seen[i - 1]!.remainingPages);
    expect(seen.at(-1)!.remainingPages).toBe(0);
    expect(result.pages).toBeGreaterThan(150);
    expect(rowsNow).toBeGreaterThan(200 + 3);
    const copy = new Database(join(d.path, 'copy.db'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    // Exactly the rows there were when the copy began, none of those written during it.
    expect(copy.prepare('SELECT count(*) FROM filler').pluck().get() as number).toBe(200);
    copy.close();
  });

  it('shows progress on stderr for a large database only, keeping stdout for the result', () => {
    const d = tempDir();
    dirs.push(d);
    expect(cli(['init', '--data-dir', d.path]).code).toBe(0);
    const small = cli(['backup', join(d.path, 'small.db'), '--data-dir', d.path]);
    expect(small.code, small.stderr).toBe(0);
    expect(small.stderr).not.toMatch(/pages remaining/);
    // About 6 MB: several backup steps of 1,024 pages.
    const writer = new Database(join(d.path, 'hearth.db'));
    writer.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, pad BLOB) STRICT');
    const insert = writer.prepare('INSERT INTO filler (pad) VALUES (randomblob(3000))');
    writer.transaction(() => {
      for (let i = 0; i < 2000; i++) insert.run();
    })();
    writer.close();
    const large = cli(['backup', join(d.path, 'large.db'), '--data-dir', d.path]);
    expect(large.code, large.stderr).toBe(0);
    const lines = large.stderr.split('\n').filter((l) => /pages remaining/.test(l));
    expect(lines.length, large.stderr).toBeGreaterThanOrEqual(2);
    const counts = lines.map((l) => /backup: (\d+) of (\d+) pages remaining/.exec(l)!.slice(1).map(Number));
    expect(counts.at(-1)![0]).toBe(0);
    expect(counts[0]![1]).toBeGreaterThan(1024);
    expect(large.stdout).toMatch(/backup written: .*large\.db .*integrity ok/);
    expect(large.stdout).not.toMatch(/pages remaining/);
  });

  it('scripts/backup.sh writes dated backups and keeps the newest ones', () => {
    const d = tempDir();
    dirs.push(d);
    const hub = join(d.path, 'hub');
    const out = join(d.path, 'backups');
    expect(cli(['init', '--data-dir', hub]).code).toBe(0);
    // Older backups by name; --keep 2 leaves the new one and the newest old one.
    mkdirSync(out, { mode: 0o700 });
    for (const name of ['hearth-20200101T000000Z.db', 'hearth-20210101T000000Z.db']) {
      writeFileSync(join(out, name), 'old');
      writeFileSync(join(out, `${name}.key-fingerprint`), '00000000-00000000-00000000-00000000\n');
    }
    const res = spawnSync('sh', [join(ROOT, 'scripts', 'backup.sh'), '--dir', out, '--keep', '2', '--data-dir', hub], {
      env: { ...baseEnv(), HEARTH_NODE: process.execPath },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    // Each backup with the fingerprint of the key it needs beside it; a removed backup's goes with it.
    const all = readdirSync(out).sort();
    const kept = all.filter((n) => n.endsWith('.db'));
    expect(kept).toHaveLength(2);
    expect(kept).toContain('hearth-20210101T000000Z.db');
    expect(all.filter((n) => n.endsWith('.key-fingerprint')).sort()).toEqual(kept.map((n) => `${n}.key-fingerprint`).sort());
    const fresh = kept.find((n) => !n.startsWith('hearth-2021'))!;
    expect(fresh).toMatch(/^hearth-\d{8}T\d{6}Z\.db$/);
    expect(statSync(join(out, fresh)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, `${fresh}.key-fingerprint`), 'utf8')).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{8}){3}\n$/);
  });
});

