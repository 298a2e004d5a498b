/**
 * Password guessing in parallel: the per-address throttle counts failures only once a check ends,
 * so a burst of simultaneous guesses must not all be checked. One check at a time per client
 * address, a few at a time overall; the rest get 429 with Retry-After and cost no Argon2id run.
 * A new admin password set from the CLI while the hub runs ends every open session.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAdminHash } from '../src/web/auth/admin-password.js';
import { openVault } from '../src/store/vault.js';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { HUB_SERVICES } from '../src/hub/services.js';
import { silentLogger } from '../src/log/logger.js';
import { throttleKey } from '../src/web/security/lan.js';
import { cli, tempDir } from './helpers/hub.js';
import { startWebHub, type WebHub } from './helpers/web.js';

describe('web login', () => {
  let web: WebHub;
  let hub: RunningHub;

  beforeAll(async () => {
    web = await startWebHub();
    hub = web.hub;
  });

  afterAll(async () => {
    await web?.stop();
  });

  const guess = (password: string, remoteAddress: string) => hub.internals.web.inject({ method: 'POST', url: '/api/login', payload: { password }, remoteAddress });

  it('checks one guess at a time per address: a parallel burst gets 429 instead of Argon2id runs', async () => {
    const before = hub.internals.counters.snapshot()['http.login_failed'] ?? 0;
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => guess(`burst-guess-${i}`, '192.168.60.1')));
    const codes = answers.map((a) => a.statusCode);
    const checked = codes.filter((c) => c === 401).length;
    expect(checked).toBeGreaterThanOrEqual(1);
    expect(checked).toBeLessThanOrEqual(5); // never more than the free failures
    expect(codes.filter((c) => c === 429).length).toBe(40 - checked);
    for (const a of answers.filter((x) => x.statusCode === 429)) expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
    expect((hub.internals.counters.snapshot()['http.login_failed'] ?? 0) - before).toBe(checked);
  });

  it('counts an IPv6 client by its /64: rotating privacy addresses brings no fresh guesses', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await guess(`v6-guess-${i}`, `fd00:77:1:2:${(i + 1).toString(16)}::${i + 9}`)).statusCode);
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5)).toContain(429);
    // Another /64 on the same ULA prefix is someone else.
    expect((await guess(hub.firstAdminPassword!, 'fd00:77:1:3::9')).statusCode).toBe(200);
  });

  it('keeps other addresses able to log in during a burst, within a small overall bound', async () => {
    const burst = Promise.all(Array.from({ length: 30 }, (_, i) => guess(`other-${i}`, `10.20.${i}.1`)));
    const own = await guess(hub.firstAdminPassword!, '10.30.0.1');
    const codes = (await burst).map((a) => a.statusCode);
    // Distinct addresses are each checked unless too many checks run at once.
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    // The household's own login may have met a full queue; once the burst is over it goes through.
    if (own.statusCode !== 200) expect(own.statusCode).toBe(429);
    expect((await guess(hub.firstAdminPassword!, '10.30.0.1')).statusCode).toBe(200);
  });

  it('ends every session when `hearth admin set-password` changes the password while the hub runs', async () => {
    const login = await guess(hub.firstAdminPassword!, '127.0.0.1');
    expect(login.statusCode).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const status = () => hub.internals.web.inject({ method: 'GET', url: '/api/status', headers: { cookie } }).then((r) => r.statusCode);
    expect(await status()).toBe(200);
    const set = cli(['admin', 'set-password', '--stdin', '--data-dir', web.dataDir], {}, 'a brand new passphrase\n');
    expect(set.code, set.stderr).toBe(0);
    await expect.poll(status, { timeout: 5000 }).toBe(401);
    expect((await guess(hub.firstAdminPassword!, '127.0.0.1')).statusCode).toBe(401);
    expect((await guess('a brand new passphrase', '127.0.0.1')).statusCode).toBe(200);
  });
});

describe('throttle key', () => {
  it('is the IPv4 address, or the /64 of an IPv6 address however it is written', () => {
    expect(throttleKey('192.168.1.7')).toBe('192.168.1.7');
    expect(throttleKey('::ffff:192.168.1.7')).toBe('192.168.1.7');
    for (const a of ['fd00:77:1:2::1', 'FD00:0077:0001:0002:aaaa:bbbb:cccc:dddd', 'fd00:77:1:2:ffff::', 'fd00:77:1:2::10.0.0.1']) expect(throttleKey(a), a).toBe('fd00:77:1:2::/64');
    expect(throttleKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(throttleKey('::1')).toBe('0:0:0:0::/64');
    expect(throttleKey('fd00:77:1:3::1')).not.toBe(throttleKey('fd00:77:1:2::1'));
  });
});

describe('first admin password', () => {
  it('is kept only once the web server listens: a first start that fails on a busy port leaves none behind', async () => {
    const dir = tempDir();
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
    const port = (busy.address() as { port: number }).port;
    const configOn = (httpPort: string) => loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': httpPort, 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' }, env: { HEARTH_BLE_ENABLED: 'false' } });
    try {
      await expect(startHub(configOn(String(port)), { env: {}, logger: silentLogger, services: HUB_SERVICES })).rejects.toThrow();
      const vault = await openVault(dir.path, {});
      expect(readAdminHash(vault.db)).toBeUndefined();
      vault.close();

      const hub = await startHub(configOn('0'), { env: {}, logger: silentLogger, services: HUB_SERVICES });
      try {
        expect(hub.firstAdminPassword).toBeDefined();
        expect(readAdminHash(hub.internals.vault.db)).toMatch(/^\$argon2id\$/);
        const login = await hub.internals.web.inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword } });
        expect(login.statusCode).toBe(200);
      } finally {
        await hub.stop();
      }
    } finally {
      busy.close();
      dir.cleanup();
    }
  });
});
