/**
 * The household's commands, run as a user runs them (compiled CLI, real data dir): consent,
 * report now / queue / pubkey, and the ledger printing the exact bytes that left.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSodium } from '../src/crypto/sodium.js';
import { ReportValidator, verifyReport, type Report } from '../src/uplink/report.js';
import { PrivacyLedger } from '../src/uplink/ledger.js';
import { openVault } from '../src/store/vault.js';
import { cli, enrolCamera, nextWholeSecond, tempDir } from './helpers/hub.js';

describe('consent, report and ledger commands', () => {
  const dir = tempDir('hearth-privacy-cli-');
  const run = (...args: string[]) => cli([...args, '--data-dir', dir.path]);

  beforeAll(() => {
    expect(run('init').code).toBe(0);
    enrolCamera(dir.path, 'Porch');
  });
  afterAll(() => dir.cleanup());

  it('shows every category off by default', () => {
    const res = run('consent', 'show', '--json');
    expect(res.code).toBe(0);
    const shown = JSON.parse(res.stdout) as { categories: { category: string; enabled: boolean }[]; history: unknown[] };
    expect(shown.categories.map((c) => [c.category, c.enabled])).toEqual([
      ['adoption', false],
      ['device-health', false],
      ['scale-usage', false],
    ]);
    expect(shown.history).toEqual([]);
    expect(run('consent', 'show').stdout).toMatch(/adoption\s+off\s+never set/);
    expect(run('consent', 'show').stdout).toMatch(/asked as: activations \(1BitMean\), activated \(randomized response\), cameras \(1BitMean, memoized\), cameras_bucket \(dBitFlip, memoized\)/);
    const health = (JSON.parse(run('consent', 'show', '--json').stdout) as { categories: { category: string; questions: { name: string; mechanism: string; stable: boolean }[] }[] }).categories[1]!;
    expect(health.questions.map((q) => q.name)).toEqual(['connect_attempts', 'connect_failures', 'had_connect_failure', 'online_percent', 'reboots']);
    expect(health.questions.every((q) => !q.stable)).toBe(true);
  });

  it('rejects unknown categories and settings with a clear reason', () => {
    const bad = run('consent', 'set', 'location', 'on');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown category "location"/);
    expect(run('consent', 'set', 'adoption', 'yes').stderr).toMatch(/must be on or off/);
    expect(run('consent', 'set', 'adoption').code).toBe(2);
  });

  it('queues a signed, valid report on `report now` only for consented categories', async () => {
    expect(run('report', 'now', '--json').stdout).toMatch(/"consent-off"/);
    expect(JSON.parse(run('report', 'queue', '--json').stdout)).toEqual([]);

    expect(run('consent', 'set', 'adoption', 'on').stdout).toMatch(/adoption is now on/);
    expect(run('consent', 'set', 'adoption', 'on').stdout).toMatch(/already on/);
    await nextWholeSecond(); // a window under consent for less than a second would be empty
    const closed = JSON.parse(run('report', 'now', '--json').stdout) as { outcomes: { category: string; status: string; reportId?: string }[] };
    expect(closed.outcomes.map((o) => o.status)).toEqual(['queued', 'consent-off', 'consent-off']);

    const queue = JSON.parse(run('report', 'queue', '--json').stdout) as { id: string; report: Report }[];
    expect(queue.map((q) => q.id)).toEqual([closed.outcomes[0]!.reportId]);
    const key = JSON.parse(run('report', 'pubkey', '--json').stdout) as { pseudonym: string; publicKey: string; algorithm: string };
    expect(key.algorithm).toBe('ed25519');
    expect(queue[0]!.report.key).toBe(key.publicKey);
    expect(queue[0]!.report.hub).toBe(key.pseudonym);
    expect(new ReportValidator().problem(queue[0]!.report)).toBeUndefined();
    const sodium = await loadSodium();
    expect(verifyReport(sodium, queue[0]!.report, Buffer.from(key.publicKey, 'base64'))).toBe(true);
    expect(run('report', 'pubkey').stdout).toContain(key.publicKey);
  });

  it('drops queued reports of a category turned off, and records both changes', () => {
    expect(run('consent', 'set', 'adoption', 'off').stdout).toMatch(/adoption is now off; 1 queued report\(s\) dropped/);
    expect(JSON.parse(run('report', 'queue', '--json').stdout)).toEqual([]);
    const history = (JSON.parse(run('consent', 'show', '--json').stdout) as { history: { category: string; enabled: boolean; at: number }[] }).history;
    expect(history.map((h) => [h.category, h.enabled])).toEqual([
      ['adoption', false],
      ['adoption', true],
    ]);
    expect(history.every((h) => Number.isInteger(h.at) && Math.abs(Date.now() - h.at) < 120_000)).toBe(true);
  });

  it('prints the ledger with the exact bytes that left', async () => {
    expect(run('ledger').stdout).toMatch(/nothing has ever left/);
    const vault = await openVault(dir.path, {});
    const payload = Buffer.from('{"exact":"bytes","n":1}');
    try {
      new PrivacyLedger(vault.db).record('1b4e28ba-2fa1-4d2b-883f-0016d3cca427', 'hearth/v1/reports/x', payload, Date.UTC(2026, 0, 2));
    } finally {
      vault.close();
    }
    const entries = JSON.parse(run('ledger', '--json').stdout) as { sentAt: string; payload: string; payloadBase64: string; bytes: number; topic: string }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ sentAt: '2026-01-02T00:00:00.000Z', payload: payload.toString(), payloadBase64: payload.toString('base64'), bytes: payload.length, topic: 'hearth/v1/reports/x' });
    expect(run('ledger').stdout).toContain('{"exact":"bytes","n":1}');
    expect(run('ledger', '--limit', '0').code).toBe(2);
  });

  it('gives each hub its own signing key and pseudonym', () => {
    const other = tempDir('hearth-privacy-cli-other-');
    try {
      cli(['init', '--data-dir', other.path]);
      const theirs = JSON.parse(cli(['report', 'pubkey', '--json', '--data-dir', other.path]).stdout) as { publicKey: string; pseudonym: string };
      const ours = JSON.parse(run('report', 'pubkey', '--json').stdout) as { publicKey: string; pseudonym: string };
      expect(theirs.publicKey).not.toBe(ours.publicKey);
      expect(theirs.pseudonym).not.toBe(ours.pseudonym);
    } finally {
      other.cleanup();
    }
  });
});
