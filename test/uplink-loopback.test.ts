/**
 * Credentials go over plain mqtt:// only to this machine. The host is parsed, not prefix-matched:
 * 127.0.0.1.example.net is somebody else.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { isLoopbackUrl, readConnectOptions } from '../src/uplink/service.js';
import { tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

const OTHERS = ['mqtt://127.0.0.1.example.net', 'mqtt://127.1' /* not normalised for mqtt: URLs; refusing is the safe side */, 'mqtt://127.evil.example', 'mqtt://localhost.example.net:1883', 'mqtt://[::2]:1883', 'mqtt://[::ffff:10.0.0.1]', 'mqtt://10.127.0.1', 'mqtt://128.0.0.1'];
const LOOPBACK = ['mqtt://127.0.0.1:1883', 'mqtt://127.8.9.10', 'mqtt://localhost:1883', 'mqtt://LOCALHOST', 'mqtt://[::1]:1883', 'mqtt://[::ffff:127.0.0.1]'];

describe('uplink loopback check', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());

  it('parses the host instead of matching a prefix', () => {
    for (const u of OTHERS) expect(isLoopbackUrl(u), u).toBe(false);
    for (const u of LOOPBACK) expect(isLoopbackUrl(u), u).toBe(true);
  });

  it('refuses to send the password over plain MQTT to a host whose name starts with 127.', () => {
    writeFileSync(join(dir.path, 'uplink.pw'), 'secret\n', { mode: 0o600 });
    let refused = 0;
    for (const url of OTHERS.filter((u) => !u.includes('['))) {
      const config = loadConfig({ flags: { 'data-dir': dir.path }, env: { HEARTH_UPLINK_URL: url, HEARTH_UPLINK_USERNAME: 'hub', HEARTH_UPLINK_PASSWORD_FILE: 'uplink.pw' } });
      expect(() => readConnectOptions(config), url).toThrow(/plain mqtt:\/\//);
      refused++;
    }
    const ok = loadConfig({ flags: { 'data-dir': dir.path }, env: { HEARTH_UPLINK_URL: 'mqtt://127.0.0.1:1883', HEARTH_UPLINK_USERNAME: 'hub', HEARTH_UPLINK_PASSWORD_FILE: 'uplink.pw' } });
    expect(readConnectOptions(ok).username).toBe('hub');
    recordTally({ surface: 'uplink-url', tried: OTHERS.length + LOOPBACK.length + refused + 1, refused: OTHERS.length + refused, accepted: LOOPBACK.length + 1, crashes: 0, dataLost: 0 });
  });
});
