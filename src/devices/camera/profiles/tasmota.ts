/**
 * Tasmota with the default FullTopic %prefix%/%topic%/ (tasmota/tasmota_support/support_tasmota.ino
 * MqttShowState; support_command.ino): a long-lived client with the retained Last Will
 * `tele/<topic>/LWT` = `Offline` (`Online` on connect). `tele/<topic>/STATE` carries
 * Wifi.SSId and Wifi.Signal (dBm; Wifi.RSSI is a percentage and is not kept); INFO1 the module and
 * version, INFO2 the IP address. A PIR or switch reports in `tele/<topic>/SENSOR` or
 * `stat/<topic>/RESULT` as "Switch1":"ON" (or {"Action":"ON"}): a motion edge. Commands:
 * `cmnd/<topic>/#`.
 */
import { ACCEPTED_NOTHING, accept, availability, dbm, jsonObject, onOff, refuse, statusItem, text, type FirmwareProfile, type Interpretation, type ProfileItem } from './profile.js';

export const tasmotaProfile: FirmwareProfile = {
  name: 'tasmota',
  topicHelp: 'Tasmota’s Topic (Configuration → MQTT), with the default FullTopic %prefix%/%topic%/',
  presence: 'connection',
  topicProblem: (root) => (root.includes('/') ? 'the Tasmota Topic is one topic level (no /)' : undefined),
  rules: (root) => ({ publish: [`tele/${root}/#`, `stat/${root}/#`], tolerated: [], subscribe: [`cmnd/${root}/#`] }),
  interpret(root, topic, payload) {
    const [prefix, , ...rest] = topic.split('/');
    const leaf = rest.join('/');
    if (prefix === 'tele' && leaf === 'LWT') {
      const online = availability(text(payload));
      return online === undefined ? refuse('tasmota_bad_lwt') : accept({ kind: 'presence', online });
    }
    if (prefix === 'tele' && leaf === 'STATE') {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const wifi = (s.Wifi ?? {}) as Record<string, unknown>;
      return status({ ssid: typeof wifi.SSId === 'string' && wifi.SSId.length > 0 ? wifi.SSId : undefined, rssi: wifi.Signal === undefined ? undefined : (dbm(wifi.Signal) ?? wifi.Signal) });
    }
    if (prefix === 'tele' && (leaf === 'INFO1' || leaf === 'INFO2')) {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const info = (s[leaf === 'INFO1' ? 'Info1' : 'Info2'] ?? s) as Record<string, unknown>;
      return leaf === 'INFO1' ? status({ model: info.Module, firmware: info.Version }) : status({ ip: info.IPAddress });
    }
    if ((prefix === 'tele' && leaf === 'SENSOR') || (prefix === 'stat' && leaf === 'RESULT')) {
      const s = jsonObject(payload);
      if (typeof s === 'string') return refuse(s);
      const items: ProfileItem[] = [];
      for (const [key, value] of Object.entries(s)) {
        if (!/^(Switch|PIR)\d{1,2}$/.test(key)) continue;
        const raw = value !== null && typeof value === 'object' ? (value as { Action?: unknown }).Action : value;
        const on = onOff(typeof raw === 'string' ? raw : undefined);
        if (on === undefined) return refuse('tasmota_bad_switch');
        items.push({ kind: 'event', type: on ? 'motion' : 'motion_end', detail: key });
      }
      return items.length > 0 ? { ok: true, items } : ACCEPTED_NOTHING;
    }
    return ACCEPTED_NOTHING;
  },
};

function status(fields: Parameters<typeof statusItem>[0]): Interpretation {
  const item = statusItem(fields);
  return typeof item === 'string' ? refuse(item) : accept(item);
}
