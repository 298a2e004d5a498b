/**
 * The narrow part of BlueZ the scale reader needs, over node-ble (BlueZ's D-Bus API on the system
 * bus; dbus-next honours DBUS_SYSTEM_BUS_ADDRESS). One BluezSession is one bus connection: when
 * anything about it goes wrong, the reader closes it and opens a new one, so nothing (listeners,
 * match rules, pending calls) outlives a BlueZ restart or an unplugged adapter.
 *
 * Every call is bounded by a timeout: a D-Bus call to a bus that went away never settles.
 */
import type nodeBle from 'node-ble';

type NodeBleDevice = nodeBle.Device;
type NodeBleCharacteristic = nodeBle.GattCharacteristic;

/** node-ble's per-object D-Bus helper; it emits PropertiesChanged once prepared (not in its typings). */
interface BusHelper {
  on(event: 'PropertiesChanged', listener: (changed: Record<string, { value: unknown }>) => void): void;
  off(event: 'PropertiesChanged', listener: (changed: Record<string, { value: unknown }>) => void): void;
  removeListeners(): void;
}
interface WithHelper {
  helper: BusHelper;
}
/** The dbus-next MessageBus node-ble keeps (public in its JavaScript, absent from its typings). */
interface MessageBus {
  on(event: 'error', listener: (err: Error) => void): void;
  getProxyObject(name: string, path: string): Promise<{ getInterface(name: string): Record<string, (...args: unknown[]) => Promise<unknown>> }>;
  _signals?: { eventNames(): (string | symbol)[]; listenerCount(name: string | symbol): number };
}

export const SERVICE_UUID = {
  weightScale: '0000181d-0000-1000-8000-00805f9b34fb',
  bodyComposition: '0000181b-0000-1000-8000-00805f9b34fb',
  battery: '0000180f-0000-1000-8000-00805f9b34fb',
} as const;
export const CHARACTERISTIC_UUID = {
  weightMeasurement: '00002a9d-0000-1000-8000-00805f9b34fb',
  bodyCompositionMeasurement: '00002a9c-0000-1000-8000-00805f9b34fb',
  batteryLevel: '00002a19-0000-1000-8000-00805f9b34fb',
} as const;

/** What changed on a device object: service data by 128-bit UUID, and connection state. */
export interface DeviceChange {
  serviceData?: Map<string, Uint8Array>;
  rssi?: number;
  connected?: boolean;
  servicesResolved?: boolean;
}

export interface DeviceSnapshot {
  uuids: string[];
  serviceData: Map<string, Uint8Array>;
  connected: boolean;
}

/** A GATT connection with notifications on; close() undoes all of it. */
export interface GattLink {
  close(): Promise<void>;
}

/** Failures that say what is wrong in words a user can act on. */
export class BluetoothUnavailable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'BluetoothUnavailable';
  }
}

export interface BluezSessionOptions {
  adapter: string;
  /** Longest wait for any one D-Bus call. */
  callTimeoutMs: number;
}

export class BluezSession {
  private closed = false;
  private failure: Error | undefined;
  private readonly onFailureListeners: ((err: Error) => void)[] = [];

  private adapter: nodeBle.Adapter | undefined;
  private bluezOwner: string | undefined;
  private busDaemon: Record<string, (...args: unknown[]) => Promise<unknown>> | undefined;

  private constructor(
    private readonly opts: BluezSessionOptions,
    private readonly bus: MessageBus,
    private readonly destroy: () => void,
  ) {}

  /** Connects to the system bus, finds BlueZ and the adapter, and checks the adapter is powered. */
  static async open(opts: BluezSessionOptions): Promise<BluezSession> {
    // Loaded with the first session: a hub that never opens Bluetooth never holds the BLE stack.
    const { createBluetooth } = (await import('node-ble')).default;
    const { bluetooth, destroy } = createBluetooth();
    const bus = (bluetooth as unknown as { dbus: MessageBus }).dbus;
    const session = new BluezSession(opts, bus, destroy);
    // A bus that cannot be reached reports it only as an 'error' event (unhandled, it would end the process).
    bus.on('error', (err) => session.fail(describeBusError(err)));
    try {
      session.bluezOwner = await session.nameOwner();
      const names = await session.call(bluetooth.adapters(), 'list adapters');
      if (!names.includes(opts.adapter)) {
        throw new BluetoothUnavailable(names.length ? `adapter ${opts.adapter} not found (BlueZ has ${names.join(', ')})` : `adapter ${opts.adapter} not found (BlueZ has no adapter)`);
      }
      session.adapter = await session.call(bluetooth.getAdapter(opts.adapter), 'open the adapter');
      await session.check();
      return session;
    } catch (err) {
      const reason = session.failure ?? explain(err, opts.adapter);
      session.close();
      throw reason;
    }
  }

