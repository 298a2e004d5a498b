/**
 * Scales, members and weigh-ins in a real SQLite file: sealing (nothing readable on disk, AAD bound
 * to the row), blind-index lookups, the count-only weigh_in event, and the CLI end to end.
 */
import { enrolScale } from './helpers/enrol.js';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openVault } from '../src/store/vault.js';
import { ScaleStore, normalizeBleAddress } from '../src/devices/scale/store.js';
import { MemberStore } from '../src/members/store.js';
import { SEALED_COLUMNS } from '../src/hub/catalog.js';
import { emptyMeasurement } from '../src/devices/scale/measurement.js';
import { MetricsSource } from '../src/metrics/source.js';
import { scaleUsageMetrics } from '../src/metrics/aggregate.js';
import { cli, tempDir } from './helpers/hub.js';

const dirs: { cleanup(): void }[] = [];
afterAll(() => dirs.forEach((d) => d.cleanup()));

async function freshVault() {
  const d = tempDir();
  dirs.push(d);
  return { dir: d.path, vault: await openVault(d.path, {}, { create: true }) };
}

describe('scale and member storage', () => {
  it('seals addresses, names and body metrics, and finds them again through blind indexes', async () => {
    const { dir, vault } = await freshVault();
    const scales = new ScaleStore(vault.db, vault.sealer);
    const members = new MemberStore(vault.db, vault.sealer);
    const scale = await enrolScale(vault, 'c8:47:8c:aa:bb:cc', 'Bathroom');
    expect(scales.findByAddress('C8-47-8C-AA-BB-CC')).toBe(scale.id);
    expect(scales.findByAddress('C8:47:8C:AA:BB:CD')).toBeUndefined();
    expect(scales.targets()).toEqual([{ deviceId: scale.id, address: 'C8:47:8C:AA:BB:CC' }]);
    await expect(enrolScale(vault, 'C8:47:8C:AA:BB:CC', 'Again')).rejects.toThrow(/already enrolled/);

    const anna = members.add('Annabelle Quist');
    expect(members.findByName('  annabelle   QUIST ')?.id).toBe(anna.id);
    expect(() => members.add('ANNABELLE QUIST')).toThrow(/already exists/);

    const m = { ...emptyMeasurement('mi-body-composition', 'kg'), weightKg: 61.37, weightReported: 61.37, impedanceOhm: 487 };
    const stored = scales.record({ deviceId: scale.id, measurement: m, measuredAt: 1_700_000_000_000 }, { memberId: anna.id, reason: 'match' });
    expect(scales.history(anna.id)).toEqual([stored]);
    expect(scales.memberWeights([anna.id], 0)).toEqual([{ memberId: anna.id, recentKg: [61.37] }]);

    // Every sealed column opens with the AAD the key-rotation registry uses for it.
    for (const col of SEALED_COLUMNS.filter((c) => ['members', 'scales', 'measurements'].includes(c.table))) {
      const rows = vault.db.prepare(`SELECT ${col.keyColumns.join(', ')}, ${col.column} AS sealed FROM ${col.table}`).all() as Record<string, unknown>[];
      expect(rows.length).toBe(1);
      for (const row of rows) expect(() => vault.sealer.open(col.purpose, col.aad(row), row.sealed as Buffer)).not.toThrow();
    }
    // A sealed metrics blob moved to another row does not open.
    const second = scales.record({ deviceId: scale.id, measurement: m, measuredAt: 1_700_000_100_000 }, { memberId: null, reason: 'ambiguous' });
    vault.db.prepare('UPDATE measurements SET metrics = (SELECT metrics FROM measurements WHERE id = ?) WHERE id = ?').run(stored.id, second.id);
    expect(() => scales.list()).toThrow(/does not open/);
    vault.db.prepare('DELETE FROM measurements WHERE id = ?').run(second.id);

    // The only trace a weigh-in leaves outside its sealed row is a detail-free event, which is all the metric counts.
    const events = vault.db.prepare("SELECT device_id, type, ts, detail FROM events WHERE type = 'weigh_in'").all();
    expect(events).toEqual([
      { device_id: scale.id, type: 'weigh_in', ts: 1_700_000_000_000, detail: null },
      { device_id: scale.id, type: 'weigh_in', ts: 1_700_000_100_000, detail: null },
    ]);
    const input = new MetricsSource(vault.db).input({ start: 0, end: Date.now() + 1000 });
    expect(scaleUsageMetrics(input)).toEqual({ weigh_ins: 2 });
    vault.db.pragma('wal_checkpoint(TRUNCATE)');
    vault.close();

    const raw = readFileSync(join(dir, 'hearth.db'));
    for (const secret of ['C8:47:8C:AA:BB:CC', 'Annabelle', 'annabelle', '61.37', 'Bathroom']) expect(raw.includes(Buffer.from(secret))).toBe(false);
  });

  it('normalizes and rejects addresses', () => {
    expect(normalizeBleAddress('aa-bb-cc-dd-ee-ff')).toBe('AA:BB:CC:DD:EE:FF');
    for (const bad of ['', 'AA:BB:CC:DD:EE', 'AA:BB:CC:DD:EE:FG', 'AA:BB:CC:DD:EE:FF:00', "AA:BB:CC:DD:EE:FF'; --"]) expect(normalizeBleAddress(bad)).toBeUndefined();
  });
});

