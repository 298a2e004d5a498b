/**
 * The settings page's Home Assistant switch on a real hub: off by default; turning it on answers
 * the MQTT password once, and a real MQTT client logs in with it and gets the discovery configs;
 * the names switch re-publishes without nicknames; turning it off clears every config and closes
 * the connection. Behind the session and CSRF like every change.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

describe('Home Assistant switch in the web UI', () => {
  let web: WebHub;
  let session: WebSession;
  let client: MqttClient | undefined;
  const configs = new Map<string, string>();

  beforeAll(async () => {
    web = await startWebHub();
    session = await logIn(web.hub);
    await web.hub.ctx.services.devices.enrol('camera', { nickname: 'Hallway' });
  }, 30_000);

  afterAll(async () => {
    client?.end(true);
    await web?.stop();
  });

  it('is off by default, and refuses a change without a session or with an unknown field', async () => {
    const res = await session.request('GET', '/api/integrations/home-assistant');
    expect(res.json()).toEqual({ enabled: false, shareNames: true, weightMembers: [], username: 'homeassistant', port: web.hub.mqttPort });
    const anon = await web.hub.internals.web.inject({ method: 'PUT', url: '/api/integrations/home-assistant', payload: { enabled: true } });
    expect(anon.statusCode).toBe(401);
    expect((await session.request('PUT', '/api/integrations/home-assistant', { enabled: true, ssid: 'x' })).statusCode).toBe(400);
    expect((await session.request('GET', '/api/integrations/home-assistant')).json().enabled).toBe(false);
  });

  it('turning it on shows the password once; Home Assistant logs in with it and gets discovery', async () => {
    const res = await session.request('PUT', '/api/integrations/home-assistant', { enabled: true, shareNames: true });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { enabled: boolean; password: string; username: string };
    expect(body.enabled).toBe(true);
    expect(body.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await session.request('GET', '/api/integrations/home-assistant')).json()).not.toHaveProperty('password');
    client = await mqtt.connectAsync({ host: '127.0.0.1', port: web.hub.mqttPort, username: body.username, password: body.password, reconnectPeriod: 0 });
    client.on('message', (topic, payload) => {
      if (!topic.endsWith('/config')) return;
      if (payload.length === 0) configs.delete(topic);
      else configs.set(topic, payload.toString('utf8'));
    });
    await client.subscribeAsync('homeassistant/#', { qos: 1 });
    await expect.poll(() => configs.size, { timeout: 10_000 }).toBe(6);
    expect([...configs.values()].join('')).toContain('Hallway');
  });

  it('the names switch re-publishes the configs without nicknames', async () => {
    const res = await session.request('PUT', '/api/integrations/home-assistant', { enabled: true, shareNames: false });
    expect(res.json()).toMatchObject({ enabled: true, shareNames: false });
    expect(res.json()).not.toHaveProperty('password');
    await expect.poll(() => [...configs.values()].join('').includes('Hallway'), { timeout: 10_000 }).toBe(false);
    expect(configs.size).toBe(6);
  });

  it("a member's weight switch: off by default, on publishes their weight sensor (named only with names shared), off clears it", async () => {
    const member = web.hub.ctx.services.members.add('Robin');
    const topic = `homeassistant/sensor/${member.id}/weight/config`;
    const anon = await web.hub.internals.web.inject({ method: 'PUT', url: `/api/integrations/home-assistant/weights/${member.id}`, payload: { share: true } });
    expect(anon.statusCode).toBe(401);
    expect((await session.request('PUT', '/api/integrations/home-assistant/weights/mem-000000000000', { share: true })).statusCode).toBe(404);
    expect((await session.request('PUT', `/api/integrations/home-assistant/weights/${member.id}`, { share: 'yes' })).statusCode).toBe(400);
    expect((await session.request('PUT', '/api/integrations/home-assistant/weights/not-a-member-id', { share: true })).statusCode).toBe(404);
    expect((await session.request('GET', '/api/integrations/home-assistant')).json().weightMembers).toEqual([]);
    const on = await session.request('PUT', `/api/integrations/home-assistant/weights/${member.id}`, { share: true });
    expect(on.statusCode).toBe(200);
    expect(on.json().weightMembers).toEqual([member.id]);
    await expect.poll(() => configs.has(topic), { timeout: 10_000 }).toBe(true);
    expect(JSON.parse(configs.get(topic)!).device.name).toBe(`Member ${member.id}`);
    await session.request('PUT', '/api/integrations/home-assistant', { enabled: true, shareNames: true });
    await expect.poll(() => JSON.parse(configs.get(topic) ?? '{}').device?.name, { timeout: 10_000 }).toBe('Robin');
    const off = await session.request('PUT', `/api/integrations/home-assistant/weights/${member.id}`, { share: false });
    expect(off.json().weightMembers).toEqual([]);
    await expect.poll(() => configs.has(topic), { timeout: 10_000 }).toBe(false);
    expect(configs.size).toBe(6);
  });

  it('turning it off clears every config and closes the connection', async () => {
    const closed = new Promise<void>((resolve) => client!.once('close', () => resolve()));
    const res = await session.request('PUT', '/api/integrations/home-assistant', { enabled: false });
    expect(res.json()).toMatchObject({ enabled: false });
    await closed;
    expect(configs.size).toBe(0);
  });
});
