/**
 * URLs the router itself rejects (a malformed percent-encoding, a parameter over the length limit)
 * are answered before any hook runs. The answer must still carry the security headers, obey the LAN
 * guard, be counted, and not quote the URL back.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log/logger.js';
import { createWebServer } from '../src/web/server.js';

describe('URLs the router refuses', () => {
  function server() {
    const counted: string[] = [];
    const app = createWebServer({ logger: silentLogger, isReady: () => true, count: (r) => counted.push(r) });
    app.get<{ Params: { id: string } }>('/api/devices/:id', async (req) => ({ id: req.params.id }));
    return { app, counted };
  }

  it('answers an over-long parameter with 414 and a malformed one with 400, with headers and without the URL', async () => {
    const { app, counted } = server();
    const long = `/api/devices/${'probe'.repeat(80)}`;
    const bad = '/api/devices/%E0%A4%A-probe';
    for (const [url, code] of [[long, 414], [bad, 400]] as const) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(code);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).not.toContain('probe');
      expect(res.json().error).toMatch(/URL/);
    }
    expect(counted).toEqual(['url_too_long', 'bad_url']);
    expect((await app.inject({ method: 'GET', url: '/api/devices/cam-1' })).json()).toEqual({ id: 'cam-1' });
    await app.close();
  });

  it('keeps the LAN guard for them', async () => {
    const { app, counted } = server();
    const res = await app.inject({ method: 'GET', url: `/api/devices/${'x'.repeat(500)}`, remoteAddress: '203.0.113.9' });
    expect(res.statusCode).toBe(403);
    expect(counted).toEqual(['not_lan']);
    await app.close();
  });
});
