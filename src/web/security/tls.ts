/**
 * Optional TLS for the web UI with a certificate the hub makes for itself. On the first start with
 * http.tls on, the hub creates a self-signed certificate (ECDSA P-256, ten years) in the data dir:
 * web-key.pem (mode 0600) and web-cert.pem. Browsers cannot check it against a CA, so the household
 * compares its SHA-256 fingerprint with the one `hearth web fingerprint` prints.
 *
 * Made with the system's `openssl` rather than an npm package: it is on every Debian / Raspberry Pi
 * OS image, generates an EC key in milliseconds (pure-JS RSA generation takes seconds on a Pi), and
 * keeps one more dependency out of the hub.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const WEB_KEY_FILE = 'web-key.pem';
export const WEB_CERT_FILE = 'web-cert.pem';

export interface WebCertificate {
  key: Buffer;
  cert: Buffer;
  /** SHA-256 fingerprint, colon-separated hex (as browsers show it). */
  fingerprint: string;
  /** True when this call created the certificate. */
  created: boolean;
}

export class WebCertificateError extends Error {}

/** The fingerprint of a PEM certificate. */
export function certificateFingerprint(certPem: Buffer | string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** Reads the data dir's web certificate; undefined when none was made yet. */
export function readWebCertificate(dataDir: string): Omit<WebCertificate, 'created'> | undefined {
  const keyPath = join(dataDir, WEB_KEY_FILE);
  const certPath = join(dataDir, WEB_CERT_FILE);
  if (!existsSync(keyPath) || !existsSync(certPath)) return undefined;
  const cert = readFileSync(certPath);
  let fingerprint: string;
  try {
    fingerprint = certificateFingerprint(cert);
  } catch {
    throw new WebCertificateError(`${certPath} is not a readable certificate; remove ${WEB_CERT_FILE} and ${WEB_KEY_FILE} to make a new one`);
  }
  return { key: readFileSync(keyPath), cert, fingerprint };
}

/** The data dir's web certificate, created on first use. */
export function ensureWebCertificate(dataDir: string): WebCertificate {
  const existing = readWebCertificate(dataDir);
  if (existing) return { ...existing, created: false };
  const keyPath = join(dataDir, WEB_KEY_FILE);
  const certPath = join(dataDir, WEB_CERT_FILE);
  // Written under temporary names and moved into place, so a crash midway leaves no half pair.
  const tmpKey = `${keyPath}.tmp-${process.pid}`;
  const tmpCert = `${certPath}.tmp-${process.pid}`;
  const name = hostname().replace(/[^A-Za-z0-9.-]/g, '').slice(0, 63) || 'hearth';
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650', '-subj', `/CN=${name}`,
        '-addext', `subjectAltName=DNS:${name},DNS:${name}.local,DNS:localhost,IP:127.0.0.1`, '-keyout', tmpKey, '-out', tmpCert],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000, env: { ...process.env, OPENSSL_CONF: '/dev/null' } },
    );
    chmodSync(tmpKey, 0o600);
    renameSync(tmpKey, keyPath);
    renameSync(tmpCert, certPath);
  } catch (err) {
    rmSync(tmpKey, { force: true });
    rmSync(tmpCert, { force: true });
    const why = (err as { code?: string }).code === 'ENOENT' ? 'openssl is not installed (apt install openssl)' : 'openssl failed';
    throw new WebCertificateError(`cannot create the web UI's TLS certificate: ${why}`);
  }
  const made = readWebCertificate(dataDir)!;
  return { ...made, created: true };
}
