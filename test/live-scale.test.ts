/**
 * A scale enrolled in the web UI is read at once (the BLE reader follows the bus, not its next
 * look at the store, which is a minute away while no scale is enrolled), and its weigh-in reaches
 * an open page's live stream. In process, over a private system bus with the BlueZ stand-in.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startPrivateBus, startStandin, type BluezStandin, type PrivateBus } from './helpers/bluez.js';
import { logIn, startWebHub, type WebHub, type WebSession } from './helpers/web.js';

const SCALE = 'C8:47:8C:77:66:55';
let bus: PrivateBus;
let bluez: BluezStandin;
let web: WebHub;
let session: WebSession;

beforeAll(async () => {
  bus = await startPrivateBus();
  bluez = await startStandin(bus.address);
  await bluez.addDevice({ address: SCALE, name: 'MIBCS' });
  process.env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  web = await startWebHub({ HEARTH_BLE_ENABLED: 'true', HEARTH_BLE_SCAN_WINDOW: '5', HEARTH_BLE_SCAN_INTERVAL: '5', HEARTH_GPIO_ENABLED: 'false' });
  session = await logIn(web.hub);
});

afterAll(async () => {
  await web?.stop();
  await bluez?.stop();
  await bus?.stop();
});

/** Opens the live stream with the session and collects what arrives. */
function liveStream(): { received: string[]; close(): void } {
  const received: string[] = [];
  const req = http.get({ host: '127.0.0.1', port: web.hub.httpPort, path: '/api/events', headers: { cookie: session.cookie } }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => received.push(chunk));
  });
  req.on('error', () => {});
  return { received, close: () => req.destroy() };
}

describe('a scale enrolled in the web UI', () => {
  it('is read at once, and its weigh-in reaches an open page live', async () => {
    const live = liveStream();
    try {
      await eventually('the live stream open', () => live.received.join('').includes('retry:'), 5000, 50);
      const enrolled = await session.request('POST', '/api/devices/scale', { address: SCALE, nickname: 'Bathroom' });
      expect(enrolled.statusCode).toBe(201);
      // Bluetooth opens well before the reader's one-minute look for new scales.
      await bluez.waitFor('discovery', (s) => s.adapter?.discovering === true, 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      await bluez.advert(SCALE, { '181b': '0204e607020e10293a00009a38' });
      for (let i = 0; i < 3; i++) await bluez.advert(SCALE, { '181b': '0226e607020e10293af7019a38' });
      await bluez.advert(SCALE, { '181b': '02a6e607020e10293af7019a38' });
      await eventually('the weigh-in on the live stream', () => live.received.join('').includes('event: measurement'), 15_000, 100);
      const text = live.received.join('');
      expect(text).toContain('event: devices'); // the enrolment itself
      // Ids, kinds and times only: no weight, no address on the stream.
      expect(text).not.toMatch(/72\.45|C8:47:8C/i);
    } finally {
      live.close();
    }
  });
});
