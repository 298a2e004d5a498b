/**
 * Home Assistant MQTT discovery, built as pure data: the config messages (topic and JSON body) for
 * hearth's bridge device and each enrolled device, and the state messages they read. The shapes
 * follow Home Assistant's own discovery code (homeassistant/components/mqtt: discovery.py's topic
 * pattern, schemas.py's device/origin/availability schemas, the sensor and binary_sensor platform
 * schemas); test/ha-discovery.test.ts checks every config against the keys those accept.
 *
 * Topics: `homeassistant/<component>/<node_id>/<object_id>/config`. The node id is the hub's
 * (`hearth_<hubId>`) for the bridge's own entities and the device id for a device's; the object
 * id names the entity. State goes to `hearth/ha/<hubId>/<node>/state` as JSON, one message per
 * device, read with value templates; availability to `.../availability` as `online`/`offline`.
 *
 * Nothing personal is in these messages: a camera's nickname only when the household shares
 * names, its Wi-Fi signal strength (dBm) but never its SSID or address. A member's weight only
 * when the household turned sharing on for that member (their name, too, only with names shared).
 */
import { UPSTREAM_STATES, type UpstreamState } from '../../uplink/upstream-state.js';
import { HA_DISCOVERY_PREFIX, HA_STATE_ROOT } from './acl.js';

export type { UpstreamState };

/** Node and object ids as Home Assistant's discovery topic pattern accepts them. */
export const HA_ID_PATTERN = /^[a-zA-Z0-9_-]+$/;

export const ONLINE = 'online';
export const OFFLINE = 'offline';

export interface HaContext {
  /** This hub's id (eight hex digits, HomeAssistantSettings.hubId()). */
  hubId: string;
  /** hearth's version, for the bridge's sw_version and the origin block. */
  version: string;
}

/** A device as discovery needs it; `name` is the nickname only when names are shared. */
export interface HaDevice {
  id: string;
  kind: string;
  /** The kind's label ("Camera"), used in the name when the nickname is not shared. */
  kindLabel: string;
  nickname?: string;
  model?: string | null;
  firmware?: string | null;
  /** A scale that has reported its battery level (only then does it get a battery entity). */
  hasBattery?: boolean;
}

/** One discovery config message: where it goes and what it says (empty body = remove). */
export interface HaConfigMessage {
  topic: string;
  config: Record<string, unknown>;
}


export function bridgeNode(hubId: string): string {
  return `hearth_${hubId}`;
}

export function stateTopic(hubId: string, node: string): string {
  return `${HA_STATE_ROOT}/${hubId}/${node}/state`;
}

export function availabilityTopic(hubId: string, node: string): string {
  return `${HA_STATE_ROOT}/${hubId}/${node}/availability`;
}

/** The bridge's availability topic: `online` while the hub runs, `offline` when it stops. */
export function bridgeAvailabilityTopic(hubId: string): string {
  return availabilityTopic(hubId, bridgeNode(hubId));
}

export function configTopic(component: string, node: string, objectId: string): string {
  if (!HA_ID_PATTERN.test(node) || !HA_ID_PATTERN.test(objectId)) throw new Error('discovery ids must be [a-zA-Z0-9_-]');
  return `${HA_DISCOVERY_PREFIX}/${component}/${node}/${objectId}/config`;
}

function origin(ctx: HaContext): Record<string, unknown> {
  return { name: 'hearth', sw_version: ctx.version };
}

function bridgeDevice(ctx: HaContext): Record<string, unknown> {
  return { identifiers: [bridgeNode(ctx.hubId)], name: 'hearth hub', manufacturer: 'hearth', model: 'hearth home hub', sw_version: ctx.version };
}

function deviceBlock(ctx: HaContext, d: HaDevice): Record<string, unknown> {
  const block: Record<string, unknown> = {
    identifiers: [`hearth_${ctx.hubId}_${d.id}`],
    name: d.nickname ?? `${d.kindLabel} ${d.id}`,
    manufacturer: 'hearth',
    model: d.model ?? d.kindLabel,
    via_device: bridgeNode(ctx.hubId),
  };
  if (d.firmware) block.sw_version = d.firmware;
  return block;
}

function availability(ctx: HaContext, perDeviceNode?: string): Record<string, unknown> {
  const list = [{ topic: bridgeAvailabilityTopic(ctx.hubId) }];
  if (perDeviceNode) list.push({ topic: availabilityTopic(ctx.hubId, perDeviceNode) });
  return { availability: list, availability_mode: 'all', payload_available: ONLINE, payload_not_available: OFFLINE };
}

function entity(ctx: HaContext, component: 'sensor' | 'binary_sensor', node: string, objectId: string, device: Record<string, unknown>, fields: Record<string, unknown>, perDeviceAvailability: boolean): HaConfigMessage {
  return {
    topic: configTopic(component, node, objectId),
    config: {
      unique_id: `hearth_${ctx.hubId}_${node}_${objectId}`,
      state_topic: stateTopic(ctx.hubId, node),
      qos: 1,
      ...availability(ctx, perDeviceAvailability ? node : undefined),
      device,
      origin: origin(ctx),
      ...fields,
    },
  };
}