  /** Called once when the bus connection fails on its own (not for failed calls, which throw). */
  onFailure(listener: (err: Error) => void): void {
    this.onFailureListeners.push(listener);
  }

  /**
   * Throws when BlueZ went away or was restarted since the session opened, or when the adapter
   * is gone or powered off. Returns whether the adapter is discovering.
   */
  async check(): Promise<{ discovering: boolean }> {
    const owner = await this.nameOwner();
    if (owner !== this.bluezOwner) throw new BluetoothUnavailable('BlueZ restarted');
    const adapter = this.requireAdapter();
    const powered = await this.call(adapter.isPowered(), 'read the adapter state');
    if (!powered) throw new BluetoothUnavailable(`adapter ${this.opts.adapter} is powered off`);
    return { discovering: await this.call(adapter.isDiscovering(), 'read the adapter state') };
  }

  /** Starts LE discovery; fine when another client is already discovering (BlueZ merges sessions). */
  async startScan(): Promise<void> {
    const adapter = this.requireAdapter();
    try {
      await this.call(adapter.startDiscovery(), 'start discovery');
    } catch (err) {
      if ((err as Error).message === 'Discovery already in progress') return;
      throw err;
    }
  }

  async stopScan(): Promise<void> {
    const adapter = this.requireAdapter();
    try {
      await this.call(adapter.stopDiscovery(), 'stop discovery');
    } catch (err) {
      // Nothing to stop (BlueZ ended it, or it was never ours).
      if ((err as Error).message === 'No discovery started') return;
      throw err;
    }
  }

  /** Addresses of the device objects BlueZ currently has under the adapter. */
  async deviceAddresses(): Promise<string[]> {
    return (await this.call(this.requireAdapter().devices(), 'list devices')).map((a) => a.toUpperCase());
  }

  /**
   * Watches a device object's property changes (adverts update ServiceData and RSSI). Returns its
   * current state and a function that stops watching.
   */
  async watchDevice(address: string, onChange: (change: DeviceChange) => void): Promise<{ snapshot: DeviceSnapshot; unwatch(): void }> {
    const device = await this.call(this.requireAdapter().getDevice(address), 'open a device');
    const helper = (device as unknown as WithHelper).helper;
    const listener = (changed: Record<string, { value: unknown }>) => {
      const change: DeviceChange = {};
      if (changed.ServiceData) change.serviceData = serviceDataMap(changed.ServiceData.value);
      if (changed.RSSI && typeof changed.RSSI.value === 'number') change.rssi = changed.RSSI.value;
      if (changed.Connected) change.connected = changed.Connected.value === true;
      if (changed.ServicesResolved) change.servicesResolved = changed.ServicesResolved.value === true;
      if (Object.keys(change).length > 0) onChange(change);
    };
    try {
      // Reading a property prepares the helper, which then relays PropertiesChanged.
      const connected = await this.call(device.isConnected(), 'read a device');
      helper.on('PropertiesChanged', listener);
      const uuids = await this.optionalProp(() => (device as unknown as WithHelper & { helper: { prop(n: string): Promise<unknown> } }).helper.prop('UUIDs'));
      const serviceData = await this.optionalProp(() => device.getServiceData());
      return {
        snapshot: {
          uuids: Array.isArray(uuids) ? uuids.filter((u): u is string => typeof u === 'string').map((u) => u.toLowerCase()) : [],
          serviceData: serviceDataMap(serviceData ?? {}),
          connected: connected === (true as unknown),
        },
        unwatch: () => helper.removeListeners(),
      };
    } catch (err) {
      helper.removeListeners();
      throw err;
    }
  }

