/**
 * scripts/install.sh and scripts/uninstall.sh run for real against a throwaway root (--root): the
 * app with production dependencies only, the service user and groups in the root's own account
 * files, the unit, the key and the data dir with their modes; an upgrade keeps key and data byte for
 * byte; the installed app runs from its own node_modules; uninstall keeps the data unless --purge.
 * The host's accounts and /opt are left alone.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, ROOT, tempDir } from './helpers/hub.js';

const isRoot = process.getuid?.() === 0;
const INSTALL = join(ROOT, 'scripts', 'install.sh');
const UNINSTALL = join(ROOT, 'scripts', 'uninstall.sh');

/** Runs a script without blocking the test worker (a first install compiles native modules for a minute). */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/bash', [script, ...args], { env: { ...baseEnv(), HEARTH_NODE: process.execPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 280_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The installed app, run with the installed tree only (its own node_modules, no repo paths). */
function installedCli(root: string, args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [join(root, 'opt/hearth/bin/hearth.js'), ...args], {
    cwd: join(root, 'opt/hearth'),
    env: { ...baseEnv(), NODE_PATH: '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

function account(root: string, file: 'passwd' | 'group', name: string): string[] | undefined {
  return readFileSync(join(root, 'etc', file), 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

describe('the install scripts', () => {
  it('pass shellcheck', () => {
    const inDir = (dir: string) => readdirSync(join(ROOT, dir)).filter((f) => f.endsWith('.sh')).map((f) => join(ROOT, dir, f));
    const scripts = [...inDir('scripts'), ...inDir('scripts/lib')];
    expect(scripts.length).toBeGreaterThanOrEqual(5);
    // -x follows the scripts' `source` of their shared library.
    const res = spawnSync('shellcheck', ['-x', ...scripts], { encoding: 'utf8' });
    if (res.error) throw new Error('shellcheck is missing: install it with `apt-get install -y shellcheck`');
    expect(res.stdout + res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});

describe.skipIf(!isRoot)('scripts/install.sh into a throwaway root', () => {
  // Created when the first test runs, so a skipped or filtered run leaves nothing behind.
  let tmp: { path: string; cleanup(): void } = { path: '', cleanup: () => {} };
  let root = '';
  beforeAll(() => {
    tmp = tempDir('hearth-install-');
    root = join(tmp.path, 'root');
  });
  const hostPasswd = sha('/etc/passwd');
  const hostGroup = sha('/etc/group');
  const hostHasApp = existsSync('/opt/hearth');
  afterAll(() => tmp.cleanup());

  it('refuses a Node outside package.json engines, before writing anything', async () => {
    mkdirSync(root);
    const preload = join(tmp.path, 'old-node.cjs');
    writeFileSync(preload, "Object.defineProperty(process.versions, 'node', { value: '18.20.0' });\n");
    const fakeNode = join(tmp.path, 'node');
    writeFileSync(fakeNode, `#!/bin/sh\nexec ${process.execPath} -r ${preload} "$@"\n`, { mode: 0o755 });
    const old = await run(INSTALL, ['--root', root, '--no-build'], { HEARTH_NODE: fakeNode });
    expect(old.code).not.toBe(0);
    expect(old.out).toMatch(/Node 18\.20\.0 is too old or too new; hearth needs node >=20/);
    // The unit runs one fixed Node; one found elsewhere on PATH is not good enough.
    const absent = await run(INSTALL, ['--root', root, '--no-build'], { HEARTH_NODE: join(tmp.path, 'no-node') });
    expect(absent.code).not.toBe(0);
    expect(absent.out).toMatch(/Node\.js is at .* but the service runs .*no-node/);
    expect(readdirSync(root)).toEqual([]);
  });

  let keyHash = '';
  let dbHash = '';

  it('installs app, production dependencies, user, groups, unit, key and data dir', { timeout: 300_000 }, async () => {
    const res = await run(INSTALL, ['--root', root, '--no-build']);
    expect(res.code, res.out).toBe(0);
    const app = join(root, 'opt/hearth');
    for (const f of ['package.json', 'package-lock.json', 'bin/hearth.js', 'bin/hearth-backup', 'dist/cli/main.js', 'schemas/report.schema.json', 'docs/install.md']) {
      expect(existsSync(join(app, f)), f).toBe(true);
    }
    if (existsSync(join(ROOT, 'src/web/assets'))) {
      expect(readdirSync(join(app, 'src/web/assets')).sort()).toEqual(readdirSync(join(ROOT, 'src/web/assets')).sort());
    }
    // Production dependencies only, native modules built.
    const deps = readdirSync(join(app, 'node_modules'));
    for (const dev of ['vitest', 'typescript', 'playwright-core']) expect(deps, dev).not.toContain(dev);
    expect(existsSync(join(app, 'node_modules/@types/better-sqlite3'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
    expect(statSync(app).uid).toBe(0);

    // Accounts in the root's own files, not the host's.
    const user = account(root, 'passwd', 'hearth');
    expect(user).toBeDefined();
    expect(user![6]).toBe('/usr/sbin/nologin');
    for (const g of ['gpio', 'bluetooth']) expect(account(root, 'group', g)?.[3]?.split(',')).toContain('hearth');
    expect(sha('/etc/passwd')).toBe(hostPasswd);
    expect(sha('/etc/group')).toBe(hostGroup);
    expect(existsSync('/opt/hearth')).toBe(hostHasApp);

    const data = join(root, 'var/lib/hearth');
    expect(mode(data)).toBe(0o700);
    expect(statSync(data).uid).toBe(Number(user![2]));
    expect(statSync(data).gid).toBe(Number(user![3]));
    const key = join(root, 'etc/hearth/hearth.key');
    expect(mode(join(root, 'etc/hearth'))).toBe(0o700);
    expect(mode(key)).toBe(0o600);
    expect(statSync(key).uid).toBe(0);
    expect(statSync(key).size).toBe(32);
    // Without systemd in the root, the key stays a plain credential the unit names.
    expect(existsSync(join(root, 'etc/systemd/system/hearth.service.d/credential.conf'))).toBe(false);
    const unit = readFileSync(join(root, 'etc/systemd/system/hearth.service'), 'utf8');
    expect(unit).toBe(readFileSync(join(ROOT, 'systemd/hearth.service'), 'utf8'));
    expect(unit).toMatch(/^LoadCredential=hearth\.key:\/etc\/hearth\/hearth\.key$/m);
    expect(mode(join(root, 'etc/systemd/system/hearth.service'))).toBe(0o644);
    expect(mode(join(root, 'usr/local/bin/hearth'))).toBe(0o755);
    // Enabled the way `systemctl enable` does it, so an image starts the hub on its first boot.
    expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/hearth.service'))).toBe('/etc/systemd/system/hearth.service');
    // The daily backup units are in place but left off; their folder belongs to the service user.
    for (const f of ['hearth-backup.service', 'hearth-backup.timer']) {
      expect(readFileSync(join(root, 'etc/systemd/system', f), 'utf8')).toBe(readFileSync(join(ROOT, 'systemd', f), 'utf8'));
    }
    expect(existsSync(join(root, 'etc/systemd/system/timers.target.wants'))).toBe(false);
    const backups = join(root, 'var/backups/hearth');
    expect(mode(backups)).toBe(0o700);
    expect(statSync(backups).uid).toBe(Number(user![2]));

    expect(res.out).toMatch(/systemctl daemon-reload && systemctl enable --now hearth\.service/);
    const url = /web UI: http:\/\/([^/:]+):(\d+)\//.exec(res.out);
    expect(url, res.out).not.toBeNull();
    expect(url![1]).not.toMatch(/^127\./);
    expect(url![2]).toBe('8080');
    keyHash = sha(key);
  });

  it('runs from the installed tree with the installed key as its credential', async () => {
    const data = join(root, 'var/lib/hearth');
    const env = { CREDENTIALS_DIRECTORY: join(root, 'etc/hearth') };
    const init = installedCli(root, ['init', '--data-dir', data], env);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/systemd credential/);
    expect(existsSync(join(data, 'hearth.key'))).toBe(false); // the key stays in /etc/hearth
    const add = installedCli(root, ['device', 'add', 'camera', 'Porch', '--json', '--data-dir', data], env);
    expect(add.code, add.stderr).toBe(0);

    // The daemon itself starts and serves the web UI's assets from the installed tree.
    const dmn = spawn(process.execPath, [join(root, 'opt/hearth/bin/hearth.js'), 'start', '--data-dir', data, '--mqtt-port', '0', '--http-port', '0', '--mqtt-host', '127.0.0.1', '--http-host', '127.0.0.1'], {
      cwd: join(root, 'opt/hearth'),
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    dmn.stdout.on('data', (b: Buffer) => (out += b.toString()));
    dmn.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((resolve) => dmn.once('exit', resolve));
    try {
      const deadline = Date.now() + 20_000;
      while (!/web UI:\s+http:\/\/[^:]+:(\d+)/.test(out) && Date.now() < deadline && dmn.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const port = /web UI:\s+http:\/\/[^:]+:(\d+)/.exec(out)?.[1];
      expect(port, out).toBeDefined();
      expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
      // The web UI's static files are read from the installed tree at run time.
      if (existsSync(join(ROOT, 'src/web/assets/hearth.css'))) expect((await fetch(`http://127.0.0.1:${port}/assets/hearth.css`)).status).toBe(200);
    } finally {
      dmn.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
    dbHash = sha(join(data, 'hearth.db'));
  });

  it('upgrades in place on a second run, keeping key and data byte for byte', { timeout: 120_000 }, async () => {
    const app = join(root, 'opt/hearth');
    const data = join(root, 'var/lib/hearth');
    // An older version's leftovers must not survive the upgrade.
    writeFileSync(join(app, 'dist/removed-module.js'), 'export {};\n');
    writeFileSync(join(app, 'package.json'), '{"name":"hearth","version":"0.0.1"}\n');
    const dataFiles = readdirSync(data).sort();
    const started = Date.now();
    const res = await run(INSTALL, ['--root', root, '--no-build']);
    expect(res.code, res.out).toBe(0);
    expect(res.out).toMatch(/upgrading \/opt\/hearth/);
    expect(res.out).toMatch(/dependencies unchanged; keeping them/);
    expect(res.out).toMatch(/keeping the existing master key/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(existsSync(join(app, 'dist/removed-module.js'))).toBe(false);
    expect(readFileSync(join(app, 'package.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(sha(join(root, 'etc/hearth/hearth.key'))).toBe(keyHash);
    expect(sha(join(data, 'hearth.db'))).toBe(dbHash);
    expect(readdirSync(data).sort()).toEqual(dataFiles);
    expect(mode(data)).toBe(0o700);
    expect(readFileSync(join(root, 'etc/passwd'), 'utf8').match(/^hearth:/gm)).toHaveLength(1);
    expect(readdirSync(join(root, 'opt'))).toEqual(['hearth']); // no staging leftovers
    const list = installedCli(root, ['device', 'list', '--json', '--data-dir', data], { CREDENTIALS_DIRECTORY: join(root, 'etc/hearth') });
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { nickname: string }[]).map((d) => d.nickname)).toEqual(['Porch']);
  });

  it('the admin command runs the CLI as the service user with a throwaway copy of the key; backup and restore as documented', async () => {
    // A private mount namespace shows the installed root's accounts, /etc/hearth and /opt/hearth at
    // their real paths (read-only overlays over the host's), the root's /var/lib writable, and a
    // private /run; the host sees none of it.
    const work = join(tmp.path, 'overlay-work');
    mkdirSync(work);
    // The earlier steps ran the app as root; under the service the files are the hearth user's.
    const user = account(root, 'passwd', 'hearth')!;
    const data = join(root, 'var/lib/hearth');
    for (const f of readdirSync(data)) chownSync(join(data, f), Number(user[2]), Number(user[3]));
    const script = [
      'set -e',
      'mount -t overlay hearth-etc -o "lowerdir=$R/etc:/etc" /etc',
      'mount -t overlay hearth-opt -o "lowerdir=$R/opt:/opt" /opt',
      'mount -t overlay hearth-var -o "lowerdir=/var/lib,upperdir=$R/var/lib,workdir=$W" /var/lib',
      'mount -t tmpfs hearth-run /run',
      '"$R/usr/local/bin/hearth" device list --json',
      '"$R/usr/local/bin/hearth" backup /var/lib/hearth/admin-backup.db --json',
      'echo "run after: [$(ls -A /run)]"',
      // The documented backup and restore: hearth-backup as root (it drops to the service user),
      // then `hearth restore` straight from the backups folder with the service stopped.
      'mount --bind "$R/var/backups" /var/backups',
      '/opt/hearth/bin/hearth-backup >/dev/null',
      'set -- /var/backups/hearth/hearth-*.db',
      '"$R/usr/local/bin/hearth" restore "$1" --json',
      '"$R/usr/local/bin/hearth" device list --json',
    ].join('\n');
    const res = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
        env: { ...baseEnv(), R: root, W: work, HEARTH_NODE: process.execPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.once('exit', (code) => resolve({ code, out, err }));
    });
    expect(res.code, res.err).toBe(0);
    const lines = res.out.trim().split('\n');
    expect((JSON.parse(lines[0]!) as { nickname: string }[]).map((d) => d.nickname)).toEqual(['Porch']);
    expect(JSON.parse(lines[1]!)).toMatchObject({ path: '/var/lib/hearth/admin-backup.db' });
    expect(lines[2]).toBe('run after: []'); // the key's copy is gone
    expect(lines).toHaveLength(5);
    expect(JSON.parse(lines[3]!)).toMatchObject({ restored: true, previous: '/var/lib/hearth/hearth.db.before-restore' });
    expect((JSON.parse(lines[4]!) as { nickname: string }[]).map((d) => d.nickname)).toEqual(['Porch']);
    const backups = readdirSync(join(root, 'var/backups/hearth')).sort();
    const dated = backups.filter((n) => n.endsWith('.db'));
    expect(dated).toHaveLength(1);
    expect(backups).toEqual([dated[0], `${dated[0]}.key-fingerprint`]); // the key it needs, named beside it
    expect(statSync(join(root, 'var/backups/hearth', dated[0]!)).uid).toBe(Number(user[2]));
    // Written as the service user, so the daemon can use it; the key never lands in the data dir.
    const backup = join(root, 'var/lib/hearth/admin-backup.db');
    expect(statSync(backup).uid).toBe(Number(user[2]));
    expect(mode(backup)).toBe(0o600);
    expect(existsSync(join(root, 'var/lib/hearth/hearth.key'))).toBe(false);
    // The database that was replaced is kept byte for byte; the restored one is the service user's.
    expect(sha(join(root, 'var/lib/hearth/hearth.db.before-restore'))).toBe(dbHash);
    expect(statSync(join(root, 'var/lib/hearth/hearth.db')).uid).toBe(Number(user[2]));
    dbHash = sha(join(root, 'var/lib/hearth/hearth.db'));
    expect(sha('/etc/passwd')).toBe(hostPasswd);
  });

  it('the admin command restores a backup sealed with a key an earlier rotation kept in /etc/hearth', async () => {
    // Another hub's backup stands in for one taken before a rotation; its key is the kept one.
    const user = account(root, 'passwd', 'hearth')!;
    const older = join(tmp.path, 'older-hub');
    expect(installedCli(root, ['init', '--data-dir', older]).code).toBe(0);
    expect(installedCli(root, ['device', 'add', 'camera', 'Attic', '--data-dir', older]).code).toBe(0);
    const backup = join(root, 'var/backups/hearth/older.db');
    expect(installedCli(root, ['backup', backup, '--data-dir', older]).code).toBe(0);
    for (const f of [backup, `${backup}.key-fingerprint`]) chownSync(f, Number(user[2]), Number(user[3]));
    writeFileSync(join(root, 'etc/hearth/hearth.key.until-20250101T000000Z'), readFileSync(join(older, 'hearth.key')), { mode: 0o600 });
    // The last restore's set-aside database is in the way of the next one, as documented.
    for (const f of readdirSync(join(root, 'var/lib/hearth'))) if (f.startsWith('hearth.db.before-restore')) rmSync(join(root, 'var/lib/hearth', f));
    const work = join(tmp.path, 'overlay-work-2');
    mkdirSync(work);
    const script = [
      'set -e',
      'mount -t overlay hearth-etc -o "lowerdir=$R/etc:/etc" /etc',
      'mount -t overlay hearth-opt -o "lowerdir=$R/opt:/opt" /opt',
      'mount -t overlay hearth-var -o "lowerdir=/var/lib,upperdir=$R/var/lib,workdir=$W" /var/lib',
      'mount -t tmpfs hearth-run /run',
      'mount --bind "$R/var/backups" /var/backups',
      '"$R/usr/local/bin/hearth" restore /var/backups/hearth/older.db --json',
      '"$R/usr/local/bin/hearth" device list --json',
      'echo "key copies left: $(ls -d /run/hearth-cli.* 2>/dev/null | wc -l)"',
    ].join('\n');
    const res = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn('unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', script], {
        env: { ...baseEnv(), R: root, W: work, HEARTH_NODE: process.execPath },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.once('exit', (code) => resolve({ code, out, err }));
    });
    expect(res.code, res.err).toBe(0);
    const lines = res.out.trim().split('\n');
    const restored = JSON.parse(lines[0]!) as { resealedFrom: { path: string } | null };
    expect(restored.resealedFrom?.path).toMatch(/\/hearth\.key\.until-20250101T000000Z$/);
    expect((JSON.parse(lines[1]!) as { nickname: string }[]).map((d) => d.nickname)).toEqual(['Attic']);
    expect(lines[2]).toBe('key copies left: 0');
    expect(statSync(join(root, 'var/lib/hearth/hearth.db')).uid).toBe(Number(user[2]));
    dbHash = sha(join(root, 'var/lib/hearth/hearth.db'));
  });

  it('uninstall keeps data, key and user; --purge removes them', async () => {
    const res = await run(UNINSTALL, ['--root', root]);
    expect(res.code, res.out).toBe(0);
    const gone = ['opt/hearth', 'etc/systemd/system/hearth.service', 'etc/systemd/system/hearth-backup.service', 'etc/systemd/system/hearth-backup.timer', 'usr/local/bin/hearth'];
    for (const f of gone) expect(existsSync(join(root, f)), f).toBe(false);
    expect(() => readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/hearth.service'))).toThrow(/ENOENT/);
    expect(sha(join(root, 'var/lib/hearth/hearth.db'))).toBe(dbHash);
    expect(sha(join(root, 'etc/hearth/hearth.key'))).toBe(keyHash);
    expect(account(root, 'passwd', 'hearth')).toBeDefined();

    const purge = await run(UNINSTALL, ['--root', root, '--purge']);
    expect(purge.code, purge.out).toBe(0);
    expect(existsSync(join(root, 'var/lib/hearth'))).toBe(false);
    expect(existsSync(join(root, 'etc/hearth'))).toBe(false);
    expect(account(root, 'passwd', 'hearth')).toBeUndefined();
    expect(purge.out).toMatch(/backups in \/var\/backups\/hearth were left/);
    expect(existsSync(join(root, 'var/backups/hearth'))).toBe(true);
    expect(sha('/etc/passwd')).toBe(hostPasswd);
  });
});

describe.skipIf(!isRoot)('scripts/install.sh --node-modules-from (offline install)', () => {
  it('copies a built node_modules, prunes it to production dependencies, and the app runs', { timeout: 120_000 }, async () => {
    const tmp = tempDir('hearth-install-offline-');
    try {
      const root = join(tmp.path, 'root');
      mkdirSync(root);
      const res = await run(INSTALL, ['--root', root, '--no-build', '--node-modules-from', join(ROOT, 'node_modules')]);
      expect(res.code, res.out).toBe(0);
      expect(res.out).toMatch(/pruning them to production/);
      const deps = readdirSync(join(root, 'opt/hearth/node_modules'));
      expect(deps).toContain('better-sqlite3');
      for (const dev of ['vitest', 'typescript', 'playwright-core']) expect(deps, dev).not.toContain(dev);
      const data = join(tmp.path, 'data');
      const init = installedCli(root, ['init', '--data-dir', data], { CREDENTIALS_DIRECTORY: join(root, 'etc/hearth') });
      expect(init.code, init.stderr).toBe(0);
      // The repo's own tree was copied, not moved or pruned.
      expect(existsSync(join(ROOT, 'node_modules/vitest'))).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });
});
