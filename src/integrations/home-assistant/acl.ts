/**
 * What Home Assistant's MQTT account may do on hearth's broker: read discovery configs
 * (`homeassistant/#`) and hearth's state topics for it (`hearth/ha/#`), and publish only its
 * birth/last-will message on `homeassistant/status`. Nothing else: no camera topic, no `$SYS`,
 * no wildcard that starts outside these two trees.
 */

/** Home Assistant's default discovery prefix. */
export const HA_DISCOVERY_PREFIX = 'homeassistant';
/** Where Home Assistant says `online` when it (re)starts (its birth message). */
export const HA_STATUS_TOPIC = `${HA_DISCOVERY_PREFIX}/status`;
/** The root of the state and availability topics hearth publishes for Home Assistant. */
export const HA_STATE_ROOT = 'hearth/ha';

/** A subscription filter Home Assistant may use. */
export function haMaySubscribe(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  if (levels[0] === HA_DISCOVERY_PREFIX) return levels.length >= 2;
  return levels[0] === 'hearth' && levels[1] === 'ha' && levels.length >= 3;
}

/** A topic Home Assistant may publish to. */
export function haMayPublish(topic: string): boolean {
  return topic === HA_STATUS_TOPIC;
}
