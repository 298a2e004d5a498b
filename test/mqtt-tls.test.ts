/**
 * MQTT over TLS (mqtt.tls, port mqtt.tlsPort) on a real hub: the enrolment answer carries the TLS
 * port and the fingerprint of the hub's self-signed certificate (the web UI's); a real mqtt.js
 * client pinning that fingerprint and a real mosquitto_pub (as the firmwares run it, with the
 * certificate as CA and no host name check) publish over it and the hub stores what they sent; a
 * client speaking plain MQTT to the TLS port is refused and counted while the plain port keeps
 * serving; the port must be a port of its own, and a busy one is named in the error.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListenError } from '../src/broker/broker.js';
import { listenFailureMessage } from '../src/cli/commands/hub.js';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { certificateFingerprint, ensureWebCertificate, WEB_CERT_FILE } from '../src/web/security/tls.js';
import { cli, publishAcked, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

/** Runs a program without blocking this process (the hub under test shares its event loop). */
function run(cmd: string, args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 15_000 }, (err, _stdout, stderr) => resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr }));
  });
}

describe('MQTT over TLS', () => {
  let web: WebHub;
  let session: WebSession;
  let cam: { id: string; username: string; password: string; tls: { port: number; fingerprint: string } };
  let cert: Buffer;

  beforeAll(async () => {
    web = await startWebHub({ HEARTH_MQTT_TLS: 'true', HEARTH_MQTT_TLS_PORT: '0' });
    session = await logIn(web.hub);
    const res = await session.request('POST', '/api/devices/camera', { nickname: 'Garage' });
    expect(res.statusCode).toBe(201);
    cam = res.json();
    cert = readFileSync(join(web.dataDir, WEB_CERT_FILE));
  }, 30_000);

  afterAll(async () => {
    await web?.stop();
  });

  const counts = () => web.hub.ctx.services.devices.details(web.hub.ctx.services.devices.get(cam.id)!).eventCounts;

  it("answers the enrolment with the TLS port and the hub certificate's fingerprint", () => {
    expect(cam.tls.port).toBe(web.hub.mqttTls!.port);
    expect(cam.tls.port).not.toBe(web.hub.mqttPort);
    expect(cam.tls.fingerprint).toBe(certificateFingerprint(cert));
    expect(cam.tls.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('takes a publish from mqtt.js that pins the fingerprint, and stores it', async () => {
    let seen: string | undefined;
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${cam.tls.port}`, {
      username: cam.username,
      password: cam.password,
      reconnectPeriod: 0,
      ca: cert,
      // The certificate names the hub's host, not 127.0.0.1: pin its fingerprint instead.
      checkServerIdentity: (_host: string, peer: PeerCertificate) => {
        seen = peer.fingerprint256;
        return peer.fingerprint256 === cam.tls.fingerprint ? undefined : new Error('fingerprint mismatch');
      },
    });
    try {
      expect(seen).toBe(cam.tls.fingerprint);
      await publishAcked(client, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now() }));
      expect(counts().motion).toBe(1);
    } finally {
      await client.endAsync();
    }
    // MQTT 5 over TLS goes through the same adapter as over TCP.
    const v5 = await mqtt.connectAsync(`mqtts://127.0.0.1:${cam.tls.port}`, { protocolVersion: 5, username: cam.username, password: cam.password, reconnectPeriod: 0, ca: cert, checkServerIdentity: () => undefined });
    await publishAcked(v5, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'motion', ts: Date.now() }));
    await v5.endAsync();
    expect(counts().motion).toBe(2);
  });

  it('takes a publish from mosquitto_pub over TLS (the certificate as CA, no host name check)', async () => {
    const caFile = join(web.dataDir, 'ca-for-test.pem');
    writeFileSync(caFile, cert);
    const res = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(cam.tls.port), '--cafile', caFile, '--insecure', '-u', cam.username, '-P', cam.password, '-i', cam.id, '-q', '1', '-t', `hearth/cam/${cam.id}/event`, '-m', JSON.stringify({ type: 'reboot', ts: Date.now() })]);
    expect(res.status, res.stderr).toBe(0);
    expect(counts().reboot).toBe(1);
    // Trusting another certificate instead, the client refuses the hub: TLS is really on and checked.
    const other = tempDir();
    const wrongCa = join(other.path, 'other.pem');
    writeFileSync(wrongCa, ensureWebCertificate(other.path).cert);
    const untrusted = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(cam.tls.port), '--cafile', wrongCa, '--insecure', '-u', cam.username, '-P', cam.password, '-q', '1', '-t', `hearth/cam/${cam.id}/event`, '-m', '{"type":"motion"}']);
    other.cleanup();
    expect(untrusted.status).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate verify failed|Protocol error|TLS|SSL/i);
    expect(counts().motion).toBe(2);
  });

  it('refuses plain MQTT on the TLS port and counts it; the plain port keeps serving', async () => {
    const before = web.hub.internals.counters.snapshot()['mqtt.tls_handshake_failed'] ?? 0;
    await new Promise<void>((resolve) => {
      const socket = tcpConnect(cam.tls.port, '127.0.0.1', () => socket.write(Buffer.from('101000044d5154540402003c0000', 'hex')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    await expect.poll(() => web.hub.internals.counters.snapshot()['mqtt.tls_handshake_failed'] ?? 0).toBeGreaterThan(before);
    recordTally({ surface: 'mqtt-tls-plain-client', tried: 1, refused: 1, accepted: 0, crashes: 0, dataLost: 0 });
    const plain = await mqtt.connectAsync(`mqtt://127.0.0.1:${web.hub.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(plain, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'sound', ts: Date.now() }));
    await plain.endAsync();
    expect(counts().sound).toBe(1);
  });
});

describe('MQTT over TLS settings', () => {
  it('needs a port of its own', () => {
    const dir = tempDir();
    try {
      expect(() => loadConfig({ flags: { 'data-dir': dir.path }, env: { HEARTH_MQTT_TLS: 'true', HEARTH_MQTT_TLS_PORT: '1883' } })).toThrow(ConfigError);
      expect(() => loadConfig({ flags: { 'data-dir': dir.path }, env: { HEARTH_MQTT_TLS: 'true', HEARTH_MQTT_TLS_PORT: '8080' } })).toThrow(/mqtt\.tlsPort/);
      expect(loadConfig({ flags: { 'data-dir': dir.path }, env: {} }).mqtt).toMatchObject({ tls: false, tlsPort: 8883 });
    } finally {
      dir.cleanup();
    }
  });

  it('`hearth device add camera --json` gives the TLS port and fingerprint when mqtt.tls is on, and nothing about TLS when off', () => {
    const dir = tempDir();
    try {
      expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
      const off = cli(['device', 'add', 'camera', 'Porch', '--json', '--data-dir', dir.path]);
      expect(JSON.parse(off.stdout)).not.toHaveProperty('tls');
      const on = cli(['device', 'add', 'camera', 'Garden', '--json', '--data-dir', dir.path], { HEARTH_MQTT_TLS: 'true' });
      expect(on.code, on.stderr).toBe(0);
      const tls = (JSON.parse(on.stdout) as { tls: { port: number; fingerprint: string } }).tls;
      expect(tls.port).toBe(8883);
      expect(tls.fingerprint).toBe(certificateFingerprint(readFileSync(join(dir.path, WEB_CERT_FILE))));
      expect(cli(['web', 'fingerprint', '--data-dir', dir.path]).stdout).toContain(tls.fingerprint);
      const text = cli(['device', 'add', 'camera', 'Shed', '--data-dir', dir.path], { HEARTH_MQTT_TLS: 'true' });
      expect(text.stdout).toContain(`MQTT over TLS: port 8883; the hub's certificate is self-signed, SHA-256 ${tls.fingerprint}`);
    } finally {
      dir.cleanup();
    }
  });

  it('a busy TLS port stops the start with a message naming mqtt.tlsPort', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startWebHub({ HEARTH_MQTT_TLS: 'true', HEARTH_MQTT_TLS_PORT: String(port) })).rejects.toSatisfy((err: unknown) => {
        expect(err).toBeInstanceOf(ListenError);
        expect(listenFailureMessage(err as ListenError)).toMatch(/MQTT over TLS cannot listen: port \d+ on 127\.0\.0\.1 is already in use.*mqtt\.tlsPort/);
        return true;
      });
    } finally {
      blocker.close();
    }
  });
});
