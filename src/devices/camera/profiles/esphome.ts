/**
 * ESPHome's mqtt component (esphome/components/mqtt): a long-lived client with the birth
 * `<topic_prefix>/status` = `online` and the will `offline` (both retained); entities publish
 * `<prefix>/<component>/<object_id>/state`. Kept: a binary_sensor whose id names motion, PIR,
 * presence, occupancy or a person (ON/OFF edges); a sensor `wifi_signal`/`rssi` (dBm); text
 * sensors for the SSID, IP address and ESPHome version (wifi_info, version). It subscribes to its
 * own command topics and to `homeassistant/status`; discovery under homeassistant/ is dropped.
 */
import { ACCEPTED_NOTHING, accept, availability, dbm, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile, type Interpretation } from './profile.js';

export const esphomeProfile: FirmwareProfile = {
  name: 'esphome',
  topicHelp: 'ESPHome’s mqtt: topic_prefix (by default the node name)',
  presence: 'connection',
  rules: (root) => ({ publish: [`${root}/#`], tolerated: ['homeassistant/+/+/+/config'], subscribe: [`${root}/#`, 'homeassistant/status'] }),
  interpret(root, topic, payload) {
    const levels = levelsUnder(root, topic);
    if (!levels) return ACCEPTED_NOTHING; // discovery
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

function status(fields: Parameters<typeof statusItem>[0]): Interpretation {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept(item);
}
