#!/usr/bin/env node
/**
 * A BlueZ stand-in for tests: claims org.bluez on the bus named by DBUS_SYSTEM_BUS_ADDRESS and
 * exposes what BlueZ exposes to a scale reader, with BlueZ's object paths and interfaces:
 *
 *   /                                       org.freedesktop.DBus.ObjectManager
 *   /org/bluez                              org.bluez.AgentManager1
 *   /org/bluez/hci0                         org.bluez.Adapter1
 *   /org/bluez/hci0/dev_AA_BB_..            org.bluez.Device1
 *   /org/bluez/hci0/dev_AA_BB_../serviceNNNN          org.bluez.GattService1
 *   /org/bluez/hci0/dev_AA_BB_../serviceNNNN/charMMMM org.bluez.GattCharacteristic1
 *
 * with PropertiesChanged, InterfacesAdded and InterfacesRemoved signals. Adverts are delivered
 * only while some client is discovering, and notifications only while the characteristic is
 * notifying, as with a real adapter.
 *
 * Driven over stdin/stdout, one JSON object per line: {"id":1,"op":"advert",...} is answered by
 * {"id":1,"ok":true,...}. The first line it prints is {"ready":true,"name":":1.x"}.
 */
import dbus from 'dbus-next';
import { createInterface } from 'node:readline';

const { Interface } = dbus.interface;
const { Variant, DBusError } = dbus;

const ADAPTER = process.env.BLUEZ_STANDIN_ADAPTER || 'hci0';
const ADAPTER_PATH = `/org/bluez/${ADAPTER}`;

const bus = dbus.systemBus();
bus.on('error', (err) => {
  process.stderr.write(`bluez-standin: bus error ${err.message}\n`);
  process.exit(3);
});

/** Full 128-bit form of a 16-bit SIG UUID, as BlueZ reports them. */
function uuid128(u) {
  const s = String(u).toLowerCase();
  return /^[0-9a-f]{4}$/.test(s) ? `0000${s}-0000-1000-8000-00805f9b34fb` : s;
}
function devicePath(address) {
  return `${ADAPTER_PATH}/dev_${address.toUpperCase().replace(/:/g, '_')}`;
}
function failed(msg) {
  return new DBusError('org.bluez.Error.Failed', msg);
}

/** Every exported interface by path, for ObjectManager. */
const objects = new Map();
function exportIface(path, iface) {
  bus.export(path, iface);
  if (!objects.has(path)) objects.set(path, new Map());
  objects.get(path).set(iface.$name, iface);
}
function unexportPath(path) {
  const ifaces = objects.get(path);
  if (!ifaces) return [];
  for (const iface of ifaces.values()) bus.unexport(path, iface);
  objects.delete(path);
  return [...ifaces.keys()];
}
function propsOf(iface) {
  const out = {};
  for (const [name, spec] of Object.entries(iface.$properties)) {
    if (iface[name] === undefined) continue;
    out[name] = new Variant(spec.signature, iface[name]);
  }
  return out;
}
function interfacesOf(path) {
  const out = {};
  for (const [name, iface] of objects.get(path) ?? []) out[name] = propsOf(iface);
  return out;
}
function setProps(iface, changes) {
  Object.assign(iface, changes);
  Interface.emitPropertiesChanged(iface, changes, []);
}

class ObjectManager extends Interface {
  GetManagedObjects() {
    const out = {};
    for (const path of objects.keys()) if (path !== '/') out[path] = interfacesOf(path);
    return out;
  }
  InterfacesAdded(path, ifaces) {
    return [path, ifaces];
  }
  InterfacesRemoved(path, names) {
    return [path, names];
  }
}
ObjectManager.configureMembers({
  methods: { GetManagedObjects: { inSignature: '', outSignature: 'a{oa{sa{sv}}}' } },
  signals: { InterfacesAdded: { signature: 'oa{sa{sv}}' }, InterfacesRemoved: { signature: 'oas' } },
});

class AgentManager extends Interface {
  RegisterAgent() {}
  UnregisterAgent() {}
  RequestDefaultAgent() {}
}
AgentManager.configureMembers({
  methods: {
    RegisterAgent: { inSignature: 'os', outSignature: '' },
    UnregisterAgent: { inSignature: 'o', outSignature: '' },
    RequestDefaultAgent: { inSignature: 'o', outSignature: '' },
  },
});

