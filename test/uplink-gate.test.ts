/**
 * Privacy gates: the database flag seen across two connections (the CLI and the daemon), the
 * in-memory switch, and their combination.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, openDatabase, type Db } from '../src/store/database.js';
import { PrivacyFlagGate, readPrivacyFlag, writePrivacyFlag } from '../src/uplink/privacy-flag.js';
import { anyPaused, SwitchablePrivacyGate } from '../src/uplink/privacy-gate.js';
import { cli } from './helpers/hub.js';
import { testVault, waitFor, type TestHub } from './uplink-helpers.js';

describe('privacy gates', () => {
  let hub: TestHub;
  let other: Db;
  beforeEach(async () => {
    hub = await testVault();
    other = openDatabase(join(hub.config.dataDir, DB_FILE_NAME), { mustExist: true });
  });
  afterEach(async () => {
    other.close();
    await hub.cleanup();
  });

  it('a database flag set by another connection reaches the daemon within the poll interval', async () => {
    const daemonSide = new PrivacyFlagGate(hub.vault.db, 20);
    daemonSide.start();
    const seen: boolean[] = [];
    const off = daemonSide.onChange((p) => seen.push(p));
    expect(daemonSide.isPaused()).toBe(false);
    writePrivacyFlag(other, true);
    await waitFor(() => seen.length === 1, 2000, 'pause seen');
    expect(daemonSide.isPaused()).toBe(true);
    writePrivacyFlag(other, false);
    await waitFor(() => seen.length === 2, 2000, 'resume seen');
    expect(seen).toEqual([true, false]);
    off();
    daemonSide.stop();
  });

  it('`hearth report pause` and `resume` set the same flag as `hearth privacy pause`', () => {
    const gate = { isPaused: () => readPrivacyFlag(hub.vault.db) };
    const paused = cli(['report', 'pause', '--data-dir', hub.config.dataDir]);
    expect(paused.stdout).toMatch(/upstream paused/);
    expect(paused.stderr).toMatch(/another name for `hearth privacy pause`/);
    expect(gate.isPaused()).toBe(true);
    expect(cli(['privacy', 'status', '--data-dir', hub.config.dataDir]).stdout).toMatch(/paused/);
    expect(cli(['report', 'queue', '--data-dir', hub.config.dataDir]).stdout).toMatch(/paused/);
    expect(cli(['report', 'resume', '--data-dir', hub.config.dataDir]).stdout).toMatch(/resumed/);
    expect(gate.isPaused()).toBe(false);
  });

  it('anyPaused is paused while any gate is, and reports only real transitions', () => {
    const a = new SwitchablePrivacyGate();
    const b = new SwitchablePrivacyGate();
    const both = anyPaused(a, b);
    const seen: boolean[] = [];
    const off = both.onChange((p) => seen.push(p));
    a.setPaused(true);
    b.setPaused(true);
    a.setPaused(false);
    expect(both.isPaused()).toBe(true);
    b.setPaused(false);
    expect(both.isPaused()).toBe(false);
    expect(seen).toEqual([true, false]);
    off();
    a.setPaused(true);
    expect(seen).toEqual([true, false]);
  });
});
