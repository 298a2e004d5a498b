/**
 * Thingino (package/thingino-ha: ha-common, ha-state, ha-commands, ha-daemon, ha-discovery).
 * Everything lives under `cameras/<hostname>/`: ha-common sets HA_CAMERA_ID from `hostname`
 * (builds before August 2026 used the MAC without colons; both are one topic level, and both are
 * personal, so sealed at rest). `ha-commands` keeps one `mosquitto_sub` connected for commands on
 * `cameras/<host>/+/set`, with the Last Will `cameras/<host>/status` = `offline`; the daemon
 * publishes `online` (retained) at start. State values go out with one `mosquitto_pub` each, only
 * when they change: `motion/state` ON/OFF, `rssi/state` (dBm from wpa_cli), `firmware/state`.
 * So presence follows the connection (the subscriber's), as for the other long-lived clients: an
 * idle camera sends nothing for hours. `live_view/image` is a base64 JPEG every minute: counted
 * and dropped. Discovery under `homeassistant/…/thingino_<host>/…` is accepted and dropped.
 */
import { ACCEPTED_NOTHING, IMAGE_DROPPED, accept, availability, dbm, isImage, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile } from './profile.js';

/** A hostname label as `hostname` prints it (letters, digits, `-`; `_` seen in the wild), or a MAC. */
const HOST = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export const thinginoProfile: FirmwareProfile = {
  name: 'thingino',
  topicHelp: 'the camera’s hostname (Thingino publishes under cameras/<hostname>/…)',
  presence: 'connection',
  topicProblem: (root) => (HOST.test(root) ? undefined : 'the Thingino topic is the camera’s hostname: one topic level of letters, digits and -'),
  rules: (root) => ({ publish: [`cameras/${root}/#`], tolerated: [`homeassistant/+/thingino_${root}/+/config`], subscribe: [`cameras/${root}/+/set`] }),
  interpret(root, topic, payload) {
    const levels = levelsUnder(`cameras/${root}`, topic);
    if (!levels) return ACCEPTED_NOTHING; // discovery
    if (levels.length === 2 && levels[0] === 'live_view' && levels[1] === 'image') return IMAGE_DROPPED;
    const value = text(payload);
    if (levels.length === 1 && levels[0] === 'status') {
      const online = availability(value);
      return online === undefined ? refuse('thingino_bad_status') : accept({ kind: 'presence', online });
    }
    if (levels.length === 2 && levels[1] === 'state') {
      switch (levels[0]) {
        case 'motion': {
          const on = onOff(value);
          return on === undefined ? refuse('thingino_bad_motion') : accept({ kind: 'event', type: on ? 'motion' : 'motion_end' });
        }
        case 'rssi':
          return status({ rssi: dbm(value) ?? value });
        case 'firmware':
          return status({ model: 'Thingino', firmware: value });
      }
    }
    if (isImage(payload) || value === undefined) return IMAGE_DROPPED;
    return ACCEPTED_NOTHING;
  },
};

function status(fields: Parameters<typeof statusItem>[0]) {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept(item);
}
