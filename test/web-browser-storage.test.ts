/**
 * The dashboard's storage banner in a real Chromium: the daemon's data folder on a small tmpfs is
 * filled, the hub refuses a camera message, and the open dashboard says the disk is full without
 * a reload; once space returns and a message is stored again, the banner goes away by itself.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, watchPage } from './helpers/browser.js';
import { cli, enrolCamera, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const isRoot = process.getuid?.() === 0;
const PASSWORD = 'storage banner test password';

describe.skipIf(!isRoot)('storage banner (needs root to mount a tmpfs)', () => {
  const outer = tempDir('hearth-web-storage-');
  const mnt = join(outer.path, 'mnt');
  let daemon: DaemonHandle | undefined;
  let browser: Browser | undefined;
  let mounted = false;

  afterAll(async () => {
    await browser?.close();
    if (daemon && daemon.proc.exitCode === null) await daemon.kill();
    if (mounted) execFileSync('umount', ['-l', mnt]);
    outer.cleanup();
  });

  it('appears live when the disk fills and clears itself once the hub can write again', async () => {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', mnt]);
    mounted = true;
    const dataDir = join(mnt, 'hub');
    const init = cli(['init', '--data-dir', dataDir]);
    expect(init.code, init.stderr).toBe(0);
    const set = cli(['admin', 'set-password', '--stdin', '--data-dir', dataDir], {}, `${PASSWORD}\n`);
    expect(set.code, set.stderr).toBe(0);
    const cam = enrolCamera(dataDir, 'Attic');
    // The 6 MB file system is far under the low-disk warning's threshold; this test is about writes failing.
    daemon = await startDaemon(dataDir, [], { HEARTH_LOW_DISK_MB: '0' });
    const origin = `http://127.0.0.1:${daemon.httpPort}`;
    const url = `mqtt://127.0.0.1:${daemon.mqttPort}`;
    const topic = `hearth/cam/${cam.id}/event`;

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1024, height: 700 } });
    const seen = await watchPage(page, origin);
    await page.goto(`${origin}/login`);
    await page.fill('#password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${origin}/`);
    await expect.poll(() => page.locator('#upstream-state').textContent()).not.toBe('…');
    const banner = page.locator('#storage-banner');
    expect(await banner.isVisible()).toBe(false);
    await page.evaluate(() => ((window as unknown as { hearthMarker: number }).hearthMarker = 7));

    let client = await mqtt.connectAsync(url, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    const filler = join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      /* dd stops with ENOSPC, as intended */
    }
    let refused = false;
    for (let i = 0; i < 400 && !refused; i++) {
      try {
        await publishAcked(client, topic, JSON.stringify({ type: 'motion', ts: Date.now() - i, detail: 'x'.repeat(200) }));
      } catch {
        refused = true;
      }
    }
    expect(refused).toBe(true);
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await banner.textContent()).toContain('the disk is full');
    await screenshot(page, 'dashboard-disk-full');

    rmSync(filler);
    client.end(true);
    client = await mqtt.connectAsync(url, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, topic, JSON.stringify({ type: 'reboot', ts: Date.now() }));
    await expect.poll(() => banner.isVisible(), { timeout: 10_000 }).toBe(false);
    client.end(true);
    // All of it happened on the page that was open from the start.
    expect(await page.evaluate(() => (window as unknown as { hearthMarker?: number }).hearthMarker)).toBe(7);
    expect(seen).toEqual({ foreignRequests: [], cspViolations: [], pageErrors: [] });
  });
});
