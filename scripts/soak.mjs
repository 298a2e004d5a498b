#!/usr/bin/env node
/**
 * `npm run soak [-- --quick] [-- --json FILE]`: long fault runs against the real daemon.
 *
 * - power cut: N cameras publish QoS 1 events while the daemon is SIGKILLed at a random moment,
 *   again and again; after every kill the database must pass `PRAGMA integrity_check` and hold
 *   every event the daemon had PUBACKed.
 * - reconnect storm: M cameras drop their connections and reconnect all at once, many times; the
 *   hub must keep acknowledging a bystander camera and its memory must stay bounded.
 * - BlueZ churn: BlueZ (the test stand-in on a private bus) is killed and restarted, and the adapter
 *   unplugged and plugged back, in turns; after every fault the hub must read a new weigh-in, its
 *   web UI must answer throughout, and its memory must stay bounded.
 *
 * Runs the compiled daemon (`npm run build` first). Prints a summary; exits 1 when anything was lost.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { prng } from './lib/prng.mjs';
import { eventually, startPrivateBus, startStandin } from '../test/helpers/bluez-harness.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'hearth.js');
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href);

/** Timestamps far enough in the past to be valid, unique per camera, round and message. */
const TS_BASE = Date.now() - 20 * 24 * 3600 * 1000;

export const PROFILES = {
  quick: { powerCut: { cameras: 50, rounds: 5 }, storm: { cameras: 200, storms: 3 }, ble: { rounds: 4 } },
  full: { powerCut: { cameras: 50, rounds: 20 }, storm: { cameras: 200, storms: 10 }, ble: { rounds: 30 } },
};

function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HEARTH_') && k !== 'CREDENTIALS_DIRECTORY') env[k] = v;
  return { ...env, ...extra };
}

/** Enrols cameras directly through the vault (the CLI would cost a process per camera). */
async function enrolCameras(dataDir, count, prefix) {
  const { openVault } = await dist('store/vault.js');
  const { DeviceRegistry, newDeviceId } = await dist('devices/registry.js');
  const { generateDevicePassword, hashPassword } = await dist('crypto/password.js');
  const vault = await openVault(dataDir, {}, { create: true });
  try {
    const registry = new DeviceRegistry(vault.db, vault.sealer);
    return Array.from({ length: count }, (_, i) => {
      const password = generateDevicePassword();
      const d = registry.add('camera', newDeviceId('cam'), `${prefix} ${i}`, { secretHash: hashPassword(vault.sodium, password, 'device') });
      return { id: d.id, username: d.id, password };
    });
  } finally {
    vault.close();
  }
}