describe('scale and member CLI', () => {
  it('decodes a pasted capture as JSON, including a split 0x2A9C measurement', () => {
    const one = cli(['scale', 'decode', '--format', 'mi-body-composition', '--hex', '0226e607020e10293af7019a38', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ ok: true, measurement: { weightKg: 72.45, impedanceOhm: 503 } });

    const split = cli(['scale', 'decode', '--format', '2a9c', '--hex', '7e10d700e807030f071e0501581b92013016342b,801fd700a028141e88131437d606', '--json']);
    expect(split.code).toBe(0);
    expect(JSON.parse(split.stdout)).toMatchObject({ ok: true, measurement: { weightKg: 70.5, heightM: 1.75, muscleMassKg: 28.4 } });

    const bad = cli(['scale', 'decode', '--format', '2a9d', '--hex', '0e1437', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, code: 'truncated' });
    expect(cli(['scale', 'decode', '--format', 'nope', '--hex', '00']).code).toBe(2);
    expect(cli(['scale', 'decode', '--format', '2a9d', '--hex', 'zz']).code).toBe(2);
  });

  it('enrols scales and members, lists them, and shows a member history decrypted', async () => {
    const d = tempDir();
    dirs.push(d);
    expect(cli(['init', '--data-dir', d.path]).code).toBe(0);
    const add = cli(['device', 'add', 'scale', 'c8:47:8c:00:11:22', 'Bathroom', 'scale', '--data-dir', d.path, '--json']);
    expect(add.code).toBe(0);
    const scaleId = JSON.parse(add.stdout).id as string;
    expect(cli(['device', 'add', 'scale', 'C8:47:8C:00:11:22', 'Again', '--data-dir', d.path]).code).toBe(1);
    expect(cli(['device', 'add', 'scale', 'not-an-address', 'x', '--data-dir', d.path]).code).toBe(2);
    expect(cli(['member', 'add', 'Ben', '--data-dir', d.path]).code).toBe(0);
    expect(cli(['member', 'add', 'ben', '--data-dir', d.path]).code).toBe(1);
    expect(JSON.parse(cli(['member', 'list', '--data-dir', d.path, '--json']).stdout)).toMatchObject([{ name: 'Ben' }]);
    const devices = JSON.parse(cli(['device', 'list', '--data-dir', d.path, '--json']).stdout);
    expect(devices).toMatchObject([{ id: scaleId, kind: 'scale', nickname: 'Bathroom scale' }]);

    // A weigh-in stored unassigned, then resolved by hand.
    const vault = await openVault(d.path, {});
    const stored = new ScaleStore(vault.db, vault.sealer).record(
      { deviceId: scaleId, measurement: { ...emptyMeasurement('2a9d', 'kg'), weightKg: 82.4, weightReported: 82.4 }, measuredAt: Date.UTC(2026, 0, 2, 7) },
      { memberId: null, reason: 'ambiguous' },
    );
    vault.close();
    expect(JSON.parse(cli(['scale', 'measurements', '--unassigned', '--data-dir', d.path, '--json']).stdout)).toMatchObject([{ id: stored.id, weightKg: 82.4, member: null }]);
    expect(cli(['scale', 'assign', stored.id, 'BEN', '--data-dir', d.path]).code).toBe(0);
    const history = JSON.parse(cli(['member', 'history', 'Ben', '--data-dir', d.path, '--json']).stdout);
    expect(history).toMatchObject({ member: { name: 'Ben' }, measurements: [{ id: stored.id, weightKg: 82.4, assignment: 'manual', measuredAt: '2026-01-02T07:00:00.000Z' }] });
    expect(cli(['member', 'history', 'Nobody', '--data-dir', d.path, '--json']).code).toBe(1);
  });
});
