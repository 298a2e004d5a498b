/**
 * Cameras that speak their own firmware's MQTT, against the real daemon: enrolled with the CLI
 * (--profile, --topic), publishing the firmware's own topics and payloads through the kind of
 * client the firmware uses (mqtt.js long-lived clients with a will for Frigate, Tasmota and
 * ESPHome; mosquitto_pub per message, MQTT 3.1, for Dafang; mosquitto_sub with a will and
 * mosquitto_pub per value for Thingino); `hearth device show`
 * shows the normalised state and counts. Payload sources are named in test/camera-profiles.test.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, publishAcked, startDaemon, tempDir, type DaemonHandle } from './helpers/hub.js';

const run = promisify(execFile);

interface Enrolled {
  id: string;
  username: string;
  password: string;
  profile: string;
  topics: { publish: string[]; subscribe: string[] };
}

describe('camera firmware profiles, end to end', () => {
  const dir = tempDir();
  let daemon: DaemonHandle;
  const clients: MqttClient[] = [];
  const cams: Record<string, Enrolled> = {};
  let frigateChild = '';

  const enrol = (nickname: string, profile: string, topic: string) => cli(['device', 'add', 'camera', nickname, '--profile', profile, '--topic', topic, '--json', '--data-dir', dir.path]);
  const show = (id: string) => {
    const r = cli(['device', 'show', id, '--json', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown> & { eventCounts: Record<string, number> };
  };
  const connect = (cam: Enrolled, opts: IClientOptions = {}): Promise<MqttClient> => {
    const client = mqtt.connect(`mqtt://127.0.0.1:${daemon.mqttPort}`, { username: cam.username, password: cam.password, reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, ...opts });
    clients.push(client);
    return new Promise((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('error', reject);
    });
  };
  const mosquittoPub = (cam: Enrolled, topic: string, message: string, extra: string[] = []) =>
    run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(daemon.mqttPort), '-V', 'mqttv31', '-i', `mosqpub|${process.pid}-dafang-cam`, '-u', cam.username, '-P', cam.password, '-q', '1', '-t', topic, '-m', message, ...extra]);

  beforeAll(async () => {
    expect(cli(['init', '--data-dir', dir.path]).code).toBe(0);
    daemon = await startDaemon(dir.path);
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    await daemon?.stop();
    dir.cleanup();
  });

  it('enrols each profile with its topic patterns in the JSON, and refuses overlapping claims', () => {
    for (const [nick, profile, topic] of [
      ['NVR', 'frigate', 'frigate'],
      ['Hall Dafang', 'dafang', 'myhome/dafang'],
      ['Porch', 'esphome', 'porch-cam'],
      ['Garage', 'tasmota', 'garage_cam'],
      ['Nursery', 'thingino', 'nursery-cam'],
    ] as const) {
      const r = enrol(nick, profile, topic);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as Enrolled;
      expect(out).toMatchObject({ username: out.id, profile });
      expect(out.password).toMatch(/.{20,}/);
      cams[profile] = out;
    }
    expect(cams.frigate!.topics).toEqual({ publish: ['frigate/#'], subscribe: ['frigate/#'] });
    expect(cams.tasmota!.topics).toEqual({ publish: ['tele/garage_cam/#', 'stat/garage_cam/#', 'tasmota/discovery/+/config', 'tasmota/discovery/+/sensors', 'homeassistant/+/+/config', 'cmnd/garage_cam/POWER'], subscribe: ['cmnd/garage_cam/#'] });
    const overlap = enrol('Thief', 'rule', 'frigate/front_door');
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toMatch(/overlap/);
    const bad = enrol('Bad', 'rule', 'hearth/cam');
    expect(bad.code).toBe(2);
    expect(cli(['device', 'add', 'camera', 'X', '--profile', 'frigate', '--data-dir', dir.path]).stderr).toMatch(/needs the topic/);
    // hearth's own protocol, as before.
    const plain = JSON.parse(cli(['device', 'add', 'camera', 'Plain', '--json', '--data-dir', dir.path]).stdout);
    expect(plain).toMatchObject({ profile: 'hearth', topics: { status: `hearth/cam/${plain.id}/status` } });
  });

  it('Frigate: will, retained online, motion edges, new objects sealed, snapshots dropped without a disconnect', async () => {
    const cam = cams.frigate!;
    const will = { topic: 'frigate/available', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const c = await connect(cam, { clientId: 'frigate', will });
    expect((await c.subscribeAsync('frigate/#', { qos: 0 }))[0]!.qos).toBe(0);
    // A refused filter gets SUBACK 0x80 (mqtt.js rejects on it); the connection stays up.
    await expect(c.subscribeAsync('#', { qos: 0 })).rejects.toThrow(/Subscribe error/);
    expect(c.connected).toBe(true);
    await c.publishAsync('frigate/available', 'online', { qos: 0, retain: true });
    await c.publishAsync('frigate/front_door/motion', 'ON', { qos: 0 });
    const event = { type: 'new', before: {}, after: { id: '1607123955.475377-mxklsc', camera: 'front_door', label: 'person', sub_label: ['Jane Canary', 0.92], current_zones: ['driveway'], recognized_license_plate: 'CANARY1' } };
    await c.publishAsync('frigate/events', JSON.stringify(event), { qos: 0 });
    const snapshot = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(200_000, 9)]);
    await c.publishAsync('frigate/front_door/person/snapshot', snapshot, { qos: 0, retain: true });
    await c.publishAsync('frigate/front_door/detect/state', 'ON', { qos: 0, retain: true });
    await publishAcked(c, 'frigate/front_door/motion', 'OFF');
    expect(c.connected).toBe(true);
    // Frigate reconnects with the same client id: the new session takes over the old one.
    const again = await connect(cam, { clientId: 'frigate', will });
    await publishAcked(again, 'frigate/stats', JSON.stringify({ service: { version: '0.14.1-f4f3cfa', uptime: 5 } }));
    const s = show(cam.id);
    expect(s).toMatchObject({ profile: 'frigate', online: true, model: 'Frigate', firmware: '0.14.1-f4f3cfa' });
    // Each camera Frigate names is a camera device of its own, the NVR its parent.
    const list = JSON.parse(cli(['device', 'list', '--json', '--data-dir', dir.path]).stdout) as { id: string; kind: string; nickname: string; online: boolean }[];
    const child = list.find((d) => d.nickname === 'front_door');
    expect(child).toMatchObject({ kind: 'camera', online: true });
    const cs = show(child!.id);
    expect(cs).toMatchObject({ parent: cam.id, profile: 'frigate' });
    // (The takeover publishes the old session's will, so the NVR and its cameras may have flapped offline and back.)
    expect(cs.eventCounts).toMatchObject({ motion: 1, motion_end: 1, object: 1 });
    expect(cs.online).toBe(true);
    frigateChild = child!.id;
    // A topic outside its prefix: refused (3.1.1 closes the connection), named in lastRefusal.
    const closed = new Promise((r) => again.once('close', r));
    again.publish('tele/garage_cam/STATE', '{}', { qos: 1 });
    await closed;
    await expect.poll(() => (show(cam.id).lastRefusal as { reason?: string } | null)?.reason, { timeout: 15_000 }).toBe('topic_not_own');
    // The NVR gone (no other connection): its cameras go offline with it.
    await expect.poll(() => show(frigateChild).online, { timeout: 15_000 }).toBe(false);
  }, 30_000);

  it('Dafang: mosquitto_pub per message over MQTT 3.1, status at $TOPIC, motion/detection is a setting', async () => {
    const cam = cams.dafang!;
    const status = '{"uptime":" 10:01:02 up 2 days,  3:04,  load average: 0.50, 0.40, 0.30",  "ssid":"CanaryNet", "bitrate":"72.2 Mb/s", "signal_level":"88%", "link_quality":"100%", "noise_level":"0%" }';
    await mosquittoPub(cam, 'myhome/dafang', status, ['-r']);
    await mosquittoPub(cam, 'myhome/dafang/motion/detection', 'ON', ['-r']);
    await mosquittoPub(cam, 'myhome/dafang/motion', 'ON');
    await mosquittoPub(cam, 'myhome/dafang/motion', 'OFF');
    const s = show(cam.id);
    expect(s).toMatchObject({ profile: 'dafang', online: true, ssid: 'CanaryNet', ip: null, rssi: null });
    expect(s.eventCounts).toEqual({ online: 1, motion: 1, motion_end: 1 });
    // Each mosquitto_pub connects and leaves: no offline from the connection.
    expect(s.eventCounts.offline).toBeUndefined();
  }, 30_000);

  it('Thingino: a command subscriber with a will, mosquitto_pub per value under cameras/<hostname>/, base64 images dropped', async () => {
    const cam = cams.thingino!;
    const host = 'nursery-cam';
    // package/thingino-ha/files/ha-commands: mosquitto_sub -i thingino-ha-cmd-<id> -v
    // --will-topic cameras/<id>/status --will-payload offline --will-qos 1 -t 'cameras/<id>/+/set'.
    const sub = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(daemon.mqttPort), '-i', `thingino-ha-cmd-${host}`, '-u', cam.username, '-P', cam.password, '-v', '--will-topic', `cameras/${host}/status`, '--will-payload', 'offline', '--will-qos', '1', '-t', `cameras/${host}/+/set`], { stdio: 'ignore' });
    try {
      await expect.poll(() => show(cam.id).online, { timeout: 15_000 }).toBe(true);
      // ha-common ha_mpub_cmd: mosquitto_pub -i thingino-ha-<suffix>-<id>; states retained (-r).
      const pub = (suffix: string, topic: string, args: string[]) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(daemon.mqttPort), '-i', `thingino-ha-${suffix}-${host}`, '-u', cam.username, '-P', cam.password, '-t', topic, ...args]);
      await pub('state', `cameras/${host}/status`, ['-r', '-m', 'online']);
      await pub('state', `cameras/${host}/rssi/state`, ['-r', '-m', '-58']);
      await pub('state', `cameras/${host}/motion/state`, ['-r', '-m', 'ON']);
      await pub('disc', `homeassistant/binary_sensor/thingino_${host}/motion/config`, ['-r', '-m', '{"name":"Motion","unique_id":"thingino_nursery-cam_motion","state_topic":"cameras/nursery-cam/motion/state","payload_on":"ON","payload_off":"OFF","device_class":"motion"}']);
      // ha-daemon: base64 of a snapshot, published with -f to cameras/<id>/live_view/image.
      const b64 = join(dir.path, 'snap.b64');
      writeFileSync(b64, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(150_000, 3)]).toString('base64'));
      await pub('camera', `cameras/${host}/live_view/image`, ['-f', b64]);
      await pub('state', `cameras/${host}/motion/state`, ['-r', '-m', 'OFF']);
      const s = show(cam.id);
      expect(s).toMatchObject({ profile: 'thingino', online: true, rssi: -58 });
      expect(s.eventCounts).toEqual({ online: 1, motion: 1, motion_end: 1 });
      // The per-value clients came and went; the subscriber held the camera online throughout.
      expect(s.eventCounts.offline).toBeUndefined();
    } finally {
      sub.kill('SIGKILL');
    }
    // Gone without a DISCONNECT: its will and its last connection both say offline.
    await expect.poll(() => show(cam.id).online, { timeout: 15_000 }).toBe(false);
  }, 30_000);

  it('Tasmota: what MqttConnected sends (LWT, empty POWER, INFO1/2, discovery), STATE, a switch Action as motion; only cmnd/<topic>/# to subscribe', async () => {
    const cam = cams.tasmota!;
    // xdrv_02_9_mqtt.ino MqttReconnect: will tele/<topic>/LWT "Offline", QoS 1, retained.
    const c = await connect(cam, { clientId: 'DVES_ABC123', will: { topic: 'tele/garage_cam/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true } });
    let closed = false;
    c.on('close', () => (closed = true));
    // MqttConnected, in its order: LWT Online (retained), the empty cmnd POWER, then its subscriptions.
    await c.publishAsync('tele/garage_cam/LWT', 'Online', { qos: 0, retain: true });
    await c.publishAsync('cmnd/garage_cam/POWER', '', { qos: 0 });
    expect((await c.subscribeAsync('cmnd/garage_cam/#'))[0]!.qos).toBe(0);
    await expect(c.subscribeAsync('cmnd/tasmotas/#')).rejects.toThrow(/Subscribe error/);
    await c.publishAsync('tele/garage_cam/INFO1', '{"Info1":{"Module":"ESP32-DevKit","Version":"14.3.0(tasmota32-webcam)","FallbackTopic":"cmnd/DVES_ABC123_fb/","GroupTopic":"cmnd/tasmotas/"}}', { qos: 0 });
    await c.publishAsync('tele/garage_cam/INFO2', '{"Info2":{"WebServerMode":"Admin","Hostname":"tasmota-ABC123-1234","IPAddress":"192.168.1.50","IPv6Address":""}}', { qos: 0 });
    // xdrv_12_discovery.ino TasDiscovery, retained (payloads in test/camera-profiles.test.ts).
    await c.publishAsync('tasmota/discovery/30B5C2001122/config', '{"ip":"192.168.1.50","mac":"30B5C2001122","t":"garage_cam","ver":1}', { qos: 0, retain: true });
    await c.publishAsync('tasmota/discovery/30B5C2001122/sensors', '{"sn":{"Time":"2024-05-01T10:00:00","Switch1":"OFF"},"ver":1}', { qos: 0, retain: true });
    const state = '{"Time":"2024-05-01T10:00:00","Uptime":"0T01:00:00","UptimeSec":3600,"Heap":120,"SleepMode":"Dynamic","Sleep":50,"LoadAvg":19,"MqttCount":1,"POWER":"OFF","Wifi":{"AP":1,"SSId":"CanaryNet","BSSId":"30:B5:C2:00:11:22","Channel":6,"Mode":"11n","RSSI":78,"Signal":-61,"LinkCount":1,"Downtime":"0T00:00:03"},"Hostname":"tasmota-ABC123-1234","IPAddress":"192.168.1.50"}';
    await c.publishAsync('tele/garage_cam/STATE', state, { qos: 0 });
    await c.publishAsync('tele/garage_cam/SENSOR', '{"Time":"2024-05-01T10:00:00","Switch1":"OFF"}', { qos: 0 });
    await c.publishAsync('stat/garage_cam/RESULT', '{"Switch1":{"Action":"ON"}}', { qos: 0 });
    await publishAcked(c, 'stat/garage_cam/RESULT', '{"Switch1":{"Action":"OFF"}}');
    expect(closed).toBe(false);
    const s = show(cam.id);
    expect(s).toMatchObject({ profile: 'tasmota', online: true, ssid: 'CanaryNet', rssi: -61, ip: '192.168.1.50', model: 'ESP32-DevKit', firmware: '14.3.0(tasmota32-webcam)' });
    expect(s.eventCounts).toEqual({ online: 1, motion: 1, motion_end: 1 });
    expect(s.lastRefusal).toBeNull();
    // The will: gone without a DISCONNECT, the hub marks it offline.
    c.stream.destroy();
    await expect.poll(() => show(cam.id).online, { timeout: 15_000 }).toBe(false);
  }, 30_000);

  it('ESPHome: birth/will status, its node announcement and discovery, entity states', async () => {
    const cam = cams.esphome!;
    // __init__.py validate_config: will <prefix>/status "offline", QoS 0, retained.
    const c = await connect(cam, { clientId: 'porch-cam', will: { topic: 'porch-cam/status', payload: Buffer.from('offline'), qos: 0, retain: true } });
    let closed = false;
    c.on('close', () => (closed = true));
    // mqtt_client.cpp check_connected: resubscribe, then send_device_info_ (QoS 2, retained); then the birth.
    expect((await c.subscribeAsync('esphome/discover', { qos: 2 }))[0]!.qos).toBe(2);
    expect((await c.subscribeAsync('esphome/ping/porch-cam', { qos: 2 }))[0]!.qos).toBe(2);
    expect((await c.subscribeAsync('homeassistant/status'))[0]!.qos).toBe(0);
    await c.publishAsync('esphome/discover/porch-cam', '{"ip":"192.168.1.31","name":"porch-cam","port":6053,"version":"2025.11.2","mac":"30b5c2001122","platform":"ESP32","board":"esp32cam","network":"wifi"}', { qos: 2, retain: true });
    await c.publishAsync('porch-cam/status', 'online', { qos: 0, retain: true });
    await c.publishAsync('homeassistant/binary_sensor/porch-cam/pir_motion/config', '{"dev_cla":"motion","name":"PIR Motion","stat_t":"porch-cam/binary_sensor/pir_motion/state","avty_t":"porch-cam/status","uniq_id":"ESPbinary_sensorpir_motion"}', { qos: 0, retain: true });
    await c.publishAsync('porch-cam/debug', '[I][mqtt:274]: Connected', { qos: 0, retain: true });
    await c.publishAsync('porch-cam/sensor/wifi_signal/state', '-67', { qos: 0 });
    await c.publishAsync('porch-cam/binary_sensor/pir_motion/state', 'ON', { qos: 0 });
    await publishAcked(c, 'porch-cam/binary_sensor/pir_motion/state', 'OFF');
    expect(closed).toBe(false);
    const s = show(cam.id);
    expect(s).toMatchObject({ profile: 'esphome', online: true, rssi: -67, model: 'ESPHome', firmware: '2025.11.2', ip: '192.168.1.31' });
    expect(s.eventCounts).toEqual({ online: 1, motion: 1, motion_end: 1 });
    expect(s.lastRefusal).toBeNull();
    await c.endAsync();
  }, 30_000);

  it('keeps the SSID, face name, plate and topic roots out of the database file, its WAL and the log', async () => {
    // Let the daemon write and checkpoint what it has.
    await new Promise((r) => setTimeout(r, 300));
    const files = readdirSync(dir.path).filter((f) => f.startsWith('hearth.db'));
    const canaries = ['front_door', 'CanaryNet', 'Jane Canary', 'CANARY1', 'driveway', 'nursery-cam', 'myhome/dafang'];
    for (const f of files) {
      const bytes = readFileSync(join(dir.path, f));
      for (const canary of canaries) expect(bytes.includes(Buffer.from(canary)), `${canary} in ${f}`).toBe(false);
    }
    for (const canary of canaries) expect(daemon.output()).not.toContain(canary);
  });

  it('removing the NVR removes the cameras it reported', () => {
    expect(cli(['device', 'remove', cams.frigate!.id, '--data-dir', dir.path]).code).toBe(0);
    const list = JSON.parse(cli(['device', 'list', '--json', '--data-dir', dir.path]).stdout) as { id: string }[];
    expect(list.map((d) => d.id)).not.toContain(frigateChild);
  });
});
