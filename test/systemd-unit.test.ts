/**
 * The shipped unit: systemd's own offline analysis must rate its sandbox at exposure 2.0 or lower,
 * and the unit must keep what the hub needs (LAN and unix sockets, GPIO devices and sysfs, the key
 * credential, notify + watchdog).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { offlineExposure, systemdAnalyzer, unitDirective } from './helpers/systemd.js';

const unitPath = fileURLToPath(new URL('../systemd/hearth.service', import.meta.url));
const unit = readFileSync(unitPath, 'utf8');

const directive = (name: string): string[] => unitDirective(unit, 'Service', name);
const analyzer = systemdAnalyzer;

describe('systemd/hearth.service', () => {
  it('has an exposure level of 2.0 or lower in `systemd-analyze security --offline=true`', () => {
    const { exposure, out } = offlineExposure(unitPath);
    expect(exposure, out).not.toBeNull();
    expect(exposure).toBeGreaterThan(0); // a parse that yields 0 would hide a broken analysis
    expect(exposure).toBeLessThanOrEqual(2.0);
  });

  it('passes `systemd-analyze verify` apart from the user and binary that exist only once installed', () => {
    const res = spawnSync(analyzer(), ['verify', '--man=no', unitPath], { encoding: 'utf8' });
    const problems = (res.stdout + res.stderr)
      .split('\n')
      .filter((l) => l.trim() !== '')
      .filter((l) => !/\/usr\/bin\/node|is not executable|No such file or directory|Failed to|hearth\.service: Command/.test(l));
    expect(problems).toEqual([]);
  });

  it('is a notify service with a watchdog, restarted on failure, with its state in /var/lib/hearth', () => {
    expect(directive('Type')).toEqual(['notify']);
    expect(directive('NotifyAccess')).toEqual(['main']);
    expect(directive('WatchdogSec')[0]).toMatch(/^\d+s$/);
    expect(directive('Restart')).toEqual(['on-failure']);
    expect(directive('StateDirectory')).toEqual(['hearth']);
    expect(directive('Environment')).toContain('HEARTH_DATA_DIR=/var/lib/hearth');
    expect(directive('User')).toEqual(['hearth']);
    expect(directive('SupplementaryGroups')[0]!.split(/\s+/).sort()).toEqual(['bluetooth', 'gpio']);
    expect(directive('LoadCredential')).toEqual(['hearth.key:/etc/hearth/hearth.key']);
    expect(directive('StandardError')).toEqual(['journal']);
  });

  it('keeps LAN and unix sockets, GPIO devices and the sysfs GPIO tree', () => {
    expect(directive('RestrictAddressFamilies')[0]!.split(/\s+/).sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
    expect(directive('PrivateNetwork')).toEqual([]);
    expect(directive('DevicePolicy')).toEqual(['closed']);
    expect(directive('DeviceAllow')).toContain('char-gpiochip rw');
    expect(directive('ReadWritePaths').join(' ')).toContain('/sys/class/gpio');
    // Nothing may hide the D-Bus socket BlueZ is reached through.
    for (const d of ['InaccessiblePaths', 'TemporaryFileSystem']) expect(directive(d).join(' ')).not.toMatch(/\/run/);
  });

  it('documents the encrypted-credential variant', () => {
    expect(unit).toMatch(/^#\s+LoadCredentialEncrypted=hearth\.key:\/etc\/hearth\/hearth\.key\.cred$/m);
  });
});

