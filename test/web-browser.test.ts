/**
 * The web UI in a real headless Chromium against the compiled daemon: log in, enrol a camera and
 * watch it come online over server-sent events, flip a consent switch, read the ledger after a real
 * report went to a real Mosquitto, export and forget a member, and fit a phone screen. Every request
 * must stay on the hub's origin and the Content-Security-Policy must never have to refuse anything.
 */
import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { ScaleStore } from '../src/devices/scale/store.js';
import { openVault } from '../src/store/vault.js';
import { launchChromium, screenshot, watchPage, type PageWatch } from './helpers/browser.js';
import { cli, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';
import { Mosquitto, subscriber, waitFor, type Received } from './uplink-helpers.js';

// A page settles after its fetches and live events; on a loaded machine that can take seconds.
vi.setConfig({ expect: { poll: { timeout: 10_000, interval: 100 } } });

const PASSWORD = 'correct horse battery staple 7';

const data = tempDir('hearth-web-browser-');
const upstreamDir = tempDir('hearth-web-upstream-');
let daemon: DaemonHandle;
let upstream: Mosquitto;
let collector: { client: mqtt.MqttClient; received: Received[] };
let browser: Browser;
let context: BrowserContext;
let page: Page;
let origin: string;
/** What every watched page did that it must not (checked at the end). */
const seen: PageWatch = { foreignRequests: [], cspViolations: [], pageErrors: [] };
const env = (): Record<string, string> => ({ HEARTH_UPLINK_URL: upstream.url });
const run = (args: string[], input?: string) => cli([...args, '--data-dir', data.path], env(), input);
const watch = (p: Page) => watchPage(p, origin, seen);
const shot = screenshot;

beforeAll(async () => {
  upstream = await Mosquitto.start(upstreamDir.path);
  collector = await subscriber(upstream.url, 'web-browser-collector');
  expect(cli(['init', '--data-dir', data.path]).code).toBe(0);
  const set = run(['admin', 'set-password'], `${PASSWORD}\n`);
  expect(set.code, set.stderr).toBe(0);
  daemon = await startDaemon(data.path, [], env());
  origin = `http://127.0.0.1:${daemon.httpPort}`;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  await watch(page);
});

afterAll(async () => {
  await browser?.close();
  collector?.client.end(true);
  await daemon?.stop();
  await upstream?.stop();
  data.cleanup();
  upstreamDir.cleanup();
});

describe.sequential('web UI in Chromium', () => {
  it('sends a visitor without a session to the login page, and logs in', async () => {
    await page.goto(`${origin}/`);
    await page.waitForURL(`${origin}/login`);
    await page.fill('#password', 'wrong password');
    await page.click('#login-form button[type=submit]');
    await expect.poll(() => page.locator('#login-error').isVisible()).toBe(true);
    await shot(page, 'login-wrong-password');
    await page.fill('#password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${origin}/`);
    await expect.poll(() => page.locator('#upstream-state').textContent()).not.toBe('…');
    await shot(page, 'dashboard-empty');
  });

  let camera: { id: string; username: string; password: string };

  it('enrols a camera: credentials shown once with a QR code that decodes to them', async () => {
    await page.goto(`${origin}/enrol`);
    await page.fill('#camera-nickname', 'Front <door>');
    await page.click('#enrol-camera button[type=submit]');
    await page.locator('#cred-qr svg').waitFor();
    camera = {
      id: (await page.locator('#cred-device').getAttribute('href'))!.replace('/devices/', ''),
      username: (await page.locator('#cred-username').textContent())!,
      password: (await page.locator('#cred-password').textContent())!,
    };
    expect(camera.id).toMatch(/^cam-[0-9a-f]{12}$/);
    expect(camera.password.length).toBeGreaterThanOrEqual(20);
    await shot(page, 'enrol-camera-credentials');
    // Decode the QR code from the pixels Chromium drew.
    const png = PNG.sync.read(await page.locator('#cred-qr svg').screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(decoded?.data).toBe(`mqtt://${encodeURIComponent(camera.username)}:${encodeURIComponent(camera.password)}@127.0.0.1:${daemon.mqttPort}`);
    // The page carrying credentials is never cached.
    const res = await page.request.get(`${origin}/enrol`);
    expect(res.headers()['cache-control']).toBe('no-store');
    // Once entered in the camera, the credentials leave the page (its DOM, not only the view).
    await page.click('#cred-hide');
    expect(await page.locator('#camera-credentials').isVisible()).toBe(false);
    expect(await page.content()).not.toContain(camera.password);
    expect(await page.locator('#cred-qr svg').count()).toBe(0);
  });

  it('shows the camera come online, live, when it connects with those credentials', async () => {
    await page.goto(`${origin}/`);
    const row = page.locator(`#cameras tr[data-device-id="${camera.id}"]`);
    await expect.poll(() => row.locator('.badge').textContent()).toBe('offline');
    expect(await row.locator('a').textContent()).toBe('Front <door>');
    await page.evaluate(() => ((window as unknown as { hearthMarker: number }).hearthMarker = 42));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${daemon.mqttPort}`, { username: camera.username, password: camera.password, clientId: camera.id, reconnectPeriod: 0 });
    try {
      await client.publishAsync(`hearth/cam/${camera.id}/status`, JSON.stringify({ state: 'online', ssid: 'Home Wi-Fi', rssi: -58, model: 'HC-200', firmware: '1.4.2' }), { qos: 1 });
      await expect.poll(() => row.locator('.badge').textContent(), { timeout: 10_000 }).toBe('online');
      // No reload happened: the marker set before is still there.
      expect(await page.evaluate(() => (window as unknown as { hearthMarker?: number }).hearthMarker)).toBe(42);
      await shot(page, 'dashboard-camera-online');
      await page.goto(`${origin}/devices/${camera.id}`);
      await expect.poll(() => page.locator('#state').textContent()).toContain('Home Wi-Fi');
      const state = (await page.locator('#state').textContent())!;
      expect(state).toContain('HC-200');
      expect(state).toContain('1.4.2');
      expect(state).toContain('-58 dBm');
      // Events published now appear in the open timeline (live), and the type filter narrows it.
      const ts = Date.now();
      await client.publishAsync(`hearth/cam/${camera.id}/event`, JSON.stringify({ type: 'motion', ts, detail: 'porch <left>' }), { qos: 1 });
      await client.publishAsync(`hearth/cam/${camera.id}/event`, JSON.stringify({ type: 'reboot', ts: ts + 1 }), { qos: 1 });
      await expect.poll(() => page.locator('#events tbody tr').count(), { timeout: 10_000 }).toBe(3);
      expect(await page.locator('#events tbody').textContent()).toContain('porch <left>');
      await page.selectOption('#filter-type', 'motion');
      await page.click('#event-filter button[type=submit]');
      await expect.poll(() => page.locator('#events tbody tr').count()).toBe(1);
      expect(await page.locator('#events tbody td[data-label="Type"]').allTextContents()).toEqual(['motion']);
      // A date range after today matches nothing; the page says so.
      const tomorrow = await page.evaluate(() => {
        const d = new Date(Date.now() + 86_400_000);
        return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
      });
      await page.selectOption('#filter-type', '');
      await page.fill('#filter-from', tomorrow);
      await page.click('#event-filter button[type=submit]');
      await expect.poll(() => page.locator('#events tbody tr').count()).toBe(0);
      expect(await page.locator('#events-empty').isVisible()).toBe(true);
      await page.fill('#filter-from', '');
      await page.click('#event-filter button[type=submit]');
      await expect.poll(() => page.locator('#events tbody tr').count()).toBe(3);
      // The activity chart (drawn by the hub) loads under the page's CSP and shows today's events.
      await expect.poll(() => page.locator('#activity-chart').evaluate((i: HTMLImageElement) => (i.complete ? i.naturalWidth : 0))).toBeGreaterThan(0);
      await shot(page, 'device-camera');
    } finally {
      await client.endAsync();
    }
    await page.goto(`${origin}/devices`);
    await expect.poll(() => page.locator('#devices tbody').textContent(), { timeout: 10_000 }).toContain('offline');
  });

  it('flips a consent switch; the hub records it and the preview shows the next report', async () => {
    await page.goto(`${origin}/consent`);
    const sw = page.locator('#consent-adoption');
    await sw.waitFor();
    expect(await sw.isChecked()).toBe(false);
    await sw.check();
    await expect.poll(() => JSON.parse(run(['consent', 'show', '--json']).stdout).categories).toEqual(expect.arrayContaining([expect.objectContaining({ category: 'adoption', enabled: true })]));
    await expect.poll(() => page.locator('#preview').textContent()).toContain('adoption');
    // Next to each number: that it is noised on purpose, and that negative or large values are normal.
    // Format 2: one row per answer, named by its question (adoption's questions), with its bits and ε.
    const numbers = page.locator('#preview-numbers table.numbers tbody tr');
    await expect.poll(() => numbers.count()).toBeGreaterThan(0);
    for (const name of await page.locator('#preview-numbers td[data-label="Number"]').allTextContents()) expect(['activations', 'activated', 'cameras', 'cameras_bucket', 'scales', 'has_scale']).toContain(name);
    for (const value of await page.locator('#preview-numbers td[data-label="Value"]').allTextContents()) expect(value).toMatch(/^(\d|b\d=\d)[^(]* \(ε \d\.\d\d(, repeated)?\)$/);
    for (const note of await page.locator('#preview-numbers .noise-note').allTextContents()) {
      expect(note).toMatch(/home’s own value stays hidden/);
      expect(note).toMatch(/an answer that looks wrong is normal/);
    }
    await shot(page, 'consent');
  });

  it('a login from another tab (a new session) does not break the next change on an open page', async () => {
    const other = await context.newPage();
    await watch(other);
    await other.goto(`${origin}/login`);
    await other.fill('#password', PASSWORD);
    await other.click('#login-form button[type=submit]');
    await other.waitForURL(`${origin}/`);
    await other.close();
    // This page still holds the old session's token: refused once, fetched again, retried.
    const sw = page.locator('#consent-device-health');
    await sw.check();
    const enabled = () => (JSON.parse(run(['consent', 'show', '--json']).stdout).categories as { category: string; enabled: boolean }[]).find((c) => c.category === 'device-health')!.enabled;
    await expect.poll(enabled).toBe(true);
    await sw.uncheck();
    await expect.poll(enabled).toBe(false);
    expect(await page.locator('#flash').isVisible()).toBe(false);
  });

  it('reads the ledger: the exact bytes that reached the upstream broker, searchable and downloadable', async () => {
    expect(run(['report', 'now']).code).toBe(0);
    await waitFor(() => collector.received.length > 0, 20_000, 'a report upstream');
    const sent = collector.received[0]!.payload.toString('utf8');
    await page.goto(`${origin}/ledger`);
    await expect.poll(() => page.locator('.ledger-bytes').first().textContent(), { timeout: 10_000 }).toBe(sent);
    // A table: time, category, size; the bytes and each noised number (with what it means) open on demand.
    const first = page.locator('#ledger tbody tr').first();
    expect(await first.locator('td[data-label="Category"]').textContent()).toBe('adoption');
    expect(await first.locator('td[data-label="Size"]').textContent()).toBe(`${Buffer.byteLength(sent)} bytes`);
    expect(await first.locator('.ledger-bytes').isVisible()).toBe(false);
    await first.locator('summary').click();
    expect(await first.locator('.ledger-bytes').isVisible()).toBe(true);
    // Each answer that left, by its question, with the bits it carried.
    const answers = JSON.parse(sent).answers as Record<string, { bit?: number; bits?: Record<string, number> }>;
    expect(await first.locator('td[data-label="Number"]').allTextContents()).toEqual(Object.keys(answers));
    const values = await first.locator('td[data-label="Value"]').allTextContents();
    Object.values(answers).forEach((a, i) => expect(values[i]).toContain(a.bit !== undefined ? String(a.bit) : Object.entries(a.bits ?? {}).map(([k, v]) => `b${k}=${v}`).join(' ')));
    expect(await first.locator('.noise-note').first().textContent()).toMatch(/hidden.*an answer that looks wrong is normal/);
    expect(await page.locator('#ledger-about').textContent()).toMatch(/hidden on purpose: an answer that\s+looks wrong/);
    await shot(page, 'ledger');
    await page.fill('#ledger-q', 'no-such-thing-anywhere');
    await page.click('#ledger-search button');
    await expect.poll(() => page.locator('.ledger-bytes').count()).toBe(0);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ledger-download')]);
    const file = readFileSync((await download.path())!, 'utf8');
    expect(file).toContain(JSON.stringify(sent).slice(1, 40));
  });

  it('adds a member and enrols a scale in the UI, charts the weight history, assigns a stray weigh-in', async () => {
    await page.goto(`${origin}/members`);
    await expect.poll(() => page.locator('#no-members').isVisible()).toBe(true);
    await page.fill('#member-name', 'Anna');
    await page.click('#member-add button[type=submit]');
    await expect.poll(() => page.locator('#flash').textContent()).toBe('Anna added.');
    const members = (await (await page.request.get(`${origin}/api/members`)).json()) as { members: { id: string; name: string }[] };
    expect(members.members.map((m) => m.name)).toEqual(['Anna']);
    memberId = members.members[0]!.id;

    await page.goto(`${origin}/enrol`);
    await page.fill('#scale-address', 'c8:47:8c:12:34:56');
    await page.fill('#scale-nickname', 'Bathroom scale');
    await page.click('#enrol-scale button[type=submit]');
    await expect.poll(() => page.locator('#flash').textContent()).toContain('Scale enrolled');

    // Weigh-ins through the store (as the BLE ingest writes them), on the live database.
    const vault = await openVault(data.path, {});
    try {
      const store = new ScaleStore(vault.db, vault.sealer);
      const scaleId = store.targets()[0]!.deviceId;
      const day = 86_400_000;
      for (const [i, kg] of [71.4, 71.0, 70.6, 70.9].entries()) {
        store.record({ deviceId: scaleId, measuredAt: Date.now() - (4 - i) * day, measurement: { ...emptyMeasurement('mi-scale-2', 'kg'), weightKg: kg, weightReported: kg, stabilized: true } }, { memberId, reason: 'match' });
      }
      store.record({ deviceId: scaleId, measuredAt: Date.now() - 3600_000, measurement: { ...emptyMeasurement('mi-scale-2', 'kg'), weightKg: 54.2, weightReported: 54.2, stabilized: true } }, { memberId: null, reason: 'no-match' });
    } finally {
      vault.close();
    }
    const chartCircles = async () => ((await (await page.request.get(`${origin}/members/${memberId}/weight.svg`)).text()).match(/<circle /g) ?? []).length;
    await page.goto(`${origin}/members`);
    const chart = page.locator('.chart-box img').first();
    await chart.waitFor();
    await expect.poll(() => chart.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
    expect(await chartCircles()).toBe(4);
    await expect.poll(() => page.locator('#unassigned tbody').textContent()).toContain('54.2 kg');
    // The page lists the scales too, each leading to its own page.
    expect(await page.locator('#scale-list tbody td[data-label="Scale"] a').allTextContents()).toEqual(['Bathroom scale']);
    expect(await page.locator('#scale-list tbody td[data-label="Last weigh-in"]').textContent()).not.toBe('never');
    await shot(page, 'members');
    const row = page.locator('#unassigned tbody tr').first();
    await row.locator('select').selectOption(memberId);
    await row.locator('button').click();
    await expect.poll(() => page.locator('#unassigned-empty').isVisible()).toBe(true);
    expect(await chartCircles()).toBe(5);
  });

  let memberId: string;

  it('exports the member and forgets them after confirmation', async () => {
    await page.goto(`${origin}/export`);
    await page.locator(`#export-subject option[value="member:${memberId}"]`).waitFor({ state: 'attached' });
    await page.selectOption('#export-subject', `member:${memberId}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-download')]);
    const exported = readFileSync((await download.path())!, 'utf8');
    expect(exported).toContain('Anna');
    expect(exported).toContain('71.4');
    expect(exported).toContain('54.2'); // the weigh-in assigned in the UI
    await page.click('#forget-start');
    expect(await page.locator('#forget-confirm-button').isDisabled()).toBe(true);
    // A person is "them", not "it".
    expect(await page.locator('#forget-confirm p').first().textContent()).toMatch(/^Forget Anna and everything stored about them\?/);
    await shot(page, 'export-forget-confirm');
    await page.check('#forget-sure');
    await page.click('#forget-confirm-button');
    await expect.poll(() => page.locator('#flash').textContent()).toContain('forgotten');
    expect(JSON.parse(run(['member', 'list', '--json']).stdout)).toEqual([]);
    expect((await page.request.get(`${origin}/api/export/member/${memberId}`)).status()).toBe(404);
    // The choice list no longer offers the member.
    expect(await page.locator(`#export-subject option[value="member:${memberId}"]`).count()).toBe(0);
  });

  it('folds a camera’s runs of connection changes in its timeline and shows its last refused message', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${daemon.mqttPort}`, { username: camera.username, password: camera.password, reconnectPeriod: 0 });
      await c.endAsync();
    }
    // MQTT 5: a refused message gets a negative PUBACK and the connection stays.
    const v5 = await mqtt.connectAsync(`mqtt://127.0.0.1:${daemon.mqttPort}`, { username: camera.username, password: camera.password, reconnectPeriod: 0, protocolVersion: 5 });
    await v5.publishAsync(`hearth/cam/${camera.id}/event`, JSON.stringify({ type: 'motion', ts: 1000 }), { qos: 1 }).catch(() => undefined);
    await v5.endAsync();
    await page.goto(`${origin}/devices/${camera.id}`);
    const run = page.locator('#events details.presence-run');
    await expect.poll(() => run.count()).toBe(1);
    // online, offline ×3 more cycles and the v5 connection: all in one row, newest state last said.
    expect(await run.locator('summary').textContent()).toMatch(/^\d+ connection changes; then offline$/);
    const folded = Number((await run.locator('summary').textContent())!.split(' ')[0]);
    expect(folded).toBeGreaterThanOrEqual(8);
    expect(await run.locator('li').count()).toBe(folded);
    expect(await page.locator('#events tbody tr').count()).toBeLessThan(folded);
    await run.locator('summary').click();
    expect(await run.locator('li').first().isVisible()).toBe(true);
    await expect.poll(() => page.locator('#state').textContent()).toContain('event_ts_out_of_range');
    expect(await page.locator('#state').textContent()).toMatch(/Last refused message.*event_ts_out_of_range.*once/);
    await shot(page, 'device-camera-folded');
  });

  it('says so on a removed device’s page, open while it is removed and opened afterwards', async () => {
    const other = JSON.parse(run(['device', 'add', 'camera', 'Shed', '--json']).stdout) as { id: string };
    await page.goto(`${origin}/devices/${other.id}`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Shed');
    expect(run(['device', 'remove', other.id]).code).toBe(0);
    await expect.poll(() => page.locator('#device-removed').isVisible(), { timeout: 15_000 }).toBe(true);
    expect(await page.locator('h1').textContent()).toBe('Device removed');
    expect(await page.locator('#events-card').isVisible()).toBe(false);
    expect(await page.locator('#flash').isVisible()).toBe(false);
    await page.reload();
    await expect.poll(() => page.locator('#device-removed').isVisible()).toBe(true);
    expect(await page.locator('#device-removed').textContent()).toMatch(/no longer enrolled: it was removed/);
    expect(await page.locator('#flash').isVisible()).toBe(false);
    await shot(page, 'device-removed');
  });

  it('pauses everything upstream from the settings page; the dashboard says so until resumed', async () => {
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('#upstream-state').textContent()).toBe('on'); // an uplink and a consented category
    await page.goto(`${origin}/settings`);
    await expect.poll(() => page.locator('#privacy-toggle').textContent()).toBe('Pause everything upstream');
    await page.click('#privacy-toggle');
    await expect.poll(() => page.locator('#privacy-toggle').textContent()).toBe('Resume upstream');
    const pausedByCommand = () => (JSON.parse(run(['privacy', 'status', '--json']).stdout) as { pausedByCommand: boolean }).pausedByCommand;
    expect(pausedByCommand()).toBe(true);
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('#upstream-state').textContent()).toBe('paused');
    await page.goto(`${origin}/settings`);
    await expect.poll(() => page.locator('#privacy-toggle').textContent()).toBe('Resume upstream');
    await page.click('#privacy-toggle');
    await expect.poll(() => page.locator('#privacy-toggle').textContent()).toBe('Pause everything upstream');
    expect(pausedByCommand()).toBe(false);
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('#upstream-state').textContent()).toBe('on');
  });

  it('settings explain epsilon and save a new report interval to the data folder', async () => {
    await page.goto(`${origin}/settings`);
    await expect.poll(() => page.locator('#epsilon-daily').inputValue()).not.toBe('');
    expect(await page.locator('#uplink-url').inputValue()).toBe(upstream.url);
    expect(await page.locator('#h-epsilon + p').textContent()).toContain('noise');
    await shot(page, 'settings');
    await page.fill('#window-hours', '12');
    await page.click('#settings-form button[type=submit]');
    await expect.poll(() => page.locator('#flash').textContent()).toContain('restart');
    expect(JSON.parse(readFileSync(join(data.path, 'hearth.json'), 'utf8')).uplink).toMatchObject({ windowSeconds: 12 * 3600 });
    // The form shows what was saved (it applies at the next start), not the value still in use.
    await page.reload();
    await expect.poll(() => page.locator('#settings-note').textContent()).toContain('restart');
    expect(await page.locator('#window-hours').inputValue()).toBe('12');
    // An invalid value is refused with the hub's reason, and nothing is written.
    await page.fill('#questions-per-day', '0');
    await page.locator('#questions-per-day').evaluate((input: HTMLInputElement) => input.removeAttribute('min'));
    await page.click('#settings-form button[type=submit]');
    await expect.poll(() => page.locator('#flash.error').count()).toBe(1);
    expect(JSON.parse(readFileSync(join(data.path, 'hearth.json'), 'utf8')).uplink.questionsPerDay).not.toBe(0);
  });

  it('enrols a camera with a firmware profile: the help follows the select, the topic is required, overlaps are refused', async () => {
    await page.goto(`${origin}/enrol`);
    const topicLabel = page.locator('#camera-topic-label');
    const help = (p: string) => page.locator(`[data-profile-help="${p}"]`);
    // hearth's own protocol needs no topic; no profile help is shown.
    expect(await topicLabel.isVisible()).toBe(false);
    expect(await page.locator('[data-profile-help]:visible').count()).toBe(0);
    await page.selectOption('#camera-profile', 'thingino');
    expect(await topicLabel.isVisible()).toBe(true);
    expect(await help('thingino').isVisible()).toBe(true);
    await page.selectOption('#camera-profile', 'frigate');
    expect(await help('thingino').isVisible()).toBe(false);
    expect(await help('frigate').textContent()).toContain('mqtt.topic_prefix');
    await page.fill('#camera-nickname', 'Driveway NVR');
    // Without a topic the browser refuses to submit (the field is required for a profile).
    await page.click('#enrol-camera button[type=submit]');
    expect(await page.locator('#camera-topic').evaluate((i: HTMLInputElement) => i.validity.valueMissing)).toBe(true);
    expect(await page.locator('#camera-credentials').isVisible()).toBe(false);
    await page.fill('#camera-topic', 'frigate');
    await page.click('#enrol-camera button[type=submit]');
    await page.locator('#cred-qr svg').waitFor();
    expect(await page.locator('#cred-topics').textContent()).toBe('frigate/#');
    const nvrId = (await page.locator('#cred-device').getAttribute('href'))!.replace('/devices/', '');
    // After a successful enrolment the form is back to hearth's protocol.
    expect(await page.locator('#camera-profile').inputValue()).toBe('hearth');
    expect(await topicLabel.isVisible()).toBe(false);
    await page.click('#cred-hide');
    // A rule under the NVR's prefix overlaps: the hub's reason is shown, nothing is enrolled.
    await page.selectOption('#camera-profile', 'rule');
    await page.fill('#camera-nickname', 'Thief');
    await page.fill('#camera-topic', 'frigate/front_door');
    await page.click('#enrol-camera button[type=submit]');
    await expect.poll(() => page.locator('#flash.error').textContent()).toMatch(/overlap/);
    expect(await page.locator('#camera-credentials').isVisible()).toBe(false);
    expect(JSON.parse(run(['device', 'show', nvrId, '--json']).stdout)).toMatchObject({ profile: 'frigate', nickname: 'Driveway NVR' });
    const nicknames = (JSON.parse(run(['device', 'list', '--json']).stdout) as Array<{ nickname: string }>).map((d) => d.nickname);
    expect(nicknames).toContain('Driveway NVR');
    expect(nicknames).not.toContain('Thief');
    await shot(page, 'enrol-camera-profile');
  });

  it("turns a member's weight sharing with Home Assistant on and off from the settings page (off by default)", async () => {
    expect(run(['member', 'add', 'Ada <b>Lovelace</b>']).code).toBe(0);
    const memberId = (JSON.parse(run(['member', 'list', '--json']).stdout) as Array<{ id: string }>)[0]!.id;
    await page.goto(`${origin}/settings`);
    const box = page.locator(`#ha-weight-members input[data-member-id="${memberId}"]`);
    await box.waitFor();
    expect(await box.isChecked()).toBe(false);
    // The name is text, not markup.
    expect(await page.locator('#ha-weight-members label').textContent()).toContain('Ada <b>Lovelace</b>');
    expect(await page.locator('#ha-weight-members b').count()).toBe(0);
    expect(await page.locator('#ha-weights').textContent()).toContain('unencrypted');
    const shared = async () => ((await (await page.request.get(`${origin}/api/integrations/home-assistant`)).json()) as { weightMembers: string[] }).weightMembers;
    await box.check();
    await expect.poll(shared).toEqual([memberId]);
    await page.reload();
    await expect.poll(() => box.isChecked()).toBe(true);
    await box.uncheck();
    await expect.poll(shared).toEqual([]);
  });

  it('fits a phone screen (390x844) without horizontal scrolling on every page', async () => {
    const phone = await context.newPage();
    await watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const [name, path] of [['login', '/login'], ['dashboard', '/'], ['devices', '/devices'], ['device', `/devices/${camera.id}`], ['members', '/members'], ['consent', '/consent'], ['ledger', '/ledger'], ['enrol', '/enrol'], ['export', '/export'], ['settings', '/settings']] as const) {
      await phone.goto(`${origin}${path}`);
      await phone.waitForLoadState('networkidle').catch(() => undefined);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${path} overflows by ${overflow}px`).toBeLessThanOrEqual(0);
      await shot(phone, `phone-${name}`);
    }
    await phone.close();
  });

  it('a hub restart does not wait for an open page, which then goes to the login page by itself (sessions live in memory)', async () => {
    await page.goto(`${origin}/`);
    await expect.poll(() => page.locator('#live-state').textContent()).toContain('Live:');
    const httpPort = daemon.httpPort;
    // A restart (an upgrade, systemctl restart): the open page's live stream must not hold up the stop.
    const stopping = daemon;
    const stopped = await Promise.race([stopping.stop().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!stopped) await stopping.kill();
    expect(stopped, 'the hub stops within 10 s while a page has a live stream open').toBe(true);
    daemon = await startDaemon(data.path, ['--http-port', String(httpPort)], env());
    await page.waitForURL(`${origin}/login`, { timeout: 20_000 });
    await page.fill('#password', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForURL(`${origin}/`);
    await expect.poll(() => page.locator('#live-state').textContent()).toContain('Live:');
  });

  it('logs out: the session is gone', async () => {
    await page.goto(`${origin}/`);
    await page.click('#logout');
    await page.waitForURL(`${origin}/login`);
    const res = await page.request.get(`${origin}/api/devices`);
    expect(res.status()).toBe(401);
  });

  it('nothing left the hub origin and the CSP refused nothing', async () => {
    // The watch sees a violation when there is one: an inline script injected into the login page.
    const probe = await context.newPage();
    const control = await watchPage(probe, origin);
    await probe.goto(`${origin}/login`);
    await probe.evaluate(() => document.body.append(Object.assign(document.createElement('script'), { textContent: 'window.x = 1' })));
    await expect.poll(() => control.cspViolations.length).toBeGreaterThan(0);
    await probe.close();
    expect(seen).toEqual({ foreignRequests: [], cspViolations: [], pageErrors: [] });
  });
});
