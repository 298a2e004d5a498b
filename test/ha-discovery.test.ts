/**
 * Home Assistant discovery as pure data: every config hearth builds passes the checks Home
 * Assistant's own schemas make (fixture copied from its source), and so do the examples from its
 * documentation, while configs that break a rule are caught. Also the MQTT account's rules.
 */
import { describe, expect, it } from 'vitest';
import { haMayPublish, haMaySubscribe } from '../src/integrations/home-assistant/acl.js';
import {
  bridgeAvailabilityTopic,
  bridgeConfigs,
  bridgeNode,
  cameraState,
  clearDeviceConfigs,
  deviceConfigs,
  memberConfigs,
  memberState,
  scaleState,
  type HaConfigMessage,
} from '../src/integrations/home-assistant/discovery.js';
import { upstreamState } from '../src/uplink/upstream-state.js';
import { discoveryProblems, HA_SCHEMA } from './helpers/ha-discovery.js';

const ctx = { hubId: '0a1b2c3d', version: '0.1.0' };
const camera = { id: 'cam-0123456789ab', kind: 'camera', kindLabel: 'Camera', nickname: 'Front door', model: 'TC-1', firmware: '1.2.3' };

function all(): HaConfigMessage[] {
  return [...bridgeConfigs(ctx), ...deviceConfigs(ctx, camera), ...deviceConfigs(ctx, { ...camera, id: 'cam-ba9876543210', nickname: undefined, model: null, firmware: null })];
}