/** The hub's own entities: whether anything goes upstream, and how many reports went today. */
export function bridgeConfigs(ctx: HaContext): HaConfigMessage[] {
  const node = bridgeNode(ctx.hubId);
  const device = bridgeDevice(ctx);
  return [
    entity(ctx, 'sensor', node, 'upstream', device, { name: 'Upstream', device_class: 'enum', options: [...UPSTREAM_STATES], value_template: '{{ value_json.upstream }}', icon: 'mdi:cloud-upload' }, false),
    entity(ctx, 'sensor', node, 'reports_sent_today', device, { name: 'Reports sent today', state_class: 'measurement', value_template: '{{ value_json.reports_sent_today }}', icon: 'mdi:counter' }, false),
  ];
}

/** Object ids of the entities a kind's device has (to clear them when it is removed). */
export function entityKeys(kind: string): { component: 'sensor' | 'binary_sensor'; objectId: string }[] {
  if (kind === 'camera') {
    return [
      { component: 'binary_sensor', objectId: 'connectivity' },
      { component: 'binary_sensor', objectId: 'motion' },
      { component: 'sensor', objectId: 'wifi_signal' },
      { component: 'sensor', objectId: 'last_seen' },
    ];
  }
  // A scale: its battery, once it reported one. When it was last used says when someone weighed
  // in, which stays on the hub.
  if (kind === 'scale') return [{ component: 'sensor', objectId: 'battery' }];
  return [];
}

/**
 * A device's entities. A camera's connectivity follows the bridge alone (so it reads "off", not
 * "unavailable", when the camera drops); its other entities also need the camera connected
 * (availability_mode all).
 */
export function deviceConfigs(ctx: HaContext, d: HaDevice): HaConfigMessage[] {
  const device = deviceBlock(ctx, d);
  if (d.kind === 'camera') {
    return [
      entity(ctx, 'binary_sensor', d.id, 'connectivity', device, { name: 'Connectivity', device_class: 'connectivity', value_template: '{{ value_json.connected }}', payload_on: 'ON', payload_off: 'OFF', entity_category: 'diagnostic' }, false),
      entity(ctx, 'binary_sensor', d.id, 'motion', device, { name: 'Motion', device_class: 'motion', value_template: '{{ value_json.motion }}', payload_on: 'ON', payload_off: 'OFF', off_delay: 120 }, true),
      entity(ctx, 'sensor', d.id, 'wifi_signal', device, { name: 'Wi-Fi signal', device_class: 'signal_strength', unit_of_measurement: 'dBm', state_class: 'measurement', value_template: '{{ value_json.rssi }}', entity_category: 'diagnostic' }, true),
      entity(ctx, 'sensor', d.id, 'last_seen', device, { name: 'Last seen', device_class: 'timestamp', value_template: '{{ value_json.last_seen }}', entity_category: 'diagnostic' }, false),
    ];
  }
  if (d.kind === 'scale' && d.hasBattery) {
    return [entity(ctx, 'sensor', d.id, 'battery', device, { name: 'Battery', device_class: 'battery', unit_of_measurement: '%', state_class: 'measurement', value_template: '{{ value_json.battery }}', entity_category: 'diagnostic' }, false)];
  }
  return [];
}

/** A scale's state message: its battery level in percent (null until it reported one). */
export function scaleState(batteryPercent: number | null): Record<string, unknown> {
  return { battery: batteryPercent };
}

/** A household member as discovery needs it: the name only when names are shared. */
export interface HaMember {
  id: string;
  name?: string;
}

export const MEMBER_WEIGHT_OBJECT = 'weight';

/**
 * The weight sensor of a member whose weight the household shares. The member is a device of its
 * own under the bridge (Home Assistant groups entities by device); the sensor follows the bridge.
 */
export function memberConfigs(ctx: HaContext, m: HaMember): HaConfigMessage[] {
  const device = { identifiers: [`hearth_${ctx.hubId}_${m.id}`], name: m.name ?? `Member ${m.id}`, manufacturer: 'hearth', model: 'Household member', via_device: bridgeNode(ctx.hubId) };
  return [entity(ctx, 'sensor', m.id, MEMBER_WEIGHT_OBJECT, device, { name: 'Weight', device_class: 'weight', unit_of_measurement: 'kg', state_class: 'measurement', suggested_display_precision: 1, value_template: '{{ value_json.weight }}' }, false)];
}

/** A member's state message: the latest weight (kg) and when it was measured (ISO 8601), or nulls. */
export function memberState(latest: { weightKg: number; at: number } | null): Record<string, unknown> {
  return latest ? { weight: Math.round(latest.weightKg * 100) / 100, measured_at: new Date(latest.at).toISOString() } : { weight: null, measured_at: null };
}

/** The empty retained messages that remove a device's entities from Home Assistant. */
export function clearDeviceConfigs(kind: string, deviceId: string): string[] {
  return entityKeys(kind).map((k) => configTopic(k.component, deviceId, k.objectId));
}

/** The bridge's state message. */
export function bridgeState(upstream: UpstreamState, reportsSentToday: number): Record<string, unknown> {
  return { upstream, reports_sent_today: reportsSentToday };
}

export interface CameraHaState {
  connected: boolean;
  motion: boolean;
  rssi: number | null;
  lastSeen: number | null;
}

/** A camera's state message: ON/OFF as the binary sensors expect, ISO 8601 for the timestamp. */
export function cameraState(s: CameraHaState): Record<string, unknown> {
  return { connected: s.connected ? 'ON' : 'OFF', motion: s.motion ? 'ON' : 'OFF', rssi: s.rssi, last_seen: s.lastSeen === null ? null : new Date(s.lastSeen).toISOString() };
}