function startDaemon(dataDir, env = {}) {
  const proc = spawn(process.execPath, [BIN, 'start', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0', '--mqtt-host', '127.0.0.1', '--http-host', '127.0.0.1'], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${out.slice(-2000)}`)), 30_000);
    const onData = (d) => {
      out += d.toString();
      const m = /MQTT broker: mqtt:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, mqttPort: Number(m[1]), exited, output: () => out });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} at start:\n${out.slice(-2000)}`));
    });
  });
}

function connect(port, cam) {
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username: cam.username, password: cam.password, reconnectPeriod: 0, connectTimeout: 15_000, clientId: `${cam.id}-${Math.random().toString(16).slice(2, 8)}` });
  client.on('error', () => {});
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** QoS 1 publish that resolves true on PUBACK and false if the connection died first. */
function publishAcked(client, topic, payload) {
  return new Promise((resolve) => {
    if (!client.connected) return resolve(false);
    const onClose = () => resolve(false);
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1 }, (err) => {
      client.off('close', onClose);
      resolve(!err);
    });
  });
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SIGKILL while cameras publish; check every PUBACKed event after each kill.
 * Returns { rounds, cameras, acked, checked, lost, integrityFailures }.
 */
export async function powerCutSoak({ cameras = 50, rounds = 20, seed = 1, log = () => {} } = {}) {
  const rand = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-soak-power-'));
  const { openDatabase } = await dist('store/database.js');
  const result = { rounds, cameras, acked: 0, checked: 0, lost: 0, integrityFailures: 0 };
  try {
    const cams = await enrolCameras(dir, cameras, 'Soak camera');
    for (let round = 0; round < rounds; round++) {
      const daemon = await startDaemon(dir);
      const clients = await Promise.all(cams.map((c) => connect(daemon.mqttPort, c)));
      const acked = [];
      let running = true;
      const loops = clients.map(async (client, i) => {
        for (let seq = 0; running; seq++) {
          const ts = TS_BASE + round * 1_000_000 + seq;
          const ok = await publishAcked(client, `hearth/cam/${cams[i].id}/event`, JSON.stringify({ type: 'motion', ts }));
          if (!ok) return;
          acked.push([cams[i].id, ts]);
        }
      });
      // The power goes at a random moment, mid-batch as often as not.
      await new Promise((r) => setTimeout(r, 300 + Math.floor(rand() * 1200)));
      daemon.proc.kill('SIGKILL');
      await daemon.exited;
      running = false;
      for (const c of clients) c.end(true);
      await Promise.all(loops);

      const db = openDatabase(join(dir, 'hearth.db'), { mustExist: true });
      try {
        const integrity = db.pragma('integrity_check', { simple: true });
        if (integrity !== 'ok') result.integrityFailures++;
        const has = db.prepare("SELECT 1 FROM events WHERE device_id = ? AND type = 'motion' AND ts = ?").pluck();
        let lost = 0;
        for (const [id, ts] of acked) if (!has.get(id, ts)) lost++;
        result.acked += acked.length;
        result.checked += acked.length;
        result.lost += lost;
        log(`power cut ${round + 1}/${rounds}: ${acked.length} acknowledged, ${lost} lost, integrity ${integrity}`);
      } finally {
        db.close();
      }
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Many cameras drop and reconnect at once, `storms` times, while a bystander camera keeps
 * publishing. Returns RSS figures (KiB) and the bystander's acknowledged/failed counts.
 */
export async function reconnectStorm({ cameras = 200, storms = 10, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-soak-storm-'));
  const result = { cameras, storms, reconnects: 0, refusedReconnects: 0, bystanderAcked: 0, bystanderFailed: 0, rssAfterFirstKiB: 0, rssAfterLastKiB: 0, rssMaxKiB: 0 };
  let daemon;
  try {
    const [bystanderCam, ...cams] = await enrolCameras(dir, cameras + 1, 'Storm camera');
    daemon = await startDaemon(dir);
    const bystander = await connect(daemon.mqttPort, bystanderCam);
    let running = true;
    const bystanderLoop = (async () => {
      for (let seq = 0; running; seq++) {
        const ok = await publishAcked(bystander, `hearth/cam/${bystanderCam.id}/event`, JSON.stringify({ type: 'motion', ts: TS_BASE + seq }));
        if (ok) result.bystanderAcked++;
        else result.bystanderFailed++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    let clients = await Promise.all(cams.map((c) => connect(daemon.mqttPort, c)));
    for (let s = 0; s < storms; s++) {
      // Everyone drops at once (a Wi-Fi access point rebooting), then everyone comes back at once.
      for (const c of clients) c.stream.destroy();
      const settled = await Promise.allSettled(cams.map((c) => connect(daemon.mqttPort, c)));
      clients = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      result.reconnects += cams.length;
      result.refusedReconnects += settled.length - clients.length;
      await Promise.all(clients.map((c, i) => publishAcked(c, `hearth/cam/${cams[i]?.id}/status`, JSON.stringify({ state: 'online', rssi: -40 - (s % 30) }))));
      const rss = rssKiB(daemon.proc.pid) ?? 0;
      if (s === 0) result.rssAfterFirstKiB = rss;
      result.rssAfterLastKiB = rss;
      result.rssMaxKiB = Math.max(result.rssMaxKiB, rss);
      log(`storm ${s + 1}/${storms}: ${clients.length}/${cams.length} reconnected, hub RSS ${(rss / 1024).toFixed(1)} MiB`);
    }
    running = false;
    await bystanderLoop;
    for (const c of clients) c.end(true);
    bystander.end(true);
    return result;
  } finally {
    if (daemon) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * BlueZ crashes and adapter unplugs while the daemon reads a scale.
 * Returns { rounds, weighIns, stored, lost, healthFailures, rssAfterFirstKiB, rssAfterLastKiB, rssMaxKiB }.
 */
export async function bluezChurnSoak({ rounds = 30, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-soak-ble-'));
  const scale = 'C8:47:8C:50:A4:01';
  const result = { rounds, weighIns: 0, stored: 0, lost: 0, healthFailures: 0, rssAfterFirstKiB: 0, rssAfterLastKiB: 0, rssMaxKiB: 0 };
  const bus = await startPrivateBus();
  let bluez;
  let daemon;
  let vault;
  try {
    const { openVault } = await dist('store/vault.js');
    const { DeviceService } = await dist('devices/service.js');
    const { DomainBus } = await dist('bus/bus.js');
    const { inlinePasswordHashing } = await dist('crypto/password.js');
    vault = await openVault(dir, {}, { create: true });
    const devices = new DeviceService({ db: vault.db, sealer: vault.sealer, bus: new DomainBus(), passwords: inlinePasswordHashing(vault.sodium), scrub: 'blocking' });
    await devices.enrol('scale', { address: scale, nickname: 'Soak scale' });
    const { ScaleStore } = await dist('devices/scale/store.js');
    const scales = new ScaleStore(vault.db, vault.sealer);
    bluez = await startStandin(bus.address);
    await bluez.addDevice({ address: scale });
    daemon = await startDaemon(dir, { DBUS_SYSTEM_BUS_ADDRESS: bus.address, HEARTH_BLE_SCAN_WINDOW: '5', HEARTH_BLE_SCAN_INTERVAL: '5', HEARTH_BLE_RETRY_MAX: '2', HEARTH_GPIO_ENABLED: 'false' });
    const httpPort = Number((await eventually('the web UI port', () => /web UI:\s+http:\/\/[^:]+:(\d+)/.exec(daemon.output())))[1]);
    const count = (re) => (daemon.output().match(re) ?? []).length;
    for (let round = 0; round < rounds; round++) {
      const losses = count(/Bluetooth unavailable/g);
      if (round % 2 === 0) {
        await bluez.kill();
        await eventually('BlueZ loss noticed', () => count(/Bluetooth unavailable/g) > losses, 20_000);
        bluez = await startStandin(bus.address);
      } else {
        await bluez.call('removeAdapter');
        await eventually('adapter loss noticed', () => count(/Bluetooth unavailable/g) > losses, 20_000);
        await bluez.call('addAdapter');
      }
      await bluez.addDevice({ address: scale });
      await bluez.waitFor('discovery', (st) => st.adapter?.discovering === true, 30_000);
      const health = await fetch(`http://127.0.0.1:${httpPort}/api/health`).catch(() => undefined);
      if (health?.status !== 200) result.healthFailures++;
      // A new weigh-in after every fault (60 kg + 0.1 kg per round), sent until the reader has it.
      const raw = 12_000 + round * 20;
      const frame = Buffer.from([0xa2, raw & 0xff, raw >> 8, 0xe6, 0x07, 2, 14, 16, 41, 58]).toString('hex');
      result.weighIns++;
      await eventually(
        `weigh-in ${round + 1}`,
        async () => {
          await bluez.advert(scale, { '181d': frame });
          return scales.list({ limit: 10_000 }).length === round + 1;
        },
        30_000,
        500,
      ).catch(() => log(`weigh-in ${round + 1} was not stored`));
      const rss = rssKiB(daemon.proc.pid) ?? 0;
      if (round === 0) result.rssAfterFirstKiB = rss;
      result.rssAfterLastKiB = rss;
      result.rssMaxKiB = Math.max(result.rssMaxKiB, rss);
      log(`BlueZ churn ${round + 1}/${rounds}: ${round % 2 === 0 ? 'BlueZ restarted' : 'adapter replugged'}, weigh-ins stored ${scales.list({ limit: 10_000 }).length}`);
    }
    result.stored = scales.list({ limit: 10_000 }).length;
    result.lost = result.weighIns - result.stored;
    return result;
  } finally {
    vault?.close();
    if (daemon) {
      daemon.proc.kill('SIGTERM');
      await daemon.exited;
    }
    await bluez?.stop();
    await bus.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  const quick = argv.includes('--quick');
  const jsonAt = argv.indexOf('--json');
  const jsonFile = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
  const seedAt = argv.indexOf('--seed');
  const seed = seedAt >= 0 ? Number(argv[seedAt + 1]) : Date.now() % 1_000_000;
  const profile = quick ? PROFILES.quick : PROFILES.full;
  const log = (line) => process.stderr.write(`  ${line}\n`);
  process.stderr.write(`hearth soak (${quick ? 'quick' : 'full'}, seed ${seed})\n`);
  const powerCut = await powerCutSoak({ ...profile.powerCut, seed, log });
  const storm = await reconnectStorm({ ...profile.storm, log });
  const growthKiB = storm.rssAfterLastKiB - storm.rssAfterFirstKiB;
  const ble = await bluezChurnSoak({ ...profile.ble, log });
  const summary = { seed, powerCut, storm: { ...storm, rssGrowthKiB: growthKiB }, ble };
  process.stdout.write(
    [
      '',
      `power cut: ${powerCut.rounds} kills with ${powerCut.cameras} cameras publishing; ${powerCut.checked} acknowledged messages checked, ${powerCut.lost} lost; integrity failures ${powerCut.integrityFailures}`,
      `reconnect storm: ${storm.storms} storms of ${storm.cameras} cameras; ${storm.refusedReconnects} reconnects refused; bystander ${storm.bystanderAcked} acknowledged, ${storm.bystanderFailed} failed; hub RSS ${(storm.rssAfterFirstKiB / 1024).toFixed(1)} → ${(storm.rssAfterLastKiB / 1024).toFixed(1)} MiB (max ${(storm.rssMaxKiB / 1024).toFixed(1)})`,
      `BlueZ churn: ${ble.rounds} faults (BlueZ killed / adapter unplugged in turns); weigh-ins ${ble.stored} of ${ble.weighIns} stored, ${ble.lost} lost; web UI failures ${ble.healthFailures}; hub RSS ${(ble.rssAfterFirstKiB / 1024).toFixed(1)} → ${(ble.rssAfterLastKiB / 1024).toFixed(1)} MiB (max ${(ble.rssMaxKiB / 1024).toFixed(1)})`,
      '',
    ].join('\n'),
  );
  if (jsonFile) {
    writeFileSync(jsonFile, JSON.stringify(summary, null, 2) + '\n');
    process.stdout.write(`wrote ${jsonFile}\n`);
  }
  const failed = powerCut.lost > 0 || powerCut.integrityFailures > 0 || storm.bystanderFailed > 0 || storm.refusedReconnects > 0 || ble.lost > 0 || ble.healthFailures > 0;
  return failed ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(`soak failed: ${err.stack ?? err}\n`);
      process.exitCode = 2;
    },
  );
}
