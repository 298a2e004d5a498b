/**
 * Thingino (package/thingino-ha: ha-common, ha-state): `mosquitto_pub` per value, under
 * `cameras/<id>/` where <id> is what the firmware calls the camera (the MAC without colons in
 * current builds, the hostname in older ones: personal, so sealed at rest). Availability
 * `cameras/<id>/status` = `online` is re-asserted (retained) at every poll; `motion/state` ON/OFF,
 * `rssi/state` (dBm from wpa_cli), `firmware/state`. Discovery under `homeassistant/...`
 * is accepted and dropped. Commands: `cameras/<id>/+/set`.
 */
import { ACCEPTED_NOTHING, IMAGE_DROPPED, accept, availability, dbm, isImage, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile } from './profile.js';

export const thinginoProfile: FirmwareProfile = {
  name: 'thingino',
  topicHelp: 'the camera id Thingino uses in cameras/<id>/… (its MAC without colons, or its hostname)',
  presence: 'timer',
  reportIntervalMs: 60_000,
  topicProblem: (root) => (root.includes('/') ? 'the Thingino camera id is one topic level (no /)' : undefined),
  rules: (root) => ({ publish: [`cameras/${root}/#`], tolerated: [`homeassistant/+/thingino_${root}/+/config`], subscribe: [`cameras/${root}/+/set`] }),
  interpret(root, topic, payload) {
    const levels = levelsUnder(`cameras/${root}`, topic);
    if (!levels) return ACCEPTED_NOTHING; // discovery
    const value = text(payload);
    if (levels.length === 1 && levels[0] === 'status') {
      const online = availability(value);
      return online === undefined ? refuse('thingino_bad_status') : accept({ kind: 'presence', online });
    }
    if (levels.length === 2 && levels[1] === 'state') {
      switch (levels[0]) {
        case 'motion': {
          const on = onOff(value);
          return on === undefined ? refuse('thingino_bad_motion') : accept({ kind: 'presence', online: true }, { kind: 'event', type: on ? 'motion' : 'motion_end' });
        }
        case 'rssi':
          return status({ rssi: dbm(value) ?? value });
        case 'firmware':
          return status({ model: 'Thingino', firmware: value });
      }
    }
    if (isImage(payload) || value === undefined) return IMAGE_DROPPED;
    return accept({ kind: 'presence', online: true });
  },
};

function status(fields: Parameters<typeof statusItem>[0]) {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept({ kind: 'presence', online: true }, item);
}