const stats = { startDiscovery: 0, stopDiscovery: 0, setDiscoveryFilter: 0, connect: 0, disconnect: 0, startNotify: 0, stopNotify: 0 };
/** Bus names of clients that are discovering (BlueZ keeps discovery per client). */
const discoveringClients = new Set();

class Adapter extends Interface {
  Address = '00:1A:7D:DA:71:13';
  AddressType = 'public';
  Name = 'hearth-test';
  Alias = 'hearth-test';
  Class = 0;
  Powered = true;
  Discoverable = false;
  Pairable = false;
  Discovering = false;
  UUIDs = [];
  Modalias = 'usb:v1D6Bp0246d0541';

  SetDiscoveryFilter(filter) {
    stats.setDiscoveryFilter++;
    this.lastFilter = Object.fromEntries(Object.entries(filter).map(([k, v]) => [k, v.value]));
  }
  StartDiscovery() {
    if (!this.Powered) throw new DBusError('org.bluez.Error.NotReady', 'Resource Not Ready');
    stats.startDiscovery++;
    discoveringClients.add(this.$currentSender ?? 'client');
    if (!this.Discovering) setProps(this, { Discovering: true });
  }
  StopDiscovery() {
    if (!this.Discovering) throw new DBusError('org.bluez.Error.Failed', 'No discovery started');
    stats.stopDiscovery++;
    discoveringClients.clear();
    setProps(this, { Discovering: false });
  }
  RemoveDevice(path) {
    removeDevice(path);
  }
  GetDiscoveryFilters() {
    return ['UUIDs', 'RSSI', 'Pathloss', 'Transport', 'DuplicateData', 'Discoverable', 'Pattern'];
  }
}
Adapter.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's' },
    Class: { signature: 'u', access: 'read' },
    Powered: { signature: 'b' },
    Discoverable: { signature: 'b' },
    Pairable: { signature: 'b' },
    Discovering: { signature: 'b', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
    Modalias: { signature: 's', access: 'read' },
  },
  methods: {
    SetDiscoveryFilter: { inSignature: 'a{sv}', outSignature: '' },
    StartDiscovery: { inSignature: '', outSignature: '' },
    StopDiscovery: { inSignature: '', outSignature: '' },
    RemoveDevice: { inSignature: 'o', outSignature: '' },
    GetDiscoveryFilters: { inSignature: '', outSignature: 'as' },
  },
});

class Device extends Interface {
  constructor(spec) {
    super('org.bluez.Device1');
    this.Address = spec.address.toUpperCase();
    this.AddressType = 'public';
    this.Name = spec.name ?? 'scale';
    this.Alias = spec.name ?? this.Address.replace(/:/g, '-');
    this.Paired = false;
    this.Trusted = false;
    this.Blocked = false;
    this.Connected = false;
    this.ServicesResolved = false;
    this.LegacyPairing = false;
    this.Adapter = ADAPTER_PATH;
    this.RSSI = spec.rssi ?? -60;
    this.UUIDs = (spec.uuids ?? []).map(uuid128);
    this.ServiceData = {};
    this.gatt = spec.gatt ?? [];
    /** Whether Connect() succeeds (a sleeping scale does not answer). */
    this.connectable = spec.connectable ?? true;
  }
  get path() {
    return devicePath(this.Address);
  }
  async Connect() {
    stats.connect++;
    // The message names the object path, as some D-Bus errors do (the hub must not log it).
    if (!this.connectable) throw new DBusError('org.bluez.Error.Failed', `le-connection-abort-by-local on ${this.path}`);
    if (!this.Connected) setProps(this, { Connected: true });
    exportGatt(this);
    setTimeout(() => {
      if (this.Connected && !this.ServicesResolved) setProps(this, { ServicesResolved: true });
    }, 20);
  }
  Disconnect() {
    stats.disconnect++;
    dropConnection(this);
  }
  Pair() {
    throw failed('pairing is not offered by this stand-in');
  }
  CancelPair() {}
}
Device.configureMembers({
  properties: {
    Address: { signature: 's', access: 'read' },
    AddressType: { signature: 's', access: 'read' },
    Name: { signature: 's', access: 'read' },
    Alias: { signature: 's' },
    Paired: { signature: 'b', access: 'read' },
    Trusted: { signature: 'b' },
    Blocked: { signature: 'b' },
    LegacyPairing: { signature: 'b', access: 'read' },
    RSSI: { signature: 'n', access: 'read' },
    Connected: { signature: 'b', access: 'read' },
    UUIDs: { signature: 'as', access: 'read' },
    Adapter: { signature: 'o', access: 'read' },
    ServiceData: { signature: 'a{sv}', access: 'read' },
    ServicesResolved: { signature: 'b', access: 'read' },
  },
  methods: {
    Connect: { inSignature: '', outSignature: '' },
    Disconnect: { inSignature: '', outSignature: '' },
    Pair: { inSignature: '', outSignature: '' },
    CancelPair: { inSignature: '', outSignature: '' },
  },
});

