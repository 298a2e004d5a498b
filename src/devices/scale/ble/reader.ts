/**
 * Reads the enrolled scales over BlueZ, in both ways scales talk:
 *  - advertising scales (Xiaomi Mi Scale 2: service data 0x181D; Mi Body Composition: 0x181B) are
 *    read from their adverts while discovering: each ServiceData change is one frame;
 *  - GATT scales (Weight Scale Service 0x181D / Body Composition Service 0x181B) are connected to
 *    when they advertise, and send 0x2A9D / 0x2A9C indications (0x2A9C possibly split in two).
 * Only enrolled addresses are looked at. Decoded, accepted frames go to onMeasurement (the ingest
 * merges repeats); refused ones are counted by reason.
 *
 * Scanning follows the schedule (discover for the window at the start of every interval). When
 * the bus, BlueZ or the adapter is missing, or goes away mid-run, the reader says why, drops the
 * whole session and retries with exponential backoff; nothing else in the hub depends on it.
 */
import type { Logger } from '../../../log/logger.js';
import type { Counters } from '../../../store/counters.js';
import { decodeBatteryLevel, decodeSingleFrame, pushBodyCompositionPacket, EMPTY_ASSEMBLY, type BodyCompositionAssembly } from '../decoders/index.js';
import type { DecodeResult, ScaleFormat, ScaleMeasurement } from '../measurement.js';
import type { ScaleTarget } from '../store.js';
import { BluetoothUnavailable, BluezSession, errorText, CHARACTERISTIC_UUID, SERVICE_UUID, type DeviceChange, type DeviceSnapshot, type GattLink } from './bluez.js';

export interface ScaleReaderOptions {
  adapter: string;
  /** Discover for this long at the start of every interval; a window as long as the interval scans continuously. */
  scanWindowMs: number;
  scanIntervalMs: number;
  /** First retry delay after a failure; doubles up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs: number;
  /** How often the session checks BlueZ and the adapter, and looks for enrolled devices. */
  pollMs?: number;
  callTimeoutMs?: number;
  /** After a failed GATT connection, wait this long before trying that scale again. */
  gattRetryMs?: number;
  /** The enrolled scales (re-read at every scan and after invalidateTargets()). */
  targets: () => ScaleTarget[];
  onMeasurement: (deviceId: string, measurement: ScaleMeasurement, receivedAt: number) => void;
  logger: Logger;
  counters?: Counters;
  now?: () => number;
  /** Told each change of state (for the hub's metrics). */
  onState?: (state: ReaderState) => void;
  /** A scale's battery level (percent), read when the reader connects to it. */
  onBattery?: (deviceId: string, percent: number, at: number) => void;
}

/** How often a reader without enrolled scales looks again, besides being told (invalidateTargets). */
const NO_SCALES_RECHECK_MS = 60_000;

export type ReaderState = 'starting' | 'no_scales' | 'scanning' | 'idle' | 'unavailable' | 'stopped';

export interface ReaderStatus {
  state: ReaderState;
  /** Why Bluetooth is unavailable, when it is. */
  reason?: string;
  sessionsOpened: number;
  watchedDevices: number;
  gattLinks: number;
  /** D-Bus signal listeners held by the current session. */
  signalListeners: number;
}

/** Adverts that carry a whole measurement, by service data UUID. */
const ADVERT_FORMATS: ReadonlyMap<string, ScaleFormat> = new Map([
  [SERVICE_UUID.weightScale, 'mi-scale-2'],
  [SERVICE_UUID.bodyComposition, 'mi-body-composition'],
]);
const GATT_MEASUREMENTS = [
  { service: SERVICE_UUID.weightScale, characteristic: CHARACTERISTIC_UUID.weightMeasurement },
  { service: SERVICE_UUID.bodyComposition, characteristic: CHARACTERISTIC_UUID.bodyCompositionMeasurement },
  // Read once per connection when the scale has it (most advertising-only scales do not).
  { service: SERVICE_UUID.battery, characteristic: CHARACTERISTIC_UUID.batteryLevel, read: true },
];

/** Consecutive attempts with the same reason that are each a warning; later ones are reminders. */
const UNAVAILABLE_WARNINGS = 5;
const UNAVAILABLE_REMINDER_MS = 30 * 60_000;

