/**
 * The daemon and the CLI as a user runs them: separate processes, real files, real sockets.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, enrolCamera, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const NOW = Date.now();

describe('hearth init', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('creates the data dir, a 32-byte key with mode 0600 and the database; never overwrites the key', () => {
    const d = tempDir();
    dirs.push(d);
    const dataDir = join(d.path, 'hub');
    const first = cli(['init', '--data-dir', dataDir]);
    expect(first.code).toBe(0);
    const key = readFileSync(join(dataDir, 'hearth.key'));
    expect(key.length).toBe(32);
    expect(statSync(join(dataDir, 'hearth.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(existsSync(join(dataDir, 'hearth.db'))).toBe(true);
    cli(['init', '--data-dir', dataDir]);
    expect(readFileSync(join(dataDir, 'hearth.key')).equals(key)).toBe(true);
  });

  it('takes the key from $CREDENTIALS_DIRECTORY when set, and refuses a wrong key without changing anything', () => {
    const d = tempDir();
    dirs.push(d);
    const dataDir = join(d.path, 'hub');
    expect(cli(['init', '--data-dir', dataDir]).code).toBe(0);
    const cam = enrolCamera(dataDir, 'Hall');
    const creds = join(d.path, 'creds');
    mkdirSync(creds);
    // The right key delivered as a credential works even with the file gone from the data dir.
    copyFileSync(join(dataDir, 'hearth.key'), join(creds, 'hearth.key'));
    const withCred = cli(['device', 'show', cam.id, '--json', '--data-dir', dataDir], { CREDENTIALS_DIRECTORY: creds });
    expect(withCred.code).toBe(0);
    expect(JSON.parse(withCred.stdout).nickname).toBe('Hall');
    // A wrong credential wins over the file, and is refused clearly.
    writeFileSync(join(creds, 'hearth.key'), Buffer.alloc(32, 7));
    const dbBefore = readFileSync(join(dataDir, 'hearth.db'));
    const wrong = cli(['device', 'list', '--data-dir', dataDir], { CREDENTIALS_DIRECTORY: creds });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/master key does not match this database/);
    expect(readFileSync(join(dataDir, 'hearth.db')).equals(dbBefore)).toBe(true);
    const startWrong = cli(['start', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0'], { CREDENTIALS_DIRECTORY: creds });
    expect(startWrong.code).toBe(1);
    expect(startWrong.stderr).toMatch(/master key does not match/);
  });

  it('refuses a damaged key file or a corrupted database with a clear error', () => {
    const d = tempDir();
    dirs.push(d);
    const dataDir = join(d.path, 'hub');
    cli(['init', '--data-dir', dataDir]);
    const db = join(dataDir, 'hearth.db');
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(db, garbage);
    const res = cli(['device', 'list', '--data-dir', dataDir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/not a SQLite database or is corrupted/);
    expect(readFileSync(db).equals(garbage)).toBe(true);
    writeFileSync(join(dataDir, 'hearth.key'), Buffer.alloc(5));
    expect(cli(['device', 'list', '--data-dir', dataDir]).stderr).toMatch(/has 5 bytes, expected 32/);
  });

  it('reports bad configuration per field and exits non-zero', () => {
    const res = cli(['start', '--mqtt-port', 'http'], { HEARTH_HTTP_PORT: '-1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/--mqtt-port: must be a whole number/);
    expect(res.stderr).toMatch(/HEARTH_HTTP_PORT: must be from 0 to 65535/);
  });
});

describe('hearth start', () => {
  const dirs: { cleanup(): void }[] = [];
  const daemons: DaemonHandle[] = [];
  afterEach(async () => {
    for (const dmn of daemons.splice(0)) if (dmn.proc.exitCode === null) await dmn.kill();
    dirs.splice(0).forEach((d) => d.cleanup());
  });

  it('serves health, works alongside the CLI, and stops cleanly on SIGTERM', async () => {
    const d = tempDir();
    dirs.push(d);
    const dmn = await startDaemon(d.path);
    daemons.push(dmn);
    const health = await fetch(`http://127.0.0.1:${dmn.httpPort}/api/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
    // Everything but health, the login page and static assets needs a session.
    expect((await fetch(`http://127.0.0.1:${dmn.httpPort}/api/devices`)).status).toBe(401);
    // A second daemon on the same data dir is refused.
    const second = cli(['start', '--data-dir', d.path, '--mqtt-port', '0', '--http-port', '0']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running/);
    // The CLI enrols while the daemon runs; the camera can connect at once.
    const cam = enrolCamera(d.path, 'Nursery');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${dmn.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await client.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: NOW }), { qos: 1 });
    const shown = JSON.parse(cli(['device', 'show', cam.id, '--json', '--data-dir', d.path]).stdout);
    expect(shown).toMatchObject({ nickname: 'Nursery', online: true, eventCounts: { motion: 1, online: 1 } });
    // Removal through the CLI disconnects the camera from the running daemon.
    const closed = new Promise((r) => client.once('close', r));
    expect(cli(['device', 'remove', cam.id, '--data-dir', d.path]).code).toBe(0);
    await closed;
    expect(await dmn.stop()).toBe(0);
    expect(dmn.output()).toMatch(/stopped cleanly/);
    expect(existsSync(join(d.path, 'hearth.pid'))).toBe(false);
  });

  it('keeps no personal value in plaintext anywhere in the data dir or the logs (canary)', async () => {
    const d = tempDir();
    dirs.push(d);
    const canaries = { nickname: 'CanaryNick-Basement', ssid: 'CanarySSID-7781', ip: '192.168.213.77', detail: 'canary-detail-owner@example.org' };
    cli(['init', '--data-dir', d.path]);
    const cam = enrolCamera(d.path, canaries.nickname);
    const dmn = await startDaemon(d.path, ['--log-level', 'debug']);
    daemons.push(dmn);
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${dmn.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await client.publishAsync(`hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: canaries.ssid, ip: canaries.ip, model: 'CanaryModel', firmware: '9.9.9' }), { qos: 1, retain: true });
    await client.publishAsync(`hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'connect_failed', ts: NOW, detail: canaries.detail }), { qos: 1 });
    // A bad payload carrying a canary must be refused without the canary reaching the log.
    await expect(publishAcked(client, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: canaries.ssid + 'x'.repeat(40) }))).rejects.toThrow();
    client.end(true);
    expect(await dmn.stop()).toBe(0);

    const shown = JSON.parse(cli(['device', 'show', cam.id, '--json', '--data-dir', d.path]).stdout);
    expect(shown).toMatchObject({ nickname: canaries.nickname, ssid: canaries.ssid, ip: canaries.ip, model: 'CanaryModel', firmware: '9.9.9' });

    const files = readdirSync(d.path).map((f) => join(d.path, f));
    expect(files.some((f) => f.endsWith('hearth.db'))).toBe(true);
    const haystacks = [...files.map((f) => ({ name: f, bytes: readFileSync(f) })), { name: 'daemon output', bytes: Buffer.from(dmn.output()) }];
    for (const value of [...Object.values(canaries), 'CanaryModel']) {
      for (const h of haystacks) {
        expect(h.bytes.includes(Buffer.from(value)), `${value} found in ${h.name}`).toBe(false);
        expect(h.bytes.includes(Buffer.from(value, 'utf16le')), `${value} (UTF-16) found in ${h.name}`).toBe(false);
      }
    }
  });

  it('keeps every PUBACKed message across SIGKILL (group commit durability)', async () => {
    const d = tempDir();
    dirs.push(d);
    cli(['init', '--data-dir', d.path]);
    const cams = [enrolCamera(d.path, 'A'), enrolCamera(d.path, 'B'), enrolCamera(d.path, 'C')];
    const acked = new Set<string>();
    for (let round = 0; round < 3; round++) {
      const dmn = await startDaemon(d.path);
      daemons.push(dmn);
      const clients = await Promise.all(cams.map((c) => mqtt.connectAsync(`mqtt://127.0.0.1:${dmn.mqttPort}`, { username: c.username, password: c.password, reconnectPeriod: 0 })));
      let stop = false;
      const loops = clients.map(async (client, i) => {
        for (let n = 0; !stop; n++) {
          const ts = NOW - (round * 1e6 + n); // unique per camera/message
          try {
            await publishAcked(client, `hearth/cam/${cams[i]!.id}/event`, JSON.stringify({ type: 'motion', ts }));
            acked.add(`${cams[i]!.id}:${ts}`);
          } catch {
            return;
          }
        }
      });
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 400));
      await dmn.kill();
      stop = true;
      await Promise.all(loops);
      clients.forEach((c) => c.end(true));
    }
    expect(acked.size).toBeGreaterThan(100);
    // Read back through a fresh process: integrity and every acknowledged message present.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(d.path, 'hearth.db'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const stored = new Set((db.prepare("SELECT device_id || ':' || ts AS k FROM events WHERE type = 'motion'").pluck().all() as string[]));
    db.close();
    const lost = [...acked].filter((k) => !stored.has(k));
    expect(lost).toEqual([]);
  });
});
