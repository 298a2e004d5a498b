/**
 * Firmware profiles, fed the payloads the firmwares' own sources publish (each fixture names the
 * file it was copied from).
 */
import { describe, expect, it } from 'vitest';
import { FIRMWARE_PROFILES, bindingProblem, bindingsOverlap, filterCovers, filtersOverlap, interpretPublish, maySubscribe, topicMatches, type CameraBinding } from '../src/devices/camera/profiles/index.js';

const b = (v: unknown) => (Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7)]);

describe('topic filters', () => {
  it('match, cover and overlap as MQTT defines wildcards', () => {
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+/c', 'a/b/d')).toBe(false);
    expect(topicMatches('a/b', 'a/b/c')).toBe(false);
    expect(filterCovers('frigate/#', 'frigate/#')).toBe(true);
    expect(filterCovers('frigate/#', 'frigate/+/motion/set')).toBe(true);
    expect(filterCovers('frigate/#', '#')).toBe(false);
    expect(filterCovers('cameras/x/+/set', 'cameras/x/#')).toBe(false);
    expect(filterCovers('cameras/x/+/set', 'cameras/x/ircut/set')).toBe(true);
    expect(filtersOverlap('a/#', 'a/b')).toBe(true);
    expect(filtersOverlap('a/+/c', 'a/b/#')).toBe(true);
    expect(filtersOverlap('a/b', 'a/c')).toBe(false);
    expect(filtersOverlap('tele/x/#', 'stat/x/#')).toBe(false);
  });

  it('refuses unusable topic roots with a reason', () => {
    expect(bindingProblem('rule', 'hearth/cam')).toMatch(/hearth/);
    expect(bindingProblem('rule', 'a/#')).toMatch(/wildcard/);
    expect(bindingProblem('rule', '$SYS')).toMatch(/\$/);
    expect(bindingProblem('rule', 'a//b')).toMatch(/empty level/);
    expect(bindingProblem('tasmota', 'a/b')).toMatch(/one topic level/);
    expect(bindingProblem('frigate', 'frigate')).toBeUndefined();
  });

  it('finds overlapping claims across profiles', () => {
    expect(bindingsOverlap({ profile: 'frigate', root: 'frigate' }, { profile: 'rule', root: 'frigate/front' })).toBe(true);
    expect(bindingsOverlap({ profile: 'esphome', root: 'tele' }, { profile: 'tasmota', root: 'cam1' })).toBe(true);
    expect(bindingsOverlap({ profile: 'tasmota', root: 'cam1' }, { profile: 'tasmota', root: 'cam2' })).toBe(false);
    expect(bindingsOverlap({ profile: 'dafang', root: 'myhome/dafang' }, { profile: 'dafang', root: 'myhome/dafang2' })).toBe(false);
    // Discovery topics are tolerated, not claimed: two ESPHome nodes do not clash over them.
    expect(bindingsOverlap({ profile: 'esphome', root: 'cam-a' }, { profile: 'esphome', root: 'cam-b' })).toBe(false);
  });
});

