/**
 * Frigate NVR (frigate/comms/mqtt.py, docs/docs/integrations/mqtt.md): a long-lived paho client
 * with the Last Will `<prefix>/available` = `offline` (retained), `online` retained on connect;
 * it subscribes to `<prefix>/#`. Kept: `<camera>/motion` ON/OFF, `events` of type `new` (a new
 * tracked object: its camera, label, zones, sub_label (a face) and plate go into the sealed
 * detail only), the version from `stats`. Snapshots (`<camera>/<label>/snapshot`, retained JPEG)
 * are counted and dropped; the many state topics are not kept. Events name the Frigate camera they
 * happened on (`source`): each becomes a camera device of its own, the NVR its parent.
 */
import { ACCEPTED_NOTHING, IMAGE_DROPPED, accept, availability, detailText, isImage, jsonObject, levelsUnder, onOff, refuse, statusItem, text, type FirmwareProfile } from './profile.js';

export const frigateProfile: FirmwareProfile = {
  name: 'frigate',
  topicHelp: 'Frigate’s mqtt.topic_prefix (default "frigate")',
  presence: 'connection',
  rules: (root) => ({ publish: [`${root}/#`], tolerated: [], subscribe: [`${root}/#`] }),
  interpret(root, topic, payload) {
    const levels = levelsUnder(root, topic) ?? [];
    if (levels.length === 1 && levels[0] === 'available') {
      const online = availability(text(payload));
      return online === undefined ? refuse('frigate_bad_available') : accept({ kind: 'presence', online });
    }
    if (levels.length === 1 && levels[0] === 'events') return newObject(payload);
    if (levels.length === 1 && levels[0] === 'stats') {
      const stats = jsonObject(payload);
      if (typeof stats === 'string') return refuse(stats);
      const version = (stats.service as { version?: unknown } | undefined)?.version;
      if (typeof version !== 'string') return ACCEPTED_NOTHING;
      const item = statusItem({ model: 'Frigate', firmware: version.slice(0, 64) });
      return typeof item === 'string' ? refuse(item) : accept(item);
    }
    if (levels.length === 2 && levels[1] === 'motion') {
      const on = onOff(text(payload));
      if (on === undefined) return refuse('frigate_bad_motion');
      return accept({ kind: 'event', type: on ? 'motion' : 'motion_end', source: levels[0]! });
    }
    if (levels[levels.length - 1] === 'snapshot' || isImage(payload)) return IMAGE_DROPPED;
    return ACCEPTED_NOTHING;
  },
};

/** A `new` event is one new tracked object; `update` and `end` add nothing hearth counts. */
function newObject(payload: Uint8Array) {
  const ev = jsonObject(payload);
  if (typeof ev === 'string') return refuse(ev);
  if (ev.type !== 'new') return ACCEPTED_NOTHING;
  const after = ev.after;
  if (after === null || typeof after !== 'object') return refuse('frigate_bad_event');
  const a = after as Record<string, unknown>;
  if (typeof a.camera !== 'string' || typeof a.label !== 'string') return refuse('frigate_bad_event');
  // Personal: zone names, a recognised face (sub_label), a plate. Sealed with the event, never plain.
  const zones = Array.isArray(a.current_zones) ? a.current_zones.filter((z): z is string => typeof z === 'string') : [];
  const sub = Array.isArray(a.sub_label) ? a.sub_label[0] : a.sub_label;
  const plate = Array.isArray(a.recognized_license_plate) ? a.recognized_license_plate[0] : a.recognized_license_plate;
  const parts: Record<string, unknown> = { camera: a.camera, label: a.label };
  if (zones.length > 0) parts.zones = zones;
  if (typeof sub === 'string') parts.sub_label = sub;
  if (typeof plate === 'string') parts.plate = plate;
  const detail = detailText(JSON.stringify(parts));
  return accept({ kind: 'event', type: 'object', source: a.camera, ...(detail ? { detail } : {}) });
}
