/**
 * The daily backup units: systemd's offline analysis rates the service's sandbox (no network, no
 * credential, no devices), both units verify, and the service's exact command line works with
 * scripts/backup.sh (the file the installer puts at /opt/hearth/bin/hearth-backup).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, cli, ROOT, tempDir } from './helpers/hub.js';
import { offlineExposure, systemdAnalyzer, unitDirective } from './helpers/systemd.js';

const servicePath = join(ROOT, 'systemd', 'hearth-backup.service');
const timerPath = join(ROOT, 'systemd', 'hearth-backup.timer');

const directive = (path: string, section: string, name: string): string[] => unitDirective(readFileSync(path, 'utf8'), section, name);

describe('systemd/hearth-backup.{service,timer}', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('has an exposure level of 2.0 or lower in `systemd-analyze security --offline=true`', () => {
    const { exposure, out } = offlineExposure(servicePath);
    expect(exposure, out).not.toBeNull();
    expect(exposure).toBeGreaterThan(0);
    expect(exposure).toBeLessThanOrEqual(2.0);
  });

  it('passes `systemd-analyze verify` apart from the script that exists only once installed', () => {
    const res = spawnSync(systemdAnalyzer(), ['verify', '--man=no', servicePath, timerPath], { encoding: 'utf8' });
    const problems = (res.stdout + res.stderr)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => !/\/opt\/hearth\/bin\/hearth-backup is not executable/.test(l));
    expect(problems).toEqual([]);
  });

  it('runs as the service user without key, network or devices, writing only state and backups', () => {
    expect(directive(servicePath, 'Service', 'Type')).toEqual(['oneshot']);
    expect(directive(servicePath, 'Service', 'User')).toEqual(['hearth']);
    expect(directive(servicePath, 'Service', 'StateDirectory')).toEqual(['hearth']);
    expect(directive(servicePath, 'Service', 'ReadWritePaths')).toEqual(['/var/backups/hearth']);
    expect(directive(servicePath, 'Service', 'ProtectSystem')).toEqual(['strict']);
    expect(directive(servicePath, 'Service', 'PrivateNetwork')).toEqual(['yes']);
    expect(directive(servicePath, 'Service', 'PrivateDevices')).toEqual(['yes']);
    expect(directive(servicePath, 'Service', 'RestrictAddressFamilies')).toEqual(['AF_UNIX']);
    for (const cred of ['LoadCredential', 'LoadCredentialEncrypted', 'SetCredential']) expect(directive(servicePath, 'Service', cred)).toEqual([]);
    expect(directive(timerPath, 'Timer', 'OnCalendar')).toHaveLength(1);
    expect(directive(timerPath, 'Timer', 'Persistent')).toEqual(['yes']);
    expect(directive(timerPath, 'Install', 'WantedBy')).toEqual(['timers.target']);
  });

  it("the service's command line, run as written, leaves a sealed, private backup", () => {
    const d = tempDir();
    dirs.push(d);
    const data = join(d.path, 'data');
    const backups = join(d.path, 'backups');
    expect(cli(['init', '--data-dir', data]).code).toBe(0);
    mkdirSync(backups, { mode: 0o700 });

    const [command, ...args] = directive(servicePath, 'Service', 'ExecStart')[0]!.split(/\s+/);
    expect(command).toBe('/opt/hearth/bin/hearth-backup');
    const env: Record<string, string> = {};
    for (const assignment of directive(servicePath, 'Service', 'Environment')) {
      const eq = assignment.indexOf('=');
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
    expect(env.HEARTH_DATA_DIR).toBe('/var/lib/hearth');
    // The installed paths, mapped onto this checkout and the temp dirs.
    const mapped = args.map((a) => (a === '/var/backups/hearth' ? backups : a));
    expect(mapped).toContain(backups);
    const res = spawnSync('sh', [join(ROOT, 'scripts', 'backup.sh'), ...mapped], {
      env: { ...baseEnv(), ...env, HEARTH_DATA_DIR: data, HEARTH_NODE: process.execPath },
      encoding: 'utf8',
    });
    expect(res.status, res.stderr).toBe(0);
    const written = readdirSync(backups).filter((n) => n.endsWith('.db'));
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^hearth-\d{8}T\d{6}Z\.db$/);
    // Beside it only the fingerprint of the key it needs (public), never the key.
    expect(readdirSync(backups).sort()).toEqual([written[0], `${written[0]}.key-fingerprint`]);
    expect(statSync(join(backups, written[0]!)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(backups, written[0]!)).includes(readFileSync(join(data, 'hearth.key')))).toBe(false);
  });
});
