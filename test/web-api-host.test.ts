/**
 * The DNS rebinding guard: the web UI answers only Host names no outside DNS can point at it
 * (IP literals, localhost, single-label and local-suffix names) and those configured in
 * http.allowedHosts, on a real hub through fastify.inject.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningHub } from '../src/hub/hub.js';
import { isAllowedHost, parseAllowedHosts } from '../src/web/security/host.js';
import { startWebHub, type WebHub } from './helpers/web.js';

describe('isAllowedHost', () => {
  it('accepts IP literals and local names, refuses names public DNS could point at the hub', () => {
    for (const h of ['192.168.1.20', '192.168.1.20:8080', '127.0.0.1', '[::1]:8080', '[fd00::5]', 'localhost:8080', 'hearth', 'hearth.local', 'HEARTH.LOCAL:443', 'pi.lan', 'hub.home.arpa', 'x.internal', 'a.localhost', undefined])
      expect(isAllowedHost(h), String(h)).toBe(true);
    for (const h of ['evil.example', 'evil.example:8080', 'rebind.192.168.1.20.nip.io', 'local.evil.com', 'hearth.local.evil.com', '', ' ', '999.1.1.1.evil', '[::1', '[::1]x', 'a b', 'a/b', 'x'.repeat(400), 'evil.example.', '1.2.3.4.5'])
      expect(isAllowedHost(h), h).toBe(false);
    const allowed = parseAllowedHosts(' Hub.Example.org , nas.example.org.,');
    expect([...allowed]).toEqual(['hub.example.org', 'nas.example.org']);
    expect(isAllowedHost('hub.example.org:8443', allowed)).toBe(true);
    expect(isAllowedHost('other.example.org', allowed)).toBe(false);
  });
});

describe('web UI host guard', () => {
  let web: WebHub;
  let hub: RunningHub;

  beforeAll(async () => {
    web = await startWebHub({ HEARTH_HTTP_ALLOWED_HOSTS: 'hearth.example.org' });
    hub = web.hub;
  });

  afterAll(async () => {
    await web?.stop();
  });

  it('refuses a rebound host name before anything else, even for public routes and a right password', async () => {
    const refuse = await hub.internals.web.inject({ method: 'POST', url: '/api/login', payload: { password: hub.firstAdminPassword }, headers: { host: 'attacker.example:8080' } });
    expect(refuse.statusCode).toBe(403);
    expect(refuse.headers['set-cookie']).toBeUndefined();
    expect(refuse.json().error).toMatch(/http.allowedHosts/);
    expect(refuse.headers['content-security-policy']).toBeDefined();
    expect((await hub.internals.web.inject({ method: 'GET', url: '/login', headers: { host: 'attacker.example' } })).statusCode).toBe(403);
    expect(hub.internals.counters.snapshot()['http.refused.bad_host']).toBe(2);
    for (const host of ['192.168.1.5:8080', 'hearth.local', 'hearth.example.org']) expect((await hub.internals.web.inject({ method: 'GET', url: '/api/health', headers: { host } })).statusCode, host).toBe(200);
    // Over real TCP (fetch sends the host it connected to).
    expect((await fetch(`http://127.0.0.1:${hub.httpPort}/api/health`)).status).toBe(200);
  });
});
