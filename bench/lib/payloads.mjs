/**
 * Realistic camera payloads (200–400 bytes) carrying the fields the hub seals: status with model,
 * firmware, SSID, IP and RSSI (sealed as the camera's state) plus two vendor extras the hub drops;
 * events with a free-text detail (sealed per event row).
 */

const MODELS = ['Hearthcam Outdoor 2K PoE (HC-220-EU rev C)', 'Hearthcam Indoor Pan/Tilt 1080p (HC-110 rev B)', 'Doorbell Cam Wide 5MP (DB-500 battery edition)'];
const FIRMWARES = ['4.12.7-20260114.build3381+ga1b2c3d (stable)', '4.13.0-rc2-20260201.build3420+g9f8e7d6 (beta)', '3.9.22-20251103.build2977+g0c0ffee (lts)'];
const SSIDS = ['Familie Schneider WLAN 5GHz', 'HOME-NET-2.4G-Guest-Cameras', 'Vodafone-7A3C-Mesh-Backhaul'];
const DETAILS = [
  'zone=driveway; score=0.87; objects=person,car; clip=20261125T062811Z-0042; duration_ms=4200; light=night-ir; pre_roll_s=3; post_roll_s=5; sensitivity=medium',
  'zone=garden-gate; score=0.64; objects=animal; clip=20261125T063015Z-0043; duration_ms=2800; light=day; pre_roll_s=3; post_roll_s=5; sensitivity=high; mask=v2',
  'uplink to 192.168.178.1 failed: dhcp lease renewal timed out after 3 attempts (T1=43200s, T2=75600s); falling back to cached address; rssi=-71 dBm',
];

/** `count` distinct status payloads (Buffers), cycling through plausible values. */
export function statusPayloads(count) {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(
      Buffer.from(
        JSON.stringify({
          state: 'online',
          model: MODELS[i % MODELS.length],
          firmware: FIRMWARES[i % FIRMWARES.length],
          ssid: SSIDS[i % SSIDS.length],
          ip: `192.168.178.${20 + (i % 200)}`,
          rssi: -40 - (i % 50),
          uptime_s: 86_400 + i * 37,
          temp_c: 38 + (i % 9) / 2,
        }),
      ),
    );
  }
  return out;
}

/** `count` distinct event payloads stamped near `nowMs` (device time, milliseconds). */
export function eventPayloads(count, nowMs) {
  const types = ['motion', 'motion', 'sound', 'connect_failed'];
  const out = [];
  for (let i = 0; i < count; i++) {
    const type = types[i % types.length];
    out.push(Buffer.from(JSON.stringify({ type, ts: nowMs - i * 1000, detail: DETAILS[type === 'connect_failed' ? 2 : i % 2] })));
  }
  return out;
}
