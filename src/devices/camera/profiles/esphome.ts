/**
 * ESPHome's mqtt component (esphome/components/mqtt: __init__.py validate_config, mqtt_client.cpp,
 * mqtt_component.cpp, mqtt_binary_sensor.cpp, mqtt_sensor.cpp): a long-lived client with the
 * birth `<topic_prefix>/status` = `online` and the will `offline` (both retained); entities
 * publish `<prefix>/<component>/<object_id>/state`, the object id being the entity's name in lower
 * case with spaces as `_`. Binary sensors send `ON`/`OFF`; sensors their value with the entity's
 * decimals (`wifi_signal`: dBm, 0 decimals). ESPHome has no motion type of its own: a binary
 * sensor is taken as motion when its object id names motion, a PIR, presence, occupancy or a
 * person (hearth cannot see its device_class without keeping discovery state), its ON a motion
 * and OFF the end. Kept besides: a `wifi_signal`/`rssi` sensor (dBm), wifi_info text sensors
 * (SSID, IP address), the version. On connect it announces itself on `esphome/discover/<name>`
 * (QoS 2, retained: IP, version, MAC, board), from which the version and IP are kept, and
 * subscribes to `esphome/discover` and `esphome/ping/<name>`; Home Assistant discovery under
 * `homeassistant/` and the log on `<prefix>/debug` are accepted and dropped.
 */
import { ACCEPTED_NOTHING, accept, availability, dbm, jsonObject, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile, type Interpretation } from './profile.js';

export const esphomeProfile: FirmwareProfile = {
  name: 'esphome',
  topicHelp: 'ESPHome’s mqtt: topic_prefix (by default the node name)',
  presence: 'connection',
  rules: (root) => ({
    publish: [`${root}/#`],
    tolerated: ['homeassistant/+/+/+/config', 'esphome/discover/+'],
    subscribe: [`${root}/#`, 'homeassistant/status', 'esphome/discover', 'esphome/ping/+'],
  }),
  interpret(root, topic, payload) {
    if (topic.startsWith('esphome/discover/')) return nodeDiscovery(payload);
    const levels = levelsUnder(root, topic);
    if (!levels) return ACCEPTED_NOTHING; // Home Assistant discovery
    const value = text(payload);
    if (levels.length === 1 && levels[0] === 'status') {
      const online = availability(value);
      return online === undefined ? refuse('esphome_bad_status') : accept({ kind: 'presence', online });
    }
    if (levels.length !== 3 || levels[2] !== 'state') return ACCEPTED_NOTHING;
    const [component, objectId] = levels as [string, string];
    if (component === 'binary_sensor' && /motion|pir|presence|occupancy|person/.test(objectId)) {
      const on = onOff(value);
      return on === undefined ? refuse('esphome_bad_binary_sensor') : accept({ kind: 'event', type: on ? 'motion' : 'motion_end' });
    }
    if (component === 'sensor' && /wifi_signal|rssi/.test(objectId)) return status({ rssi: dbm(value) ?? value });
    if (component === 'text_sensor') {
      if (/ssid/.test(objectId) && !/bssid/.test(objectId)) return status({ ssid: value });
      if (/ip_address|(^|_)ip$/.test(objectId)) return status({ ip: value });
      if (/version/.test(objectId)) return status({ model: 'ESPHome', firmware: value?.slice(0, 64) });
    }
    return ACCEPTED_NOTHING;
  },
};

/** mqtt_client.cpp send_device_info_: {"ip":…, "name":…, "version":…, "mac":…, "platform":…, "board":…}. */
function nodeDiscovery(payload: Uint8Array): Interpretation {
  if (payload.length === 0) return ACCEPTED_NOTHING; // a cleared retained announcement
  const d = jsonObject(payload);
  if (typeof d === 'string') return refuse(d);
  return status({ model: 'ESPHome', firmware: typeof d.version === 'string' ? d.version.slice(0, 64) : undefined, ip: typeof d.ip === 'string' ? d.ip : undefined });
}

function status(fields: Parameters<typeof statusItem>[0]): Interpretation {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept(item);
}