describe('frigate', () => {
  const fr: CameraBinding = { profile: 'frigate', root: 'frigate' };
  it('reads availability, motion, new objects and the version; seals what is personal into the detail', () => {
    // frigate/comms/mqtt.py: will_set(prefix + "/available", "offline", retain) and publish("available", "online").
    expect(interpretPublish(fr, 'frigate/available', b('online'))).toEqual({ ok: true, items: [{ kind: 'presence', online: true }] });
    expect(interpretPublish(fr, 'frigate/available', b('offline'))).toEqual({ ok: true, items: [{ kind: 'presence', online: false }] });
    // mqtt.py _set_initial_topics: publish(f"{camera_name}/motion", "OFF").
    expect(interpretPublish(fr, 'frigate/front_door/motion', b('ON'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion', source: 'front_door' }] });
    expect(interpretPublish(fr, 'frigate/front_door/motion', b('OFF'))).toMatchObject({ ok: true, items: [{ type: 'motion_end' }] });
    // docs/docs/integrations/mqtt.md, frigate/events (abridged to the fields read).
    const event = {
      type: 'new',
      before: { id: '1607123955.475377-mxklsc', camera: 'front_door', label: 'person' },
      after: { id: '1607123955.475377-mxklsc', camera: 'front_door', frame_time: 1607123961.837752, label: 'person', sub_label: ['Jane Canary', 0.92], top_score: 0.958984375, current_zones: ['driveway'], entered_zones: ['yard', 'driveway'], recognized_license_plate: 'CANARY1', has_snapshot: false },
    };
    const r = interpretPublish(fr, 'frigate/events', b(event));
    expect(r.ok && r.items[0]).toMatchObject({ kind: 'event', type: 'object', source: 'front_door' });
    const detail = JSON.parse((r as { items: { detail: string }[] }).items[0]!.detail);
    expect(detail).toEqual({ camera: 'front_door', label: 'person', zones: ['driveway'], sub_label: 'Jane Canary', plate: 'CANARY1' });
    expect(interpretPublish(fr, 'frigate/events', b({ ...event, type: 'update' }))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(fr, 'frigate/stats', b({ service: { version: '0.14.1-f4f3cfa', uptime: 100 } }))).toEqual({ ok: true, items: [{ kind: 'status', status: { model: 'Frigate', firmware: '0.14.1-f4f3cfa' } }] });
  });
  it('drops snapshots and state topics, refuses topics outside its prefix', () => {
    expect(interpretPublish(fr, 'frigate/front_door/person/snapshot', JPEG)).toEqual({ ok: true, items: [], dropped: 'image' });
    expect(interpretPublish(fr, 'frigate/front_door/detect/state', b('ON'))).toMatchObject({ ok: true, items: [], dropped: 'not_kept' });
    expect(interpretPublish(fr, 'other/front_door/motion', b('ON'))).toEqual({ ok: false, reason: 'topic_not_own' });
    expect(interpretPublish(fr, 'frigate/front_door/motion', b('maybe'))).toEqual({ ok: false, reason: 'frigate_bad_motion' });
    expect(maySubscribe(fr, 'frigate/#')).toBe(true);
    expect(maySubscribe(fr, '#')).toBe(false);
    expect(maySubscribe(fr, 'tele/#')).toBe(false);
  });
});

describe('thingino', () => {
  // package/thingino-ha/files/ha-common: HA_CAMERA_ID=$(hostname …); HA_AVAIL_TOPIC="cameras/${HA_CAMERA_ID}/status";
  // ha_pub_state: topic="cameras/${HA_CAMERA_ID}/${entity}/state", published retained (-r).
  const th: CameraBinding = { profile: 'thingino', root: 'nursery-cam' };
  const ST = 'cameras/nursery-cam';
  // ha-discovery: AVAIL_JSON and DEVICE_JSON as the script builds them, for the motion entity.
  const AVAIL_JSON = `{"topic":"${ST}/status","payload_available":"online","payload_not_available":"offline"}`;
  const DEVICE_JSON = '{"identifiers":["thingino_nursery-cam"],"name":"nursery-cam","model":"Thingino Camera","manufacturer":"Thingino","sw_version":"3f2a1bc","hw_version":"","configuration_url":"http://192.168.1.77"}';
  const MOTION_DISC = `{"name":"Motion","unique_id":"thingino_nursery-cam_motion","state_topic":"${ST}/motion/state","payload_on":"ON","payload_off":"OFF","device_class":"motion","availability":${AVAIL_JSON},"device":${DEVICE_JSON}}`;
  it('takes the hostname as its topic and follows the command subscriber’s connection for presence', () => {
    expect(FIRMWARE_PROFILES.thingino.presence).toBe('connection');
    expect(FIRMWARE_PROFILES.thingino.topicHelp).toMatch(/hostname/);
    expect(bindingProblem('thingino', 'nursery-cam')).toBeUndefined();
    expect(bindingProblem('thingino', 'a0b1c2d3e4f5')).toBeUndefined(); // builds that used the MAC
    expect(bindingProblem('thingino', 'cameras/nursery-cam')).toMatch(/hostname/);
    expect(bindingProblem('thingino', 'nursery cam')).toMatch(/hostname/);
  });
  it('reads package/thingino-ha topics under cameras/<hostname>/', () => {
    // ha-state (force): mpub -r -t "${HA_AVAIL_TOPIC}" -m 'online'; ha-commands: --will-payload offline.
    expect(interpretPublish(th, `${ST}/status`, b('online'))).toEqual({ ok: true, items: [{ kind: 'presence', online: true }] });
    expect(interpretPublish(th, `${ST}/status`, b('offline'))).toEqual({ ok: true, items: [{ kind: 'presence', online: false }] });
    // ha-state / ha-event: ha_pub_state motion ON|OFF.
    expect(interpretPublish(th, `${ST}/motion/state`, b('ON'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion' }] });
    expect(interpretPublish(th, `${ST}/motion/state`, b('OFF'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion_end' }] });
    // ha-state: rssi from `wpa_cli signal_poll` (RSSI=-58, dBm).
    expect(interpretPublish(th, `${ST}/rssi/state`, b('-58'))).toEqual({ ok: true, items: [{ kind: 'status', status: { rssi: -58 } }] });
    // ha-state: mpub -t 'cameras/${HA_CAMERA_ID}/firmware/state' -m "$installed" (COMMIT_ID from os-release).
    expect(interpretPublish(th, `${ST}/firmware/state`, b('3f2a1bc'))).toEqual({ ok: true, items: [{ kind: 'status', status: { model: 'Thingino', firmware: '3f2a1bc' } }] });
    expect(interpretPublish(th, `${ST}/firmware/latest`, b('2026-08-09'))).toMatchObject({ ok: true, items: [], dropped: 'not_kept' });
    expect(interpretPublish(th, `${ST}/daynight/state`, b('night'))).toMatchObject({ ok: true, items: [], dropped: 'not_kept' });
    // ha-daemon: base64 "$snap" | tr -d '\n' published to cameras/${HA_CAMERA_ID}/live_view/image.
    expect(interpretPublish(th, `${ST}/live_view/image`, Buffer.from(JPEG.toString('base64')))).toEqual({ ok: true, items: [], dropped: 'image' });
    // ha_pub_disc: ${disc_prefix}/${component}/thingino_${HA_CAMERA_ID}/${object_id}/config, retained.
    expect(interpretPublish(th, 'homeassistant/binary_sensor/thingino_nursery-cam/motion/config', b(MOTION_DISC))).toMatchObject({ ok: true, items: [] });
    // ha_clear_disc: an empty retained message.
    expect(interpretPublish(th, 'homeassistant/switch/thingino_nursery-cam/ir940/config', Buffer.alloc(0))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(th, 'homeassistant/binary_sensor/thingino_other/motion/config', b({}))).toEqual({ ok: false, reason: 'topic_not_own' });
    expect(interpretPublish(th, 'cameras/a0b1c2d3e4f5/motion/state', b('ON'))).toEqual({ ok: false, reason: 'topic_not_own' });
    expect(interpretPublish(th, `${ST}/rssi/state`, b('-300'))).toEqual({ ok: false, reason: 'status_bad_rssi' });
    // ha-commands: MSUB="$MSUB -t 'cameras/${HA_CAMERA_ID}/+/set'".
    expect(maySubscribe(th, `${ST}/+/set`)).toBe(true);
    expect(maySubscribe(th, `${ST}/#`)).toBe(false);
  });
});

describe('dafang', () => {
  const df: CameraBinding = { profile: 'dafang', root: 'myhome/dafang' };
  it('reads mqtt-status.sh JSON at $TOPIC, motion ON/OFF, and takes motion/detection for the setting it is', () => {
    // firmware_mod/scripts/mqtt-status.sh output, with iwconfig values.
    const status = '{"uptime":" 10:01:02 up 2 days,  3:04,  load average: 0.50, 0.40, 0.30",  "ssid":"CanaryNet", "bitrate":"72.2 Mb/s", "signal_level":"88%", "link_quality":"100%", "noise_level":"0%" }';
    expect(interpretPublish(df, 'myhome/dafang', b(status))).toEqual({ ok: true, items: [{ kind: 'presence', online: true }, { kind: 'status', status: { ssid: 'CanaryNet' } }] });
    expect(interpretPublish(df, 'myhome/dafang/motion', b('ON'))).toMatchObject({ ok: true, items: [{}, { kind: 'event', type: 'motion' }] });
    expect(interpretPublish(df, 'myhome/dafang/motion', b('OFF'))).toMatchObject({ ok: true, items: [{}, { type: 'motion_end' }] });
    // mqtt-status-interval.sh: -t "${TOPIC}"/motion/detection -m "$(motion_detection status)": a setting.
    const detection = interpretPublish(df, 'myhome/dafang/motion/detection', b('ON'));
    expect(detection.ok && detection.items.some((i) => i.kind === 'event')).toBe(false);
    expect(interpretPublish(df, 'myhome/dafang/motion/snapshot/image', JPEG)).toEqual({ ok: true, items: [], dropped: 'image' });
    expect(interpretPublish(df, 'myhome/other', b('ON'))).toEqual({ ok: false, reason: 'topic_not_own' });
  });
});

describe('tasmota', () => {
  const ta: CameraBinding = { profile: 'tasmota', root: 'tasmota_ABC123' };
  // tasmota/tasmota_support/support_tasmota.ino MqttShowState, as MqttPublishTeleState sends it to
  // tele/<topic>/STATE: Time, Uptime, UptimeSec, Heap, SleepMode, Sleep, LoadAvg, MqttCount, POWER,
  // Wifi {AP, SSId, BSSId, Channel, Mode, RSSI (WifiGetRssiAsQuality: a percentage), Signal (dBm),
  // LinkCount, Downtime}, Hostname, IPAddress.
  const STATE = '{"Time":"2024-05-01T10:00:00","Uptime":"0T01:00:00","UptimeSec":3600,"Heap":120,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"OFF","Wifi":{"AP":1,"SSId":"CanaryNet","BSSId":"30:B5:C2:00:11:22","Channel":6,"Mode":"11n","RSSI":78,"Signal":-61,"LinkCount":1,"Downtime":"0T00:00:03"},"Hostname":"tasmota-ABC123-1234","IPAddress":"192.168.1.50"}';
  // tasmota_xdrv_driver/xdrv_02_9_mqtt.ino MqttConnected: Info1 {Module, Version (version + image
  // name), FallbackTopic, GroupTopic}; Info2 {WebServerMode, Hostname, IPAddress, IPv6Address}.
  const INFO1 = '{"Info1":{"Module":"ESP32-DevKit","Version":"14.3.0(tasmota32-webcam)","FallbackTopic":"cmnd/DVES_ABC123_fb/","GroupTopic":"cmnd/tasmotas/"}}';
  const INFO2 = '{"Info2":{"WebServerMode":"Admin","Hostname":"tasmota-ABC123-1234","IPAddress":"192.168.1.50","IPv6Address":""}}';
  it('reads LWT, STATE (Signal is dBm, RSSI a percentage), INFO1 and INFO2', () => {
    // MQTT_LWT_ONLINE "Online" / MQTT_LWT_OFFLINE "Offline" (my_user_config.h); the will is retained.
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/LWT', b('Online'))).toEqual({ ok: true, items: [{ kind: 'presence', online: true }] });
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/LWT', b('Offline'))).toEqual({ ok: true, items: [{ kind: 'presence', online: false }] });
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/STATE', b(STATE))).toEqual({ ok: true, items: [{ kind: 'status', status: { ssid: 'CanaryNet', rssi: -61, ip: '192.168.1.50' } }] });
    // Over Ethernet only, or before Wi-Fi has an address: IPAddress is 0.0.0.0 and there is no Wifi object.
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/STATE', b('{"Time":"2024-05-01T10:00:00","Uptime":"0T00:00:09","UptimeSec":9,"Hostname":"tasmota-ABC123-1234","IPAddress":"0.0.0.0"}'))).toEqual({ ok: true, items: [{ kind: 'status', status: {} }] });
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/INFO1', b(INFO1))).toEqual({ ok: true, items: [{ kind: 'status', status: { model: 'ESP32-DevKit', firmware: '14.3.0(tasmota32-webcam)' } }] });
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/INFO2', b(INFO2))).toEqual({ ok: true, items: [{ kind: 'status', status: { ip: '192.168.1.50' } }] });
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/INFO3', b('{"Info3":{"RestartReason":"Software/System restart"}}'))).toMatchObject({ ok: true, items: [] });
  });
  it('takes a switch’s Action ON/OFF as motion edges, not the level TelePeriod repeats', () => {
    // support_switch.ino SwitchHandler with SetOption114 1: Response_P(S_JSON_SVALUE_ACTION_SVALUE,
    // GetSwitchText(i), state text) to RESULT_OR_STAT: stat/<topic>/RESULT, or stat/<topic>/SWITCH1 with SetOption4 1.
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/RESULT', b('{"Switch1":{"Action":"ON"}}'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion', detail: 'Switch1' }] });
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/SWITCH1', b('{"Switch1":{"Action":"OFF"}}'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion_end', detail: 'Switch1' }] });
    // SwitchText renames the key; the Action shape still marks it.
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/RESULT', b('{"PIR":{"Action":"ON"}}'))).toMatchObject({ ok: true, items: [{ type: 'motion', detail: 'PIR' }] });
    // A push-button mode's TOGGLE or HOLD, and a button's SINGLE, are not motion edges.
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/RESULT', b('{"Switch1":{"Action":"TOGGLE"}}'))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/RESULT', b('{"Button1":{"Action":"SINGLE"}}'))).toMatchObject({ ok: true, items: [] });
    // MqttShowSensor at each TelePeriod: ,"Switch1":"ON" — the current level, not a change.
    expect(interpretPublish(ta, 'tele/tasmota_ABC123/SENSOR', b('{"Time":"2024-05-01T10:05:00","Switch1":"ON"}'))).toMatchObject({ ok: true, items: [] });
    // Command answers and the relay's state are not motion.
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/RESULT', b('{"POWER":"ON"}'))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(ta, 'stat/tasmota_ABC123/POWER', b('ON'))).toMatchObject({ ok: true, items: [] });
  });
  it('accepts the empty POWER and the discovery it sends on connect; nothing else outside tele/ and stat/', () => {
    // MqttConnected: "Satisfy iobroker (#299)" ResponseClear(); MqttPublishPrefixTopic_P(CMND, S_RSLT_POWER).
    expect(interpretPublish(ta, 'cmnd/tasmota_ABC123/POWER', Buffer.alloc(0))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(ta, 'cmnd/tasmota_ABC123/POWER', b('ON'))).toEqual({ ok: false, reason: 'topic_not_own' });
    expect(interpretPublish(ta, 'cmnd/tasmota_ABC123/Backlog', Buffer.alloc(0))).toEqual({ ok: false, reason: 'topic_not_own' });
    // xdrv_12_discovery.ino TasDiscovery: tasmota/discovery/<MAC>/config (TasDiscoverMessage, abridged to its tail)
    // and /sensors ({"sn": MqttShowSensor, "ver":1}); retained, and empty when discovery is off.
    expect(interpretPublish(ta, 'tasmota/discovery/30B5C2001122/config', b('{"ip":"192.168.1.50","dn":"Tasmota","hn":"tasmota-ABC123-1234","mac":"30B5C2001122","t":"tasmota_ABC123","ft":"%prefix%/%topic%/","so":{"4":0,"11":0,"13":0,"17":0,"20":0,"30":0,"68":0,"73":0,"82":0,"114":1,"117":0},"lk":0,"lt_st":0,"sho":[0,0,0,0],"ver":1}'))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(ta, 'tasmota/discovery/30B5C2001122/sensors', b('{"sn":{"Time":"2024-05-01T10:00:00","Switch1":"OFF"},"ver":1}'))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(ta, 'tasmota/discovery/30B5C2001122/config', Buffer.alloc(0))).toMatchObject({ ok: true, items: [] });
    expect(maySubscribe(ta, 'cmnd/tasmota_ABC123/#')).toBe(true);
    expect(maySubscribe(ta, 'cmnd/tasmotas/#')).toBe(false);
  });
});

