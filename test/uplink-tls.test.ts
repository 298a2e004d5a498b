/**
 * The uplink over mqtts:// to a real Mosquitto with TLS and a password file: the server
 * certificate must chain to the configured CA, the password comes from a file in the data dir,
 * and a refused connection keeps the reports queued.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { ConsentStore } from '../src/consent/consent.js';
import { silentLogger } from '../src/log/logger.js';
import { Outbox } from '../src/uplink/outbox.js';
import { verifyReport, type Report } from '../src/uplink/report.js';
import { readConnectOptions, UplinkConfigError, UplinkService } from '../src/uplink/service.js';
import { nextWholeSecond, tempDir } from './helpers/hub.js';
import { Mosquitto, testVault, waitFor, type TestHub } from './uplink-helpers.js';

function makeCa(dir: string, name: string): void {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-subj', `/CN=${name}`, '-days', '1'], { stdio: 'ignore' });
}

describe('uplink over TLS with a password', () => {
  const certs = tempDir('hearth-tls-');
  const brokerDir = tempDir('hearth-mosquitto-tls-');
  let mosquitto: Mosquitto;
  let hub: TestHub;
  const services: UplinkService[] = [];
  const received: Buffer[] = [];
  let collector: mqtt.MqttClient;

  beforeAll(async () => {
    const d = certs.path;
    makeCa(d, 'ca');
    makeCa(d, 'rogue-ca');
    execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(d, 'server.key'), '-out', join(d, 'server.csr'), '-subj', '/CN=localhost'], { stdio: 'ignore' });
    writeFileSync(join(d, 'ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    execFileSync('openssl', ['x509', '-req', '-in', join(d, 'server.csr'), '-CA', join(d, 'ca.crt'), '-CAkey', join(d, 'ca.key'), '-CAcreateserial', '-out', join(d, 'server.crt'), '-days', '1', '-extfile', join(d, 'ext')], { stdio: 'ignore' });
    const pwFile = join(brokerDir.path, 'passwords');
    execFileSync('mosquitto_passwd', ['-b', '-c', pwFile, 'hub', 'correct horse'], { stdio: 'ignore' });
    execFileSync('mosquitto_passwd', ['-b', pwFile, 'collector', 'collector-pw'], { stdio: 'ignore' });
    mosquitto = await Mosquitto.start(brokerDir.path, {
      anonymous: false,
      scheme: 'mqtts',
      globalLines: [`password_file ${pwFile}`],
      listenerLines: [`cafile ${join(d, 'ca.crt')}`, `certfile ${join(d, 'server.crt')}`, `keyfile ${join(d, 'server.key')}`],
    });
    collector = mqtt.connect(mosquitto.url, { username: 'collector', password: 'collector-pw', ca: readFileSync(join(d, 'ca.crt')), reconnectPeriod: 200 });
    collector.on('message', (_t, p) => received.push(Buffer.from(p)));
    await new Promise<void>((resolve, reject) => collector.once('connect', () => resolve()).once('error', reject));
    await collector.subscribeAsync('hearth/v1/reports/#', { qos: 1 });

    hub = await testVault();
    writeFileSync(join(hub.config.dataDir, 'upstream-ca.pem'), readFileSync(join(d, 'ca.crt')));
    writeFileSync(join(hub.config.dataDir, 'rogue-ca.pem'), readFileSync(join(d, 'rogue-ca.crt')));
    writeFileSync(join(hub.config.dataDir, 'uplink-password'), 'correct horse\n', { mode: 0o600 });
    writeFileSync(join(hub.config.dataDir, 'wrong-password'), 'battery staple\n', { mode: 0o600 });
    new ConsentStore(hub.vault.db).set('adoption', true, Date.now() - 1000);
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    collector?.end(true);
    await mosquitto?.stop();
    await hub?.cleanup();
    certs.cleanup();
    brokerDir.cleanup();
  });

  function service(env: Record<string, string>): UplinkService {
    const config = loadConfig({
      flags: { 'data-dir': hub.config.dataDir },
      env: { HEARTH_UPLINK_URL: mosquitto.url, HEARTH_UPLINK_USERNAME: 'hub', HEARTH_UPLINK_DAILY_EPSILON: '20', ...env },
    });
    const s = new UplinkService({ ...hub.vault, config, logger: silentLogger, backoff: { initialMs: 100, maxMs: 400 }, checkIntervalMs: 100 });
    services.push(s);
    s.start();
    return s;
  }

  it('refuses a server whose certificate does not chain to the configured CA, keeping the report', async () => {
    const s = service({ HEARTH_UPLINK_CA_FILE: 'rogue-ca.pem', HEARTH_UPLINK_PASSWORD_FILE: 'uplink-password' });
    await nextWholeSecond(); // windows close on whole seconds
    s.closeNow();
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.client!.isConnected).toBe(false);
    expect(received).toHaveLength(0);
    expect(new Outbox(hub.vault.db).size()).toBe(1);
    await s.stop();
  });

  it('is refused with a wrong password, keeping the report', async () => {
    const s = service({ HEARTH_UPLINK_CA_FILE: 'upstream-ca.pem', HEARTH_UPLINK_PASSWORD_FILE: 'wrong-password' });
    await new Promise((r) => setTimeout(r, 800));
    expect(s.client!.isConnected).toBe(false);
    expect(received).toHaveLength(0);
    expect(new Outbox(hub.vault.db).size()).toBe(1);
    await s.stop();
  });

  it('delivers over verified TLS with the password from the data dir', async () => {
    const s = service({ HEARTH_UPLINK_CA_FILE: 'upstream-ca.pem', HEARTH_UPLINK_PASSWORD_FILE: 'uplink-password' });
    await waitFor(() => received.length === 1, 10_000, 'report over TLS');
    const report = JSON.parse(received[0]!.toString('utf8')) as Report;
    expect(verifyReport(hub.vault.sodium, report, s.reporter.keys.publicKey)).toBe(true);
    await waitFor(() => new Outbox(hub.vault.db).size() === 0, 2000, 'outbox emptied');
  });

  it('refuses to send credentials in clear text to another host, and needs certificate and key together', () => {
    const base = loadConfig({ flags: { 'data-dir': hub.config.dataDir } });
    const cfg = (u: Partial<typeof base.uplink>) => ({ ...base, uplink: { ...base.uplink, ...u } });
    expect(() => readConnectOptions(cfg({ url: 'mqtt://collector.example:1883', username: 'hub', passwordFile: 'uplink-password' }))).toThrow(UplinkConfigError);
    expect(() => readConnectOptions(cfg({ url: 'mqtts://collector.example:8883', certFile: 'upstream-ca.pem' }))).toThrow(/together/);
    expect(() => readConnectOptions(cfg({ url: 'mqtts://collector.example:8883', passwordFile: 'missing' }))).toThrow(/cannot read the uplink password file/);
    expect(readConnectOptions(cfg({ url: 'mqtts://collector.example:8883', username: 'hub', passwordFile: 'uplink-password' }))).toMatchObject({ username: 'hub', password: 'correct horse' });
    expect(() => loadConfig({ flags: { 'data-dir': hub.config.dataDir }, env: { HEARTH_UPLINK_URL: 'mqtt://user:pw@collector.example' } })).toThrow(/no credentials in the URL/);
  });
});
