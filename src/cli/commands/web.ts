/**
 * `hearth web fingerprint`: the SHA-256 fingerprint of the web UI's self-signed certificate, to
 * compare with what the browser shows before trusting it. Reads the certificate file only (no key,
 * no database), so it works while the hub runs.
 */
import { readWebCertificate, WEB_CERT_FILE } from '../../web/security/tls.js';
import { UsageError, type CommandSpec } from '../command.js';

const fingerprint: CommandSpec = {
  name: 'web fingerprint',
  usage: '[--data-dir DIR]',
  summary: "print the SHA-256 fingerprint of the hub's TLS certificate (the web UI's with http.tls, MQTT's with mqtt.tls)",
  async run(ctx) {
    const config = ctx.config();
    const cert = readWebCertificate(config.dataDir);
    if (!cert) throw new UsageError(`no ${WEB_CERT_FILE} in ${config.dataDir}: the hub makes it on its first start with http.tls or mqtt.tls on (HEARTH_HTTP_TLS=true, HEARTH_MQTT_TLS=true)`, 1);
    ctx.out(`SHA-256 ${cert.fingerprint}`);
    if (!config.http.tls && !config.mqtt.tls) ctx.err('note: http.tls and mqtt.tls are off, so nothing uses this certificate now');
    return 0;
  },
};

export const webCommands: CommandSpec[] = [fingerprint];
