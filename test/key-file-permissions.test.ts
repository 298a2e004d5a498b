/**
 * The daemon and the CLI refuse a master key that other users can read or that belongs to another
 * user, and say the command that fixes it.
 */
import { chmodSync, chownSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

describe('master key file permissions', () => {
  const dirs: { cleanup(): void }[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

  it('refuses a group/world readable key or one owned by someone else, with the fix to type', () => {
    const d = tempDir();
    dirs.push(d);
    expect(cli(['init', '--data-dir', d.path]).code).toBe(0);
    const key = join(d.path, 'hearth.key');
    let tried = 0;
    let refused = 0;
    for (const mode of [0o644, 0o640]) {
      chmodSync(key, mode);
      const res = cli(['device', 'list', '--data-dir', d.path]);
      tried++;
      if (res.code !== 0) refused++;
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain(`chmod 600 ${key}`);
    }
    chmodSync(key, 0o600);
    expect(cli(['device', 'list', '--data-dir', d.path]).code).toBe(0);
    if (process.getuid?.() === 0) {
      // A key of another ordinary user is refused (one of root's would be accepted: root can
      // replace anything anyway).
      chownSync(key, 65534, 65534);
      const res = cli(['device', 'list', '--data-dir', d.path]);
      tried++;
      if (res.code !== 0) refused++;
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/belongs to another user/);
      expect(res.stderr).toContain(`chown 0 ${key}`);
      chownSync(key, 0, 0);
    }
    chmodSync(key, 0o400);
    expect(cli(['device', 'list', '--data-dir', d.path]).code).toBe(0);
    recordTally({ surface: 'key-file', tried, refused, accepted: tried - refused, crashes: 0, dataLost: 0 });
  });
});