class GattService extends Interface {
  constructor(uuid, devicePathValue) {
    super('org.bluez.GattService1');
    this.UUID = uuid128(uuid);
    this.Primary = true;
    this.Device = devicePathValue;
  }
}
GattService.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Primary: { signature: 'b', access: 'read' },
    Device: { signature: 'o', access: 'read' },
  },
});

class GattCharacteristic extends Interface {
  constructor(uuid, servicePath, flags) {
    super('org.bluez.GattCharacteristic1');
    this.UUID = uuid128(uuid);
    this.Service = servicePath;
    this.Value = Buffer.alloc(0);
    this.Notifying = false;
    this.Flags = flags ?? ['indicate'];
  }
  ReadValue() {
    return this.Value;
  }
  StartNotify() {
    stats.startNotify++;
    if (this.Notifying) throw new DBusError('org.bluez.Error.InProgress', 'In Progress');
    setProps(this, { Notifying: true });
  }
  StopNotify() {
    stats.stopNotify++;
    if (this.Notifying) setProps(this, { Notifying: false });
  }
}
GattCharacteristic.configureMembers({
  properties: {
    UUID: { signature: 's', access: 'read' },
    Service: { signature: 'o', access: 'read' },
    Value: { signature: 'ay', access: 'read' },
    Notifying: { signature: 'b', access: 'read' },
    Flags: { signature: 'as', access: 'read' },
  },
  methods: {
    ReadValue: { inSignature: 'a{sv}', outSignature: 'ay' },
    StartNotify: { inSignature: '', outSignature: '' },
    StopNotify: { inSignature: '', outSignature: '' },
  },
});

const objectManager = new ObjectManager('org.freedesktop.DBus.ObjectManager');
let adapter = null;
/** Devices by normalized address (they survive the adapter being removed only in this map). */
const devices = new Map();

function announce(path) {
  objectManager.InterfacesAdded(path, interfacesOf(path));
}
function exportAdapter() {
  adapter = new Adapter('org.bluez.Adapter1');
  exportIface(ADAPTER_PATH, adapter);
  announce(ADAPTER_PATH);
}
function removeAdapter() {
  for (const d of [...devices.values()]) removeDevice(d.path);
  discoveringClients.clear();
  const names = unexportPath(ADAPTER_PATH);
  if (names.length) objectManager.InterfacesRemoved(ADAPTER_PATH, names);
  adapter = null;
}
function addDevice(spec) {
  if (!adapter) throw new Error('no adapter');
  const d = new Device(spec);
  if (devices.has(d.Address)) removeDevice(d.path);
  devices.set(d.Address, d);
  exportIface(d.path, d);
  announce(d.path);
  return d;
}
function removeDevice(path) {
  const d = [...devices.values()].find((x) => x.path === path);
  if (!d) throw failed('Does Not Exist');
  unexportGatt(d);
  devices.delete(d.Address);
  const names = unexportPath(path);
  if (names.length) objectManager.InterfacesRemoved(path, names);
}
function exportGatt(d) {
  if (d.gattExported) return;
  d.gattExported = [];
  d.gatt.forEach((svc, i) => {
    const sPath = `${d.path}/service${(0x10 + i * 0x10).toString(16).padStart(4, '0')}`;
    exportIface(sPath, new GattService(svc.uuid, d.path));
    announce(sPath);
    d.gattExported.push(sPath);
    svc.chars.forEach((c, j) => {
      const cPath = `${sPath}/char${(0x10 + i * 0x10 + j + 1).toString(16).padStart(4, '0')}`;
      const ch = new GattCharacteristic(c.uuid, sPath, c.flags);
      // A value to answer ReadValue with (hex), e.g. a Battery Level.
      if (c.value) ch.Value = Buffer.from(c.value, 'hex');
      exportIface(cPath, ch);
      announce(cPath);
      d.gattExported.push(cPath);
    });
  });
}
function unexportGatt(d) {
  for (const p of [...(d.gattExported ?? [])].reverse()) {
    const names = unexportPath(p);
    if (names.length) objectManager.InterfacesRemoved(p, names);
  }
  d.gattExported = undefined;
}
function dropConnection(d) {
  for (const ch of characteristicsOf(d)) if (ch.Notifying) setProps(ch, { Notifying: false });
  const changes = {};
  if (d.ServicesResolved) changes.ServicesResolved = false;
  if (d.Connected) changes.Connected = false;
  if (Object.keys(changes).length) setProps(d, changes);
  // A device that is not bonded loses its GATT objects when it disconnects.
  unexportGatt(d);
}
function characteristicsOf(d) {
  const out = [];
  for (const p of d.gattExported ?? []) {
    const ch = objects.get(p)?.get('org.bluez.GattCharacteristic1');
    if (ch) out.push(ch);
  }
  return out;
}
function deviceFor(address) {
  const d = devices.get(String(address).toUpperCase());
  if (!d) throw new Error(`unknown device ${address}`);
  return d;
}

