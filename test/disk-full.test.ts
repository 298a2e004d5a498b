/**
 * Disk full: the data dir on a small tmpfs. New messages are refused (no PUBACK), the hub says why,
 * nothing stored is damaged, and it recovers by itself once space returns.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, enrolCamera, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const isRoot = process.getuid?.() === 0;
const NOW = Date.now();

describe.skipIf(!isRoot)('disk full (needs root to mount a tmpfs)', () => {
  const outer = tempDir();
  const mnt = join(outer.path, 'mnt');
  let dmn: DaemonHandle | undefined;

  beforeAll(() => {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt]);
  });
  afterAll(async () => {
    if (dmn && dmn.proc.exitCode === null) await dmn.kill();
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* already unmounted */
    }
    outer.cleanup();
  });

  it('refuses, explains, keeps stored data intact and recovers on its own', async () => {
    const dataDir = join(mnt, 'hub');
    expect(cli(['init', '--data-dir', dataDir]).code).toBe(0);
    const cam = enrolCamera(dataDir, 'Attic');
    dmn = await startDaemon(dataDir);
    const url = `mqtt://127.0.0.1:${dmn.mqttPort}`;
    const topic = `hearth/cam/${cam.id}/event`;
    let client = await mqtt.connectAsync(url, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    let acked = 0;
    for (let i = 0; i < 50; i++, acked++) await publishAcked(client, topic, JSON.stringify({ type: 'motion', ts: NOW - i }));

    // Fill the disk to the last byte.
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      /* dd stops with ENOSPC, as intended */
    }
    let refused = 0;
    for (let i = 0; i < 400 && refused === 0; i++) {
      try {
        await publishAcked(client, topic, JSON.stringify({ type: 'motion', ts: NOW - 1000 - i, detail: 'x'.repeat(200) }));
        acked++;
      } catch {
        refused++;
      }
    }
    expect(refused).toBe(1);
    await expect.poll(() => dmn!.output(), { timeout: 5000 }).toMatch(/could not store messages \(the disk is full\)/);
    expect((await fetch(`http://127.0.0.1:${dmn.httpPort}/api/health`)).status).toBe(200);

    // Space returns: the next messages are stored without restarting anything.
    rmSync(filler);
    client.end(true);
    client = await mqtt.connectAsync(url, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, topic, JSON.stringify({ type: 'reboot', ts: NOW }));
    acked++;
    await expect.poll(() => dmn!.output()).toMatch(/storage is writable again/);
    client.end(true);
    expect(await dmn.stop()).toBe(0);

    const db = new Database(join(dataDir, 'hearth.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const stored = db.prepare("SELECT COUNT(*) FROM events WHERE type IN ('motion', 'reboot')").pluck().get() as number;
    db.close();
    expect(stored).toBe(acked);
  });
});
