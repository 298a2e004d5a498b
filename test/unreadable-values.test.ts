/**
 * One damaged byte in a stored sealed value (a nickname, a member's name, a camera's state, an
 * event's detail) in a real database file: the web API, the export and the CLI show "(unreadable)"
 * for that value and everything else as usual instead of failing with a 500; each such read is
 * counted (by purpose, never with the value); forget still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraRecord } from '../src/devices/camera/store.js';
import { UNREADABLE } from '../src/crypto/sealer.js';
import { addCameraWithPassword, cli } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

describe('a damaged sealed value', () => {
  let web: WebHub;
  let session: WebSession;
  let camId: string;
  let okId: string;
  let memberId: string;

  /** Flips the last byte (inside the authentication tag) of one stored value. */
  function damage(table: string, column: string, where: string, arg: string | number): void {
    const db = web.hub.internals.vault.db;
    const value = db.prepare(`SELECT ${column} FROM ${table} WHERE ${where} = ?`).pluck().get(arg) as Buffer;
    const broken = Buffer.from(value);
    broken[broken.length - 1] ^= 0x01;
    db.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${where} = ?`).run(broken, arg);
  }

  beforeAll(async () => {
    web = await startWebHub();
    session = await logIn(web.hub);
    const cam = addCameraWithPassword(web.hub, 'Front door');
    camId = cam.id;
    okId = addCameraWithPassword(web.hub, 'Garden').id;
    memberId = web.hub.ctx.services.members.add('Ada').id;
    const { vault, cameras } = web.hub.internals;
    const now = Date.now();
    const records = [
      { kind: 'status', deviceId: camId, status: { state: 'online', ssid: 'CanaryNet', rssi: -60 }, at: now },
      { kind: 'event', deviceId: camId, event: { type: 'motion', ts: now, detail: 'porch left' }, at: now },
      { kind: 'event', deviceId: camId, event: { type: 'motion', ts: now + 1, detail: 'porch right' }, at: now + 1 },
    ] as CameraRecord[];
    vault.db.transaction(() => cameras.writeBatch(records)).immediate();
    cameras.invalidateCaches();
    damage('devices', 'nickname', 'id', camId);
    damage('members', 'name', 'id', memberId);
    damage('camera_state', 'state', 'device_id', camId);
    const firstDetail = vault.db.prepare("SELECT MIN(id) FROM events WHERE device_id = ? AND detail IS NOT NULL").pluck().get(camId) as number;
    damage('events', 'detail', 'id', firstDetail);
  }, 30_000);

  afterAll(async () => {
    await web?.stop();
  });

  it('shows "(unreadable)" in the lists, the device page, the status and the export, and counts it', async () => {
    const before = web.hub.internals.counters.snapshot();
    const list = await session.request('GET', '/api/devices');
    expect(list.statusCode).toBe(200);
    const nicknames = (list.json() as { devices: { id: string; nickname: string }[] }).devices.map((d) => [d.id, d.nickname]);
    expect(nicknames).toEqual(expect.arrayContaining([[camId, UNREADABLE], [okId, 'Garden']]));
    expect((await session.request('GET', '/api/status')).statusCode).toBe(200);
    const page = await session.request('GET', `/api/devices/${camId}`);
    expect(page.statusCode).toBe(200);
    const body = page.json() as { device: { nickname: string; ssid: string | null; eventCounts: Record<string, number> }; events: { detail: string | null }[] };
    expect(body.device.nickname).toBe(UNREADABLE);
    expect(body.device.ssid).toBeNull(); // the state did not open: no field of it is shown
    expect(body.device.eventCounts.motion).toBe(2);
    expect(body.events.map((e) => e.detail).sort()).toEqual([UNREADABLE, 'porch right']);
    const members = await session.request('GET', '/api/members');
    expect(members.statusCode).toBe(200);
    expect((members.json() as { members: { name: string }[] }).members.map((m) => m.name)).toEqual([UNREADABLE]);
    const exported = await session.request('GET', `/api/export/device/${camId}`);
    expect(exported.statusCode).toBe(200);
    expect(exported.body).toContain(UNREADABLE);
    expect(exported.body).toContain('porch right');
    const after = web.hub.internals.counters.snapshot();
    for (const code of ['store.unseal_failed.device_nickname', 'store.unseal_failed.member_name', 'store.unseal_failed.camera_state', 'store.unseal_failed.event_detail']) {
      expect(after[code] ?? 0, code).toBeGreaterThan(before[code] ?? 0);
    }
    // Four damaged values, each shown as unreadable (refused), the rest of every answer intact.
    recordTally({ surface: 'damaged-sealed-values', tried: 4, refused: 4, accepted: 0, crashes: 0, dataLost: 0 });
  });

  it('the CLI lists it too, and forgetting the device and the member still works', async () => {
    const listed = cli(['device', 'list', '--json', '--data-dir', web.dataDir]);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string; nickname: string }[]).find((d) => d.id === camId)?.nickname).toBe(UNREADABLE);
    expect((await session.request('DELETE', `/api/devices/${camId}`)).statusCode).toBeLessThan(300);
    expect(web.hub.ctx.services.devices.get(camId)).toBeUndefined();
    expect((await session.request('DELETE', `/api/forget/member/${memberId}`)).statusCode).toBeLessThan(300);
    expect(web.hub.ctx.services.members.store.get(memberId)).toBeUndefined();
  });
});