  /**
   * Connects to a GATT scale and turns on notifications/indications of the given characteristics
   * (those it has), calling onValue for each; those marked `read` are read once instead (a read
   * that fails is skipped: it is extra, not the measurement). onClosed runs once when the scale
   * disconnects.
   */
  async connectGatt(
    address: string,
    wanted: { service: string; characteristic: string; read?: boolean }[],
    onValue: (characteristic: string, bytes: Uint8Array) => void,
    onClosed: () => void,
  ): Promise<GattLink> {
    const device: NodeBleDevice = await this.call(this.requireAdapter().getDevice(address), 'open a device');
    const deviceHelper = (device as unknown as WithHelper).helper;
    const opened: { ch: NodeBleCharacteristic; notifying: boolean }[] = [];
    let closed = false;
    const onDisconnect = () => void link.close().then(onClosed, onClosed);
    const link: GattLink = {
      close: async () => {
        if (closed) return;
        closed = true;
        device.off('disconnect', onDisconnect);
        for (const o of opened) {
          o.ch.removeAllListeners('valuechanged');
          if (o.notifying) await this.call(o.ch.stopNotifications(), 'stop notifications').catch(() => undefined);
          (o.ch as unknown as WithHelper).helper.removeListeners();
        }
        await this.call(device.disconnect(), 'disconnect').catch(() => undefined);
        deviceHelper.removeListeners();
      },
    };
    try {
      await this.call(device.connect(), 'connect to the scale');
      device.on('disconnect', onDisconnect);
      await this.waitServicesResolved(device);
      const gatt = await this.call(device.gatt(), 'read the scale services');
      const services = await this.call(gatt.services(), 'read the scale services');
      for (const uuid of services) {
        const service = await this.call(gatt.getPrimaryService(uuid), 'read a service');
        // Every characteristic node-ble opened listens for changes; remember all to release them.
        for (const charUuid of await this.call(service.characteristics(), 'read characteristics')) {
          const ch = await this.call(service.getCharacteristic(charUuid), 'read a characteristic');
          const entry = { ch, notifying: false };
          opened.push(entry);
          const want = wanted.find((w) => w.service === uuid && w.characteristic === charUuid);
          if (!want) continue;
          if (want.read) {
            const bytes = await this.call(ch.readValue(), 'read a value').catch(() => undefined);
            if (bytes) onValue(charUuid, new Uint8Array(bytes));
            continue;
          }
          ch.on('valuechanged', (bytes: Buffer) => onValue(charUuid, new Uint8Array(bytes)));
          await this.call(ch.startNotifications(), 'turn on indications');
          entry.notifying = true;
        }
      }
      if (!opened.some((o) => o.notifying)) throw new Error('the scale offers no weight or body composition measurement');
      return link;
    } catch (err) {
      await link.close();
      throw err;
    }
  }

  /** Listeners this session holds on D-Bus signals (bounded; checked by the tests). */
  signalListenerCount(): number {
    const signals = this.bus._signals;
    if (!signals) return 0;
    return signals.eventNames().reduce((n, name) => n + signals.listenerCount(name), 0);
  }

  close(): void {
    if (this.closed) return;
    // Calls still waiting on this connection fail now rather than at their timeout.
    this.fail(new BluetoothUnavailable('the Bluetooth session was closed'));
    this.closed = true;
    try {
      this.destroy();
    } catch {
      /* the stream is already gone */
    }
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const l of this.onFailureListeners) l(err);
  }

  private requireAdapter(): nodeBle.Adapter {
    if (this.failure) throw this.failure;
    if (!this.adapter) throw new BluetoothUnavailable(`adapter ${this.opts.adapter} is not open`);
    return this.adapter;
  }

  /** The unique bus name currently owning org.bluez; throws when BlueZ is not running. */
  private async nameOwner(): Promise<string> {
    if (!this.busDaemon) {
      const dbusObject = await this.call(this.bus.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus'), 'reach the system bus');
      this.busDaemon = dbusObject.getInterface('org.freedesktop.DBus');
    }
    const owner = await this.call(this.busDaemon.GetNameOwner!('org.bluez'), 'ask the bus for BlueZ');
    return String(owner);
  }

  private async waitServicesResolved(device: NodeBleDevice): Promise<void> {
    const helper = (device as unknown as WithHelper & { helper: { prop(n: string): Promise<unknown> } }).helper;
    if ((await this.call(helper.prop('ServicesResolved'), 'read a device')) === true) return;
    let listener: ((c: Record<string, { value: unknown }>) => void) | undefined;
    const resolved = new Promise<void>((resolve) => {
      listener = (c) => {
        if (c.ServicesResolved?.value === true) resolve();
      };
      helper.on('PropertiesChanged', listener);
    });
    try {
      await this.call(resolved, 'resolve the scale services');
    } finally {
      helper.off('PropertiesChanged', listener!);
    }
  }

  private async optionalProp<T>(read: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(read(), 'read a device');
    } catch (err) {
      // BlueZ leaves out properties it has no value for (no ServiceData before the first advert).
      if (/InvalidArgs|No such property|not set/i.test(String((err as { type?: string }).type ?? '') + (err as Error).message)) return undefined;
      throw err;
    }
  }

  private call<T>(promise: Promise<T>, what: string): Promise<T> {
    if (this.failure) {
      promise.catch(() => undefined);
      return Promise.reject(this.failure);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.failure ?? new BluetoothUnavailable(`BlueZ did not answer (${what}) within ${Math.round(this.opts.callTimeoutMs / 1000)} s`)), this.opts.callTimeoutMs);
      const onFail = (err: Error) => reject(err);
      this.onFailureListeners.push(onFail);
      const done = () => {
        clearTimeout(timer);
        const i = this.onFailureListeners.indexOf(onFail);
        if (i >= 0) this.onFailureListeners.splice(i, 1);
      };
      promise.then(
        (v) => {
          done();
          resolve(v);
        },
        (err: unknown) => {
          done();
          reject(explain(err, this.opts.adapter, what));
        },
      );
    });
  }
}

