/**
 * Tasmota with the default FullTopic %prefix%/%topic%/ (tasmota/tasmota_support/support_tasmota.ino
 * MqttShowState, MqttPublishTeleState; tasmota_xdrv_driver/xdrv_02_9_mqtt.ino MqttConnected and
 * MqttReconnect; support_switch.ino SwitchHandler; xdrv_12_discovery.ino TasDiscovery): a
 * long-lived client with the retained Last Will `tele/<topic>/LWT` = `Offline`, `Online` on
 * connect. `tele/<topic>/STATE` every TelePeriod carries Wifi.SSId, Wifi.Signal (dBm; Wifi.RSSI is
 * a percentage and is not kept) and, in current builds, IPAddress; INFO1 the module and version,
 * INFO2 the IP address. Motion: a PIR on a switch input with SetOption114 1 (switches detached from
 * the relays) reports each change as `stat/<topic>/RESULT` {"Switch1":{"Action":"ON"}} (or
 * `stat/<topic>/SWITCH1` with SetOption4 1): ON a motion, OFF its end. `tele/<topic>/SENSOR`
 * repeats the switch's level every TelePeriod: a state, not an edge, so not an event. On connect
 * Tasmota publishes an empty `cmnd/<topic>/POWER` ("Satisfy iobroker") and its discovery under
 * `tasmota/discovery/<MAC>/`: accepted and dropped. Commands: `cmnd/<topic>/#`.
 */
import { ACCEPTED_NOTHING, accept, availability, dbm, detailText, jsonObject, onOff, refuse, statusItem, text, type FirmwareProfile, type Interpretation, type ProfileItem } from './profile.js';

export const tasmotaProfile: FirmwareProfile = {
  name: 'tasmota',
  topicHelp: 'Tasmota’s Topic (Configuration → MQTT), with the default FullTopic %prefix%/%topic%/',
  presence: 'connection',
  topicProblem: (root) => (root.includes('/') ? 'the Tasmota Topic is one topic level (no /)' : undefined),
  rules: (root) => ({
    publish: [`tele/${root}/#`, `stat/${root}/#`],
    // Tasmota's own discovery (SetOption19 0) and the older Home Assistant one (SetOption19 1),
    // and the empty POWER it sends to its own command topic on connect.
    tolerated: ['tasmota/discovery/+/config', 'tasmota/discovery/+/sensors', 'homeassistant/+/+/config', `cmnd/${root}/POWER`],
    subscribe: [`cmnd/${root}/#`],
  }),
  interpret(root, topic, payload) {
    const [prefix, , ...rest] = topic.split('/');
    const leaf = rest.join('/');
    if (prefix === 'cmnd') return payload.length === 0 ? ACCEPTED_NOTHING : refuse('topic_not_own');
    if (prefix !== 'tele' && prefix !== 'stat') return ACCEPTED_NOTHING; // discovery
    if (prefix === 'tele' && leaf === 'LWT') {
      const online = availability(text(payload));
      return online === undefined ? refuse('tasmota_bad_lwt') : accept({ kind: 'presence', online });
    }
    if (prefix === 'tele' && leaf === 'STATE') {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const wifi = (s.Wifi ?? {}) as Record<string, unknown>;
      return status({
        ssid: typeof wifi.SSId === 'string' && wifi.SSId.length > 0 ? wifi.SSId : undefined,
        rssi: wifi.Signal === undefined ? undefined : (dbm(wifi.Signal) ?? wifi.Signal),
        ip: address(s.IPAddress),
      });
    }
    if (prefix === 'tele' && (leaf === 'INFO1' || leaf === 'INFO2')) {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const info = (s[leaf === 'INFO1' ? 'Info1' : 'Info2'] ?? s) as Record<string, unknown>;
      return leaf === 'INFO1' ? status({ model: info.Module, firmware: info.Version }) : status({ ip: address(info.IPAddress) });
    }
    if (prefix === 'stat' && (leaf === 'RESULT' || /^SWITCH\d{1,2}$/.test(leaf))) {
      // An empty RESULT or POWER is routine; only JSON objects carry switch actions.
      if (payload.length === 0) return ACCEPTED_NOTHING;
      const s = jsonObject(payload);
      if (typeof s === 'string') return leaf === 'RESULT' ? ACCEPTED_NOTHING : refuse(s);
      const items: ProfileItem[] = [];
      for (const [key, value] of Object.entries(s)) {
        // SwitchText may rename "Switch1" (e.g. "PIR"): the shape {"Action": ...} is what marks a switch.
        if (value === null || typeof value !== 'object' || !('Action' in value)) continue;
        const action = (value as { Action?: unknown }).Action;
        const on = onOff(typeof action === 'string' ? action : undefined);
        if (on === undefined) continue; // TOGGLE, HOLD, a button's SINGLE…: not a motion edge
        const detail = detailText(key);
        items.push({ kind: 'event', type: on ? 'motion' : 'motion_end', ...(detail ? { detail } : {}) });
      }
      return items.length > 0 ? { ok: true, items } : ACCEPTED_NOTHING;
    }
    return ACCEPTED_NOTHING;
  },
};

/** Tasmota writes 0.0.0.0 when the interface has no address. */
function address(v: unknown): unknown {
  return v === '0.0.0.0' || v === '' ? undefined : v;
}

function status(fields: Parameters<typeof statusItem>[0]): Interpretation {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept(item);
}
