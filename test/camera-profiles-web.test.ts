/**
 * Enrolling a camera with a firmware profile through the web API (POST /api/devices/camera):
 * the answer's allow-list carries the profile and topic patterns, overlaps are a 409, bad topics
 * a 400 with the reason; the camera's page names its profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

describe('web enrolment with a firmware profile', () => {
  let web: WebHub;
  let session: WebSession;

  beforeAll(async () => {
    web = await startWebHub();
    session = await logIn(web.hub);
  });
  afterAll(async () => {
    await web.stop();
  });

  it('answers with the profile and its topics, refuses overlaps and bad topics', async () => {
    const res = await session.request('POST', '/api/devices/camera', { nickname: 'Garage', profile: 'tasmota', topic: 'garage_cam' });
    expect(res.statusCode).toBe(201);
    const cam = res.json();
    expect(cam).toMatchObject({ kind: 'camera', nickname: 'Garage', username: cam.id, profile: 'tasmota', topic: 'garage_cam', topics: { publish: ['tele/garage_cam/#', 'stat/garage_cam/#', 'tasmota/discovery/+/config', 'tasmota/discovery/+/sensors', 'homeassistant/+/+/config', 'cmnd/garage_cam/POWER'], subscribe: ['cmnd/garage_cam/#'] } });
    const clash = await session.request('POST', '/api/devices/camera', { nickname: 'Clash', profile: 'rule', topic: 'tele/garage_cam/SENSOR' });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().error).toMatch(/overlap/);
    const wild = await session.request('POST', '/api/devices/camera', { nickname: 'Wild', profile: 'rule', topic: 'a/#' });
    expect(wild.statusCode).toBe(400);
    expect(wild.json().error).toMatch(/wildcard/);
    const unknown = await session.request('POST', '/api/devices/camera', { nickname: 'X', profile: 'hikvision', topic: 'x' });
    expect(unknown.statusCode).toBe(400);
    const page = await session.request('GET', `/api/devices/${cam.id}`);
    expect(page.json().device).toMatchObject({ profile: 'tasmota' });
  });

  it('the enrol page offers each profile with a line of help', async () => {
    const res = await session.request('GET', '/enrol');
    for (const p of ['frigate', 'thingino', 'dafang', 'tasmota', 'esphome', 'rule']) expect(res.body).toContain(`data-profile-help="${p}"`);
    expect(res.body).toContain('mqtt.topic_prefix');
  });
});