/** ServiceData as D-Bus delivers it (UUID -> variant of bytes) into UUID -> bytes. */
function serviceDataMap(value: unknown): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  if (value === null || typeof value !== 'object') return out;
  for (const [uuid, v] of Object.entries(value as Record<string, unknown>)) {
    const raw = v !== null && typeof v === 'object' && 'value' in v && !(v instanceof Uint8Array) ? (v as { value: unknown }).value : v;
    if (raw instanceof Uint8Array) out.set(uuid.toLowerCase(), new Uint8Array(raw));
    else if (Array.isArray(raw) && raw.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) out.set(uuid.toLowerCase(), Uint8Array.from(raw as number[]));
  }
  return out;
}

function describeBusError(err: Error): BluetoothUnavailable {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES') return new BluetoothUnavailable(`the system D-Bus is not reachable (${code})`);
  return new BluetoothUnavailable(`the system D-Bus connection failed (${code ?? errorText(err, 80)})`);
}

/** Turns D-Bus and node-ble errors into reasons a user can act on. */
function explain(err: unknown, adapter: string, what?: string): Error {
  if (err instanceof BluetoothUnavailable) return err;
  const type = String((err as { type?: string }).type ?? '');
  const message = err instanceof Error ? err.message : String(err);
  if (/ServiceUnknown|NameHasNoOwner/.test(type) || /not provided by any \.service files|has no owner/i.test(message)) {
    return new BluetoothUnavailable('BlueZ is not running (no org.bluez on the system bus)');
  }
  if (/UnknownObject|UnknownMethod|UnknownInterface/.test(type) || /Path not exported|No such interface|interface not found/i.test(message)) {
    return new BluetoothUnavailable(`adapter ${adapter} disappeared`);
  }
  if (message === 'Adapter not found') return new BluetoothUnavailable(`adapter ${adapter} not found`);
  if (/org\.bluez\.Error\.NotReady/.test(type)) return new BluetoothUnavailable(`adapter ${adapter} is not ready (powered off or blocked by rfkill)`);
  if (/AccessDenied/.test(type)) return new BluetoothUnavailable('the system D-Bus refused access to BlueZ (AccessDenied)');
  if ((err as NodeJS.ErrnoException).code) return describeBusError(err as Error);
  const text = type ? `${type} (${errorText(err, 80)})` : errorText(err, 120);
  const e = new Error(what ? `${what}: ${text}` : text);
  e.name = type || 'BluezError';
  return e;
}

/**
 * An error's text fit for the log: D-Bus messages can name a device's object path, which spells
 * its Bluetooth address (dev_C8_47_8C_...); addresses are personal, so they are cut out.
 */
export function errorText(err: unknown, max = 120): string {
  const message = err instanceof Error ? err.message : String(err);
  return message
    .replace(/dev(_[0-9A-Fa-f]{2}){6}/g, 'dev_<address>')
    .replace(/[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}/g, '<address>')
    .slice(0, max);
}
