/**
 * The web UI's access through the real daemon over TCP (compiled, as a user runs it): the one-time
 * admin password at the first start and never again, `hearth admin set-password` while the hub
 * runs, and TLS with the self-signed certificate the hub makes (key 0600, the fingerprint the CLI
 * prints is the one the server presents, Secure cookies, kept across restarts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const PASSWORD_LINE = /web UI admin password \(shown only now\): (\S+)/;

async function loginOverTcp(base: string, password: string): Promise<Response> {
  return fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password }) });
}

/** One HTTPS request that accepts the self-signed certificate and reports the one presented. */
function httpsCall(port: number, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, unknown>; body: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: payload ? 'POST' : 'GET', rejectUnauthorized: false, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text, fingerprint }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('web UI access through the daemon', () => {
  const dir = tempDir();
  let daemon: DaemonHandle | undefined;

  afterAll(async () => {
    await daemon?.stop();
    dir.cleanup();
  });

  it('prints a one-time admin password at the first start only; set-password replaces it while the hub runs', async () => {
    daemon = await startDaemon(dir.path);
    await expect.poll(() => PASSWORD_LINE.test(daemon!.output())).toBe(true);
    const first = PASSWORD_LINE.exec(daemon.output())![1]!;
    // Shown once on stdout, in no log line.
    expect(daemon.output().split(first).length - 1).toBe(1);
    const base = `http://127.0.0.1:${daemon.httpPort}`;
    const ok = await loginOverTcp(base, first);
    expect(ok.status).toBe(200);
    const setCookie = ok.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^hearth_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//);
    expect(setCookie).not.toMatch(/Secure/); // plain HTTP
    expect((await fetch(`${base}/api/status`, { headers: { cookie: setCookie.split(';')[0]! } })).status).toBe(200);

    const short = cli(['admin', 'set-password', '--stdin', '--data-dir', dir.path], {}, 'too-short\n');
    expect(short.code).not.toBe(0);
    expect(short.stderr).toMatch(/at least 10 characters/);
    const set = cli(['admin', 'set-password', '--stdin', '--data-dir', dir.path], {}, 'correct horse battery\n');
    expect(set.code, set.stderr).toBe(0);
    expect((await loginOverTcp(base, first)).status).toBe(401);
    expect((await loginOverTcp(base, 'correct horse battery')).status).toBe(200);

    await daemon.stop();
    daemon = await startDaemon(dir.path);
    await new Promise((r) => setTimeout(r, 300));
    expect(daemon.output()).not.toMatch(/admin password/);
    expect((await loginOverTcp(`http://127.0.0.1:${daemon.httpPort}`, 'correct horse battery')).status).toBe(200);
    await daemon.stop();
    daemon = undefined;
  });

  it('under systemd writes the first admin password to a 0600 file, not to the journal; set-password deletes the file', async () => {
    const sd = tempDir();
    try {
      const d = await startDaemon(sd.path, [], { INVOCATION_ID: '0123456789abcdef0123456789abcdef', JOURNAL_STREAM: '8:12345' });
      const file = join(sd.path, 'first-admin-password');
      await expect.poll(() => d.output()).toContain(`web UI admin password: in ${file}`);
      expect(d.output()).not.toMatch(PASSWORD_LINE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const password = readFileSync(file, 'utf8').trim();
      expect(password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
      expect(d.output()).not.toContain(password);
      expect((await loginOverTcp(`http://127.0.0.1:${d.httpPort}`, password)).status).toBe(200);
      const set = cli(['admin', 'set-password', '--stdin', '--data-dir', sd.path], {}, 'correct horse battery\n');
      expect(set.code, set.stderr).toBe(0);
      expect(existsSync(file)).toBe(false);
      await d.stop();
    } finally {
      sd.cleanup();
    }
  });

  it('serves HTTPS with a certificate it makes once, whose fingerprint the CLI prints', async () => {
    expect(cli(['web', 'fingerprint', '--data-dir', dir.path]).code).toBe(1); // none yet
    const env = { HEARTH_HTTP_TLS: 'true' };
    daemon = await startDaemon(dir.path, [], env);
    const FINGERPRINT_LINE = /web UI certificate SHA-256: ([0-9A-F:]{95})/;
    await expect.poll(() => FINGERPRINT_LINE.test(daemon!.output())).toBe(true);
    const printed = FINGERPRINT_LINE.exec(daemon.output())![1]!;
    expect(daemon.output()).toMatch(/web UI:\s+https:\/\//);
    expect(printed).toBeDefined();
    expect(statSync(join(dir.path, 'web-key.pem')).mode & 0o777).toBe(0o600);
    const fromCli = cli(['web', 'fingerprint', '--data-dir', dir.path], env);
    expect(fromCli.code).toBe(0);
    expect(fromCli.stdout.trim()).toBe(`SHA-256 ${printed}`);

    const health = await httpsCall(daemon.httpPort, '/api/health');
    expect(health.status).toBe(200);
    expect(health.fingerprint).toBe(printed);
    expect(health.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const login = await httpsCall(daemon.httpPort, '/api/login', { password: 'correct horse battery' });
    expect(login.status).toBe(200);
    expect(String(login.headers['set-cookie'])).toMatch(/; Secure/);
    // Plain HTTP on the TLS port gets no answer from the API.
    await expect(fetch(`http://127.0.0.1:${daemon.httpPort}/api/health`).then((r) => r.status)).rejects.toThrow();

    await daemon.stop();
    daemon = await startDaemon(dir.path, [], env);
    await expect.poll(() => daemon!.output()).toContain(printed);
    expect((await httpsCall(daemon.httpPort, '/api/health')).fingerprint).toBe(printed);
  });
});
