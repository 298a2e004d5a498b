/**
 * Dafang Hacks (firmware_mod/scripts/mqtt-status-interval.sh, mqtt-status.sh, detectionOn.sh) and
 * the wz_mini MQTT add-on, which copies its layout under homeassistant/camera/<hostname>: one
 * `mosquitto_pub` (MQTT 3.1) per value, no will. Every STATUSINTERVAL (30 s at least) the status
 * JSON goes to `$TOPIC` itself ({"uptime", "ssid", "bitrate", "signal_level":"88%", ...}: an SSID,
 * no IP, the signal as a percentage, which is not dBm and is not kept). Motion is `$TOPIC/motion`
 * ON/OFF; `$TOPIC/motion/detection` is the detection *setting*, not a motion. Snapshots (JPEG)
 * are counted and dropped. Online while the status keeps arriving.
 */
import { ACCEPTED_NOTHING, IMAGE_DROPPED, accept, isImage, jsonObject, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile } from './profile.js';

export const dafangProfile: FirmwareProfile = {
  name: 'dafang',
  topicHelp: 'Dafang’s $LOCATION/$DEVICE_NAME (e.g. myhome/dafang); wz_mini: homeassistant/camera/<hostname>',
  presence: 'timer',
  reportIntervalMs: 60_000,
  rules: (root) => ({ publish: [root, `${root}/#`], tolerated: [], subscribe: [`${root}/#`] }),
  interpret(root, topic, payload) {
    const levels = levelsUnder(root, topic) ?? [];
    if (levels.length === 0) {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const item = statusItem({ ssid: typeof s.ssid === 'string' && s.ssid.length > 0 ? s.ssid : undefined });
      return typeof item === 'string' ? refuse(item) : accept({ kind: 'presence', online: true }, item);
    }
    if (levels.length === 1 && levels[0] === 'motion') {
      const on = onOff(text(payload));
      return on === undefined ? refuse('dafang_bad_motion') : accept({ kind: 'presence', online: true }, { kind: 'event', type: on ? 'motion' : 'motion_end' });
    }
    if (isImage(payload) || text(payload) === undefined) return IMAGE_DROPPED;
    return { ...ACCEPTED_NOTHING, items: [{ kind: 'presence', online: true }] };
  },
};