describe('esphome', () => {
  const es: CameraBinding = { profile: 'esphome', root: 'porch-cam' };
  it('reads the birth/will status and the entity state topics', () => {
    // esphome/components/mqtt/__init__.py validate_config: birth/will/shutdown `<topic_prefix>/status`, online/offline, retained.
    expect(interpretPublish(es, 'porch-cam/status', b('online'))).toEqual({ ok: true, items: [{ kind: 'presence', online: true }] });
    expect(interpretPublish(es, 'porch-cam/status', b('offline'))).toEqual({ ok: true, items: [{ kind: 'presence', online: false }] });
    // mqtt_binary_sensor.cpp publish_state: state ? "ON" : "OFF" to <prefix>/binary_sensor/<object_id>/state
    // (object id: the name "PIR Motion" in lower case, spaces as _; get_default_topic_for in __init__.py).
    expect(interpretPublish(es, 'porch-cam/binary_sensor/pir_motion/state', b('ON'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion' }] });
    expect(interpretPublish(es, 'porch-cam/binary_sensor/pir_motion/state', b('OFF'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion_end' }] });
    expect(interpretPublish(es, 'porch-cam/binary_sensor/front_door/state', b('ON'))).toMatchObject({ ok: true, items: [] });
    // mqtt_sensor.cpp: value_accuracy_to_string(value, accuracy); wifi_signal/sensor.py: dBm, accuracy_decimals=0.
    expect(interpretPublish(es, 'porch-cam/sensor/wifi_signal/state', b('-67'))).toEqual({ ok: true, items: [{ kind: 'status', status: { rssi: -67 } }] });
    // wifi_info/text_sensor.py: ssid, bssid, ip_address entities (named e.g. "WiFi SSID", "WiFi BSSID", "WiFi IP Address").
    expect(interpretPublish(es, 'porch-cam/text_sensor/wifi_ssid/state', b('CanaryNet'))).toEqual({ ok: true, items: [{ kind: 'status', status: { ssid: 'CanaryNet' } }] });
    expect(interpretPublish(es, 'porch-cam/text_sensor/wifi_bssid/state', b('30:B5:C2:00:11:22'))).toMatchObject({ ok: true, items: [] });
    expect(interpretPublish(es, 'porch-cam/text_sensor/wifi_ip_address/state', b('192.168.1.31'))).toEqual({ ok: true, items: [{ kind: 'status', status: { ip: '192.168.1.31' } }] });
    // The log topic (validate_config: `<topic_prefix>/debug`, retained).
    expect(interpretPublish(es, 'porch-cam/debug', b('[I][mqtt:274]: Connected'))).toMatchObject({ ok: true, items: [] });
  });
  it('accepts its discovery and node announcement, keeping the version and address from the latter', () => {
    // mqtt_component.cpp get_discovery_topic_: <discovery_prefix>/<component>/<node name>/<object_id>/config.
    expect(interpretPublish(es, 'homeassistant/binary_sensor/porch-cam/pir_motion/config', b('{"dev_cla":"motion","name":"PIR Motion","stat_t":"porch-cam/binary_sensor/pir_motion/state","avty_t":"porch-cam/status","uniq_id":"ESPbinary_sensorpir_motion"}'))).toMatchObject({ ok: true, items: [] });
    // mqtt_client.cpp send_device_info_: esphome/discover/<name>, QoS 2, retained.
    const announce = '{"ip":"192.168.1.31","name":"porch-cam","port":6053,"version":"2025.11.2","mac":"30b5c2001122","platform":"ESP32","board":"esp32cam","network":"wifi"}';
    expect(interpretPublish(es, 'esphome/discover/porch-cam', b(announce))).toEqual({ ok: true, items: [{ kind: 'status', status: { model: 'ESPHome', firmware: '2025.11.2', ip: '192.168.1.31' } }] });
    // It subscribes to esphome/discover and esphome/ping/<name> for that announcement.
    expect(maySubscribe(es, 'esphome/discover')).toBe(true);
    expect(maySubscribe(es, 'esphome/ping/porch-cam')).toBe(true);
    expect(maySubscribe(es, 'homeassistant/status')).toBe(true);
    expect(maySubscribe(es, 'homeassistant/#')).toBe(false);
    expect(maySubscribe(es, 'esphome/#')).toBe(false);
  });
});

describe('rule', () => {
  it('takes every message under its root as a motion edge', () => {
    const ru: CameraBinding = { profile: 'rule', root: 'garden/pir' };
    expect(interpretPublish(ru, 'garden/pir', b('1'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion' }] });
    expect(interpretPublish(ru, 'garden/pir/x', b('off'))).toEqual({ ok: true, items: [{ kind: 'event', type: 'motion_end' }] });
    expect(interpretPublish(ru, 'garden/pirx', b('1'))).toEqual({ ok: false, reason: 'topic_not_own' });
    expect(maySubscribe(ru, 'garden/pir/#')).toBe(false);
  });
});
