/**
 * The uplink inside the real daemon (compiled CLI, its own process) sending to a real Mosquitto:
 * consent given through the CLI, a camera's data turned into a report by `hearth report now` run
 * alongside the daemon, the privacy flag holding it back, and nothing personal in what left.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/uplink/report.js';
import { cli, enrolCamera, nextWholeSecond, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';
import { Mosquitto, subscriber, waitFor, type Received } from './uplink-helpers.js';

describe('the daemon’s uplink', () => {
  const data = tempDir();
  const mq = tempDir('hearth-mosquitto-');
  let mosquitto: Mosquitto;
  let daemon: DaemonHandle;
  let collector: { client: mqtt.MqttClient; received: Received[] };

  beforeAll(async () => {
    mosquitto = await Mosquitto.start(mq.path);
    collector = await subscriber(mosquitto.url, 'collector-daemon-test');
    expect(cli(['init', '--data-dir', data.path]).code).toBe(0);
    // Enough questions a day that both categories answer in each `report now` (the daemon and the CLI read this file).
    writeFileSync(join(data.path, 'hearth.json'), JSON.stringify({ uplink: { dailyEpsilonBudget: 20, questionsPerDay: 20 } }));
    for (const category of ['adoption', 'device-health']) expect(cli(['consent', 'set', category, 'on', '--data-dir', data.path]).code).toBe(0);
    daemon = await startDaemon(data.path, [], { HEARTH_UPLINK_URL: mosquitto.url });
  });

  afterAll(async () => {
    await daemon?.stop();
    collector?.client.end(true);
    await mosquitto?.stop();
    data.cleanup();
    mq.cleanup();
  });

  it('sends a consented report closed by the CLI, holds the next one while paused, and leaks nothing personal', async () => {
    const cam = enrolCamera(data.path, 'Nursery camera');
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${daemon.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${cam.id}/status`, JSON.stringify({ state: 'online', ssid: 'HomeNet-Private', ip: '192.168.44.7', rssi: -48, model: 'ModelZeta', firmware: 'fw-9.8.7-beta' }));
    await publishAcked(client, `hearth/cam/${cam.id}/event`, JSON.stringify({ type: 'activation', ts: Date.now() }));
    client.end(true);

    await nextWholeSecond(); // the window closes on a whole second: the activation falls inside it
    expect(cli(['report', 'now', '--data-dir', data.path]).code).toBe(0);
    await waitFor(() => collector.received.length >= 2, 15_000, 'two reports (adoption, device-health) at the collector');
    const reports = collector.received.map((r) => JSON.parse(r.payload.toString('utf8')) as Report);
    expect(new Set(reports.map((r) => r.category))).toEqual(new Set(['adoption', 'device-health']));
    for (const r of collector.received) {
      expect(r.topic).toMatch(/^hearth\/v1\/reports\/[A-Za-z0-9_-]+$/);
      const text = r.payload.toString('utf8');
      for (const secret of ['Nursery', 'HomeNet', '192.168.44', 'ModelZeta', 'fw-9.8.7', cam.id, cam.password]) expect(text).not.toContain(secret);
    }
    // The ledger holds exactly what left.
    const ledger = JSON.parse(cli(['ledger', '--json', '--data-dir', data.path]).stdout) as unknown[];
    expect(ledger.length).toBe(collector.received.length);

    // Paused: the next report queues and nothing leaves; resumed: it goes, once.
    expect(cli(['privacy', 'pause', '--data-dir', data.path]).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1500));
    const sent = collector.received.length;
    expect(cli(['report', 'now', '--data-dir', data.path]).code).toBe(0);
    await new Promise((r) => setTimeout(r, 2500));
    expect(collector.received.length).toBe(sent);
    expect(cli(['report', 'queue', '--data-dir', data.path]).stdout).toMatch(/paused/);
    expect(cli(['privacy', 'resume', '--data-dir', data.path]).code).toBe(0);
    await waitFor(() => collector.received.length >= sent + 2, 15_000, 'the held reports after resume');
    await new Promise((r) => setTimeout(r, 1000));
    const ids = collector.received.map((r) => (JSON.parse(r.payload.toString('utf8')) as Report).id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