describe('discovery configs against Home Assistant schemas', () => {
  it('accepts the examples from Home Assistant documentation (the check is not too strict)', () => {
    for (const e of HA_SCHEMA.examples) expect(discoveryProblems(e.topic, e.config)).toEqual([]);
  });

  it('catches configs Home Assistant would refuse (the check can fail)', () => {
    const [ok] = deviceConfigs(ctx, camera);
    const bad: [string, Record<string, unknown>][] = [
      ['homeassistant/binary_sensor/cam.0123/connectivity/config', ok!.config],
      [ok!.topic, { ...ok!.config, ssid: 'x' }],
      [ok!.topic, { ...ok!.config, state_topic: undefined }],
      [ok!.topic, { ...ok!.config, availability_mode: 'every' }],
      [ok!.topic, { ...ok!.config, device: { name: 'no identifiers' } }],
      [ok!.topic, { ...ok!.config, device_class: 'signal_strength' }],
      [ok!.topic, { ...ok!.config, origin: { sw_version: '1' } }],
      [ok!.topic, { ...ok!.config, availability: [{ topic: 'a/#/b' }] }],
      ['homeassistant/sensor/x/wifi/config', { state_topic: 's', device_class: 'signal_strength', unit_of_measurement: '%' }],
    ];
    for (const [topic, config] of bad) expect(discoveryProblems(topic, config).length, topic + JSON.stringify(config)).toBeGreaterThan(0);
  });

  it('builds configs that all validate, on topics with ids Home Assistant accepts', () => {
    const messages = all();
    expect(messages.length).toBe(2 + 4 + 4);
    for (const m of messages) {
      expect(m.topic).toMatch(/^homeassistant\/(sensor|binary_sensor)\/[a-zA-Z0-9_-]+\/[a-zA-Z0-9_-]+\/config$/);
      expect(discoveryProblems(m.topic, m.config), m.topic).toEqual([]);
    }
  });

  it('gives stable, unique ids, a device block that points at the bridge, origin, and availability mode all', () => {
    const messages = all();
    const ids = messages.map((m) => m.config.unique_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all().map((m) => m.config.unique_id)).toEqual(ids);
    const bridgeId = (bridgeConfigs(ctx)[0]!.config.device as { identifiers: string[] }).identifiers[0];
    expect(bridgeId).toBe(bridgeNode(ctx.hubId));
    for (const m of deviceConfigs(ctx, camera)) {
      const device = m.config.device as Record<string, unknown>;
      expect(device).toMatchObject({ identifiers: [`hearth_${ctx.hubId}_${camera.id}`], name: 'Front door', manufacturer: 'hearth', model: 'TC-1', sw_version: '1.2.3', via_device: bridgeId });
      expect(m.config.origin).toEqual({ name: 'hearth', sw_version: '0.1.0' });
      expect(m.config.availability_mode).toBe('all');
      const topics = (m.config.availability as { topic: string }[]).map((a) => a.topic);
      expect(topics[0]).toBe(bridgeAvailabilityTopic(ctx.hubId));
      expect(m.config.qos).toBe(1);
    }
    // Motion needs the camera connected; connectivity reads "off" (not unavailable) when it is not.
    const byObject = Object.fromEntries(deviceConfigs(ctx, camera).map((m) => [m.topic.split('/')[3], m.config]));
    expect((byObject.motion!.availability as unknown[]).length).toBe(2);
    expect((byObject.connectivity!.availability as unknown[]).length).toBe(1);
    expect(byObject.wifi_signal).toMatchObject({ device_class: 'signal_strength', unit_of_measurement: 'dBm', entity_category: 'diagnostic' });
  });

  it("gives a scale a battery sensor only once it reported its level, and a member's weight sensor, both valid", () => {
    const scale = { id: 'scale-0123456789ab', kind: 'scale', kindLabel: 'Scale', nickname: 'Bathroom' };
    expect(deviceConfigs(ctx, scale)).toEqual([]);
    const [battery] = deviceConfigs(ctx, { ...scale, hasBattery: true });
    expect(battery!.topic).toBe('homeassistant/sensor/scale-0123456789ab/battery/config');
    expect(discoveryProblems(battery!.topic, battery!.config)).toEqual([]);
    expect(battery!.config).toMatchObject({ device_class: 'battery', unit_of_measurement: '%', entity_category: 'diagnostic' });
    expect(clearDeviceConfigs('scale', scale.id)).toEqual([battery!.topic]);
    expect(scaleState(85)).toEqual({ battery: 85 });
    const [weight] = memberConfigs(ctx, { id: 'mem-0123456789ab' });
    expect(discoveryProblems(weight!.topic, weight!.config)).toEqual([]);
    expect(weight!.config).toMatchObject({ device_class: 'weight', unit_of_measurement: 'kg', device: { name: 'Member mem-0123456789ab', via_device: bridgeNode(ctx.hubId) } });
    expect((memberConfigs(ctx, { id: 'mem-0123456789ab', name: 'Ada' })[0]!.config.device as { name: string }).name).toBe('Ada');
    expect(memberState({ weightKg: 72.345, at: Date.UTC(2026, 0, 2) })).toEqual({ weight: 72.35, measured_at: '2026-01-02T00:00:00.000Z' });
    expect(memberState(null)).toEqual({ weight: null, measured_at: null });
  });

  it('names a device by kind and id when names are not shared', () => {
    const configs = deviceConfigs(ctx, { ...camera, nickname: undefined });
    expect(JSON.stringify(configs)).not.toContain('Front door');
    expect((configs[0]!.config.device as { name: string }).name).toBe('Camera cam-0123456789ab');
  });

  it('clears exactly the topics it published for a device', () => {
    expect(clearDeviceConfigs('camera', camera.id).sort()).toEqual(deviceConfigs(ctx, camera).map((m) => m.topic).sort());
    expect(clearDeviceConfigs('scale', 'sca-0123456789ab')).toEqual(deviceConfigs(ctx, { id: 'sca-0123456789ab', kind: 'scale', kindLabel: 'Scale', hasBattery: true }).map((m) => m.topic));
  });

  it('states: ON/OFF for binary sensors, ISO 8601 for timestamps, null when unknown', () => {
    expect(cameraState({ connected: true, motion: false, rssi: -61, lastSeen: Date.UTC(2026, 0, 2, 3, 4, 5) })).toEqual({ connected: 'ON', motion: 'OFF', rssi: -61, last_seen: '2026-01-02T03:04:05.000Z' });
    expect(cameraState({ connected: false, motion: false, rssi: null, lastSeen: null })).toEqual({ connected: 'OFF', motion: 'OFF', rssi: null, last_seen: null });
  });

  it('upstream state in the dashboard words', () => {
    expect(upstreamState({ paused: true, bySwitch: true }, true, true)).toBe('paused-by-switch');
    expect(upstreamState({ paused: true, bySwitch: false }, true, true)).toBe('paused');
    expect(upstreamState({ paused: false, bySwitch: false }, false, true)).toBe('off');
    expect(upstreamState({ paused: false, bySwitch: false }, true, false)).toBe('off');
    expect(upstreamState(undefined, true, true)).toBe('on');
  });
});

describe("Home Assistant's MQTT account", () => {
  it('may subscribe to discovery and its state topics only', () => {
    for (const ok of ['homeassistant/#', 'homeassistant/status', 'hearth/ha/#', 'hearth/ha/0a1b2c3d/cam-0123456789ab/state', 'homeassistant/+/+/+/config']) expect(haMaySubscribe(ok), ok).toBe(true);
    for (const no of ['#', '+/#', 'hearth/#', 'hearth/cam/#', 'hearth/+/#', '$SYS/#', 'hearth/ha', 'homeassistant', '', 'homeassistantx/#']) expect(haMaySubscribe(no), no).toBe(false);
  });

  it('may publish only its status', () => {
    expect(haMayPublish('homeassistant/status')).toBe(true);
    for (const no of ['homeassistant/sensor/x/y/config', 'hearth/ha/x/state', 'hearth/cam/cam-0123456789ab/status', 'homeassistant/status/x']) expect(haMayPublish(no), no).toBe(false);
  });
});