/** The stand-in's control operations. */
const ops = {
  state() {
    return {
      adapter: adapter ? { discovering: adapter.Discovering, powered: adapter.Powered, filter: adapter.lastFilter ?? null } : null,
      devices: [...devices.values()].map((d) => ({
        address: d.Address,
        connected: d.Connected,
        notifying: characteristicsOf(d).filter((c) => c.Notifying).map((c) => c.UUID),
      })),
      stats,
    };
  },
  addDevice(msg) {
    addDevice(msg);
    return {};
  },
  removeDevice(msg) {
    removeDevice(deviceFor(msg.address).path);
    return {};
  },
  /** One received advertisement: RSSI and service data (16-bit UUID -> hex). */
  advert(msg) {
    const d = deviceFor(msg.address);
    if (!adapter?.Discovering) return { delivered: false };
    const serviceData = {};
    for (const [u, hex] of Object.entries(msg.serviceData ?? {})) serviceData[uuid128(u)] = new Variant('ay', Buffer.from(hex, 'hex'));
    const changes = { RSSI: msg.rssi ?? d.RSSI };
    if (Object.keys(serviceData).length) changes.ServiceData = serviceData;
    setProps(d, changes);
    return { delivered: true };
  },
  /** A notification or indication from a connected scale. */
  notify(msg) {
    const d = deviceFor(msg.address);
    const ch = characteristicsOf(d).find((c) => c.UUID === uuid128(msg.char));
    if (!ch || !ch.Notifying) return { delivered: false };
    setProps(ch, { Value: Buffer.from(msg.hex, 'hex') });
    return { delivered: true };
  },
  /** The scale ends the connection (goes to sleep). */
  dropConnection(msg) {
    dropConnection(deviceFor(msg.address));
    return {};
  },
  setConnectable(msg) {
    deviceFor(msg.address).connectable = !!msg.connectable;
    return {};
  },
  removeAdapter() {
    removeAdapter();
    return {};
  },
  addAdapter() {
    if (!adapter) exportAdapter();
    return {};
  },
  setPowered(msg) {
    if (!adapter) throw new Error('no adapter');
    const changes = { Powered: !!msg.powered };
    if (!msg.powered && adapter.Discovering) changes.Discovering = false;
    setProps(adapter, changes);
    return {};
  },
};

async function main() {
  exportIface('/', objectManager);
  exportIface('/org/bluez', new AgentManager('org.bluez.AgentManager1'));
  if (process.env.BLUEZ_STANDIN_NO_ADAPTER !== '1') exportAdapter();
  const reply = await bus.requestName('org.bluez', dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
    process.stderr.write(`bluez-standin: could not own org.bluez (${reply})\n`);
    process.exit(2);
  }
  process.stdout.write(JSON.stringify({ ready: true, name: bus.name }) + '\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    let out;
    try {
      const op = ops[msg.op];
      if (!op) throw new Error(`unknown op ${msg.op}`);
      out = { id: msg.id, ok: true, ...op(msg) };
    } catch (err) {
      out = { id: msg.id, ok: false, error: err.message };
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
  rl.on('close', () => process.exit(0));
}

main().catch((err) => {
  process.stderr.write(`bluez-standin: ${err.stack}\n`);
  process.exit(1);
});