interface Watch {
  target: ScaleTarget;
  unwatch(): void;
  uuids: string[];
  gatt?: GattLink;
  connecting: boolean;
  nextGattAttemptAt: number;
  assembly: BodyCompositionAssembly;
  /** Listening for its property changes (set once the watch is in place). */
  ready: boolean;
}

export class ScaleReader {
  private readonly opts: Required<Omit<ScaleReaderOptions, 'counters' | 'onState' | 'onBattery'>> & Pick<ScaleReaderOptions, 'counters' | 'onState' | 'onBattery'>;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private session: BluezSession | undefined;
  private readonly watches = new Map<string, Watch>();
  /** Addresses seen sending scale adverts: never connected to. Kept across sessions. */
  private readonly advertScales = new Set<string>();
  private targetCache: ScaleTarget[] | undefined;
  private state: ReaderState = 'starting';

  private setState(state: ReaderState): void {
    if (state === this.state) return;
    this.state = state;
    this.opts.onState?.(state);
  }
  private reason: string | undefined;
  private sessionsOpened = 0;
  private lastWarned: { reason: string | undefined; at: number } = { reason: undefined, at: 0 };

  constructor(opts: ScaleReaderOptions) {
    this.opts = { retryMinMs: 1_000, pollMs: 1_000, callTimeoutMs: 5_000, gattRetryMs: 30_000, now: Date.now, ...opts };
  }

  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loopDone;
    this.setState('stopped');
  }

  /** The enrolled scales changed (the CLI enrolled or removed one). */
  invalidateTargets(): void {
    this.targetCache = undefined;
    if (this.state === 'no_scales') this.wake?.();
  }

  /**
   * Without an enrolled scale there is nothing to read: Bluetooth is not opened (no radio use, no
   * BLE stack in memory, no "unavailable" warnings on a hub that only has cameras) until one is
   * enrolled, which invalidateTargets() reports. False once stopping.
   */
  private async awaitScales(): Promise<boolean> {
    let said = false;
    while (!this.stopping && (this.targetCache ??= this.opts.targets()).length === 0) {
      if (!said) this.opts.logger.info('no scale enrolled; Bluetooth stays closed until one is', { adapter: this.opts.adapter });
      said = true;
      this.setState('no_scales');
      await this.sleep(NO_SCALES_RECHECK_MS);
      this.targetCache = undefined; // re-read: an enrolment this process was not told of counts too
    }
    return !this.stopping;
  }

  status(): ReaderStatus {
    return {
      state: this.state,
      ...(this.reason ? { reason: this.reason } : {}),
      sessionsOpened: this.sessionsOpened,
      watchedDevices: [...this.watches.values()].filter((w) => w.ready).length,
      gattLinks: [...this.watches.values()].filter((w) => w.gatt).length,
      signalListeners: this.session?.signalListenerCount() ?? 0,
    };
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      if (!(await this.awaitScales())) break;
      let session: BluezSession | undefined;
      let healthy = true;
      try {
        session = await BluezSession.open({ adapter: this.opts.adapter, callTimeoutMs: this.opts.callTimeoutMs });
        this.sessionsOpened++;
        if (this.stopping) break;
        this.session = session;
        if (this.state === 'unavailable') this.opts.logger.info('Bluetooth available again; reading scales', { adapter: this.opts.adapter });
        else this.opts.logger.info('reading Bluetooth scales', { adapter: this.opts.adapter });
        this.reason = undefined;
        this.setState('idle');
        failures = 0;
        await this.runSession(session);
      } catch (err) {
        healthy = false;
        if (this.stopping) break;
        const delay = Math.min(this.opts.retryMaxMs, this.opts.retryMinMs * 2 ** Math.min(failures, 20));
        failures++;
        this.reason = err instanceof BluetoothUnavailable ? err.message : `unexpected error (${(err as Error).name}: ${errorText(err)})`;
        this.setState('unavailable');
        this.opts.counters?.increment('ble.unavailable');
        this.reportUnavailable(this.reason, delay, failures);
        await this.teardown(session, false);
        session = undefined;
        await this.sleep(delay);
      } finally {
        if (session) await this.teardown(session, healthy);
      }
    }
    this.session = undefined;
  }

  /**
   * Says why Bluetooth is unavailable. A hub without Bluetooth would otherwise repeat the same
   * line every minute for years: the same reason is a warning for the first attempts and then
   * every half hour, a debug line in between.
   */
  private reportUnavailable(reason: string, delay: number, attempt: number): void {
    const now = this.opts.now();
    const repeated = reason === this.lastWarned.reason && attempt > UNAVAILABLE_WARNINGS && now - this.lastWarned.at < UNAVAILABLE_REMINDER_MS;
    const line = `Bluetooth unavailable: ${reason}; retrying in ${seconds(delay)}`;
    const fields = { adapter: this.opts.adapter, attempt };
    if (repeated) {
      this.opts.logger.debug(line, fields);
      return;
    }
    this.opts.logger.warn(line, fields);
    this.lastWarned = { reason, at: now };
  }

  /** Runs the scan schedule on one session; returns when stopping, throws when the session fails. */
  private async runSession(session: BluezSession): Promise<void> {
    let failure: Error | undefined;
    session.onFailure((err) => {
      failure = err;
      this.wake?.();
    });
    const { scanWindowMs: window, scanIntervalMs: interval } = this.opts;
    let cycleStart = this.opts.now();
    let scanning = false;
    while (!this.stopping) {
      if (failure) throw failure;
      const { discovering } = await session.check();
      let elapsed = this.opts.now() - cycleStart;
      if (elapsed >= interval) {
        cycleStart = this.opts.now();
        elapsed = 0;
        this.invalidateTargets();
      }
      const shouldScan = window >= interval || elapsed < window;
      if (shouldScan && (!scanning || !discovering)) {
        // Not discovering while we should be: we have not started, or BlueZ ended it (e.g. the
        // adapter was reset); start again either way.
        await session.startScan();
        scanning = true;
        this.setState('scanning');
      } else if (!shouldScan && scanning) {
        await session.stopScan();
        scanning = false;
        this.setState('idle');
      }
      if (scanning) await this.syncDevices(session);
      await this.sleep(this.opts.pollMs);
    }
    if (scanning) await session.stopScan().catch(() => undefined);
  }

  /** Watches enrolled scales BlueZ knows of; forgets those it dropped or that were unenrolled. */
  private async syncDevices(session: BluezSession): Promise<void> {
    this.targetCache ??= this.opts.targets();
    const enrolled = new Map(this.targetCache.map((t) => [t.address, t]));
    const present = new Set(await session.deviceAddresses());
    for (const [address, w] of this.watches) {
      if (present.has(address) && enrolled.get(address)?.deviceId === w.target.deviceId) continue;
      await this.unwatch(w);
    }
    for (const [address, target] of enrolled) {
      if (!present.has(address) || this.watches.has(address)) continue;
      const watch: Watch = { target, unwatch: () => undefined, uuids: [], connecting: false, nextGattAttemptAt: 0, assembly: EMPTY_ASSEMBLY, ready: false };
      this.watches.set(address, watch);
      try {
        const { snapshot, unwatch } = await session.watchDevice(address, (change) => this.onDeviceChange(session, watch, change));
        watch.unwatch = unwatch;
        watch.ready = true;
        this.onSnapshot(watch, snapshot);
      } catch (err) {
        this.watches.delete(address);
        if (err instanceof BluetoothUnavailable) throw err;
        this.opts.logger.debug('could not watch a scale', { deviceId: target.deviceId, reason: errorText(err) });
      }
    }
  }

  private onSnapshot(w: Watch, snapshot: DeviceSnapshot): void {
    w.uuids = snapshot.uuids;
    if (snapshot.serviceData.size > 0) this.onServiceData(w, snapshot.serviceData);
  }

  private onDeviceChange(session: BluezSession, w: Watch, change: DeviceChange): void {
    if (this.watches.get(w.target.address) !== w) return;
    try {
      if (change.serviceData) this.onServiceData(w, change.serviceData);
      const advertising = change.rssi !== undefined || change.serviceData !== undefined;
      if (advertising && this.isGattScale(w)) this.maybeConnect(session, w);
    } catch (err) {
      this.opts.logger.error('error while reading a scale', { deviceId: w.target.deviceId, code: (err as Error).name });
    }
  }

  private onServiceData(w: Watch, serviceData: Map<string, Uint8Array>): void {
    const now = this.opts.now();
    for (const [uuid, bytes] of serviceData) {
      const format = ADVERT_FORMATS.get(uuid);
      if (!format) continue;
      this.advertScales.add(w.target.address);
      this.handle(w, decodeSingleFrame(format, bytes), now);
    }
  }

  private isGattScale(w: Watch): boolean {
    return !this.advertScales.has(w.target.address) && w.uuids.some((u) => u === SERVICE_UUID.weightScale || u === SERVICE_UUID.bodyComposition);
  }

  private maybeConnect(session: BluezSession, w: Watch): void {
    if (w.gatt || w.connecting || this.opts.now() < w.nextGattAttemptAt || this.stopping) return;
    w.connecting = true;
    const deviceId = w.target.deviceId;
    session
      .connectGatt(
        w.target.address,
        GATT_MEASUREMENTS,
        (characteristic, bytes) => this.onIndication(w, characteristic, bytes),
        () => {
          w.gatt = undefined;
          this.endAssembly(w);
          this.opts.logger.debug('scale disconnected', { deviceId });
        },
      )
      .then(
        (link) => {
          w.connecting = false;
          if (this.watches.get(w.target.address) !== w || this.session !== session) {
            void link.close();
            return;
          }
          w.gatt = link;
          this.opts.logger.info('connected to a scale', { deviceId });
        },
        (err: unknown) => {
          w.connecting = false;
          w.nextGattAttemptAt = this.opts.now() + this.opts.gattRetryMs;
          this.opts.counters?.increment('ble.gatt_connect_failed');
          this.opts.logger.info('could not connect to a scale; trying again when it next advertises', { deviceId, reason: errorText(err) });
        },
      );
  }

  private onIndication(w: Watch, characteristic: string, bytes: Uint8Array): void {
    const now = this.opts.now();
    if (characteristic === CHARACTERISTIC_UUID.batteryLevel) {
      const level = decodeBatteryLevel(bytes);
      if (!level.ok) {
        this.opts.counters?.increment(`ble.refused.${level.code}`);
        this.opts.logger.debug('scale battery level refused', { deviceId: w.target.deviceId, code: level.code, reason: level.reason });
        return;
      }
      this.opts.onBattery?.(w.target.deviceId, level.percent, now);
    } else if (characteristic === CHARACTERISTIC_UUID.weightMeasurement) {
      this.handle(w, decodeSingleFrame('2a9d', bytes), now);
    } else if (characteristic === CHARACTERISTIC_UUID.bodyCompositionMeasurement) {
      const step = pushBodyCompositionPacket(w.assembly, bytes, now);
      w.assembly = step.state;
      for (const r of step.results) this.handle(w, r, now);
    }
  }

  /** A first half of a split 0x2A9C measurement whose scale went away will not be completed. */
  private endAssembly(w: Watch): void {
    if (w.assembly.pending) this.handle(w, { ok: false, code: 'truncated', reason: 'multi-packet measurement is missing its second packet' }, this.opts.now());
    w.assembly = EMPTY_ASSEMBLY;
  }

  private handle(w: Watch, r: DecodeResult, now: number): void {
    if (!r.ok) {
      this.opts.counters?.increment(`ble.refused.${r.code}`);
      if (r.code !== 'not-stabilized') this.opts.logger.debug('scale frame refused', { deviceId: w.target.deviceId, code: r.code, reason: r.reason });
      return;
    }
    this.opts.counters?.increment('ble.frames_accepted');
    try {
      this.opts.onMeasurement(w.target.deviceId, r.measurement, now);
    } catch (err) {
      this.opts.logger.error('could not take a scale measurement', { deviceId: w.target.deviceId, code: (err as Error).name });
    }
  }

  private async unwatch(w: Watch): Promise<void> {
    this.watches.delete(w.target.address);
    w.unwatch();
    this.endAssembly(w);
    const link = w.gatt;
    w.gatt = undefined;
    await link?.close();
  }

  private async teardown(session: BluezSession | undefined, healthy: boolean): Promise<void> {
    if (this.session === session) this.session = undefined;
    if (!session) return;
    // A broken session is closed first, so that cleaning up does not wait on a bus that is gone.
    if (!healthy) session.close();
    for (const w of [...this.watches.values()]) await this.unwatch(w).catch(() => undefined);
    session.close();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${Number((ms / 1000).toFixed(1))}s`;
}
