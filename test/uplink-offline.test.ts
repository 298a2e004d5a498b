/**
 * A week without upstream, on an injected clock: the scheduler closes one window a day, the daily
 * budget holds per day, reports pile up in the outbox, and when the collector's broker finally
 * appears every one of them arrives exactly once, oldest first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { ConsentStore } from '../src/consent/consent.js';
import { DeviceRegistry } from '../src/devices/registry.js';
import { silentLogger } from '../src/log/logger.js';
import { PrivacyLedger } from '../src/uplink/ledger.js';
import { MAX_OUTBOX_REPORTS, Outbox } from '../src/uplink/outbox.js';
import type { Report } from '../src/uplink/report.js';
import { SwitchablePrivacyGate } from '../src/uplink/privacy-gate.js';
import { UplinkService } from '../src/uplink/service.js';
import { tempDir } from './helpers/hub.js';
import { freePort, Mosquitto, subscriber, testVault, waitFor, type Received, type TestHub } from './uplink-helpers.js';

const DAY = 86_400_000;

describe('a week offline', () => {
  const brokerDir = tempDir('hearth-mosquitto-week-');
  let hub: TestHub;
  let mosquitto: Mosquitto | undefined;
  let service: UplinkService;
  let collector: { client: { end(force: boolean): void }; received: Received[] } | undefined;
  let now = Date.UTC(2026, 2, 1, 12);
  let port: number;
  const gate = new SwitchablePrivacyGate();

  beforeAll(async () => {
    hub = await testVault();
    port = await freePort();
    // Two questions of ε 0.5 a day: the day's window and one `report now`.
    const config = loadConfig({ flags: { 'data-dir': hub.config.dataDir }, env: { HEARTH_UPLINK_URL: `mqtt://127.0.0.1:${port}`, HEARTH_UPLINK_QUESTIONS_PER_DAY: '2' } });
    const scaleId = new DeviceRegistry(hub.vault.db, hub.vault.sealer).add('scale', 'Hall').id;
    new ConsentStore(hub.vault.db).set('scale-usage', true, now - 1000);
    service = new UplinkService({ ...hub.vault, config, logger: silentLogger, clock: { now: () => now }, gate, backoff: { initialMs: 100, maxMs: 400 }, checkIntervalMs: 3_600_000 });
    service.start();
    const weighIn = hub.vault.db.prepare("INSERT INTO events (device_id, type, ts, received_at) VALUES (?, 'weigh_in', ?, ?)");
    for (let day = 0; day < 7; day++) {
      weighIn.run(scaleId, now + 3_600_000, now + 3_600_000);
      now += DAY + 5 * 60_000;
      expect(service.tick()).toHaveLength(1); // the day's window closes on schedule
      now += 60_000;
      expect(service.closeNow()!.outcomes[2]!.status).toBe('queued'); // someone runs `report now`: the budget allows it
      now += 60_000;
      expect(service.closeNow()!.outcomes[2]!.status).toBe('budget-spent'); // but not a third report that day
    }
  });

  afterAll(async () => {
    await service?.stop();
    collector?.client.end(true);
    await mosquitto?.stop();
    await hub?.cleanup();
    brokerDir.cleanup();
  });

  it('loses none and sends each exactly once, oldest first, after the week', async () => {
    const queued = new Outbox(hub.vault.db).list();
    expect(queued).toHaveLength(14);
    expect(service.client!.isConnected).toBe(false);
    expect(new PrivacyLedger(hub.vault.db).size()).toBe(0);

    // The collector must be subscribed before the hub can reach the broker: hold the hub with its
    // privacy switch meanwhile (the switch also stops connection attempts).
    gate.setPaused(true);
    mosquitto = await Mosquitto.start(brokerDir.path, { port });
    collector = await subscriber(mosquitto.url, 'collector-week');
    expect(collector.received).toHaveLength(0);
    gate.setPaused(false);
    await waitFor(() => collector!.received.length >= 14, 20_000, 'the week of reports');
    await new Promise((r) => setTimeout(r, 500));
    const ids = collector.received.map((r) => (JSON.parse(r.payload.toString('utf8')) as Report).id);
    expect(ids).toEqual(queued.map((q) => q.id));
    expect(new Outbox(hub.vault.db).size()).toBe(0);
    expect(new PrivacyLedger(hub.vault.db).size()).toBe(14);
    const windows = collector.received.map((r) => (JSON.parse(r.payload.toString('utf8')) as Report).window);
    // Windows never overlap (a window closed over budget leaves a gap: it was not reported).
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.start).toBeGreaterThanOrEqual(windows[i - 1]!.end);
  });
});

describe('the outbox bound', () => {
  it('keeps at most MAX_OUTBOX_REPORTS, dropping the oldest first, so an hub never connected cannot fill its disk', async () => {
    const hub = await testVault();
    try {
      const outbox = new Outbox(hub.vault.db);
      let dropped = 0;
      for (let i = 0; i < MAX_OUTBOX_REPORTS + 5; i++) {
        dropped += outbox.enqueue({ id: `r-${String(i).padStart(5, '0')}`, category: 'adoption', topic: 'hearth/v1/reports/x', payload: Buffer.from('{}'), createdAt: 1_000 + i });
      }
      expect(dropped).toBe(5);
      expect(outbox.size()).toBe(MAX_OUTBOX_REPORTS);
      expect(outbox.next()!.id).toBe('r-00005');
    } finally {
      await hub.cleanup();
    }
  });
});
