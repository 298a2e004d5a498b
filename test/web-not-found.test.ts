/** An address the UI does not have: its own page for a browser, JSON for the API, a login first. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

let web: WebHub;
let session: WebSession;
beforeAll(async () => {
  web = await startWebHub();
  session = await logIn(web.hub);
});
afterAll(async () => {
  await web?.stop();
});

describe('unknown addresses', () => {
  it("get the UI's own 404 page in a browser, with its navigation and a way back", async () => {
    const res = await web.hub.internals.web.inject({ method: 'GET', url: '/cameras-old/list', headers: { cookie: session.cookie, accept: 'text/html,application/xhtml+xml' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toBeDefined();
    expect(res.body).toContain('Nothing here');
    expect(res.body).toContain('href="/"');
    expect(res.body).toContain('Export &amp; forget'); // the navigation
    expect(res.body).not.toContain('cameras-old'); // the address is not echoed
  });

  it('get JSON from the API, and the login before anything without a session', async () => {
    const api = await session.request('GET', '/api/nothing-here');
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: 'not found' });
    const anon = await web.hub.internals.web.inject({ method: 'GET', url: '/cameras-old/list', headers: { accept: 'text/html' } });
    expect([302, 401]).toContain(anon.statusCode);
    expect(anon.body).not.toContain('Nothing here');
  });
});
