/**
 * Typed access to bluez-harness.mjs: a private system bus (real dbus-daemon) and the BlueZ
 * stand-in (bluez-standin.mjs) as child processes, for tests that run node-ble for real.
 */
import type { ChildProcess } from 'node:child_process';
// @ts-expect-error: a plain ES module without type declarations (shared with npm run soak)
import * as harness from './bluez-harness.mjs';

export interface PrivateBus {
  /** For DBUS_SYSTEM_BUS_ADDRESS. */
  address: string;
  socketPath: string;
  stop(): Promise<void>;
}

export interface StandinDevice {
  address: string;
  name?: string;
  rssi?: number;
  /** 16-bit service UUIDs the device advertises, e.g. ['181d']. */
  uuids?: string[];
  /** GATT services exported once connected. */
  gatt?: { uuid: string; chars: { uuid: string; flags?: string[] }[] }[];
  connectable?: boolean;
}

export interface StandinState {
  adapter: { discovering: boolean; powered: boolean; filter: Record<string, unknown> | null } | null;
  devices: { address: string; connected: boolean; notifying: string[] }[];
  stats: Record<string, number>;
}

export interface BluezStandin {
  proc: ChildProcess;
  call<T = Record<string, unknown>>(op: string, args?: Record<string, unknown>): Promise<T & { ok: true }>;
  state(): Promise<StandinState>;
  addDevice(d: StandinDevice): Promise<void>;
  /** One advert (RSSI and service data by 16-bit UUID); false when nobody is discovering. */
  advert(address: string, serviceData: Record<string, string>, rssi?: number): Promise<boolean>;
  /** One notification/indication; false when the characteristic is not notifying. */
  notify(address: string, char: string, hex: string): Promise<boolean>;
  /** Polls until the predicate on the stand-in's state holds. */
  waitFor(what: string, predicate: (s: StandinState) => boolean, timeoutMs?: number): Promise<StandinState>;
  /** SIGKILL (BlueZ crashing); resolves once the process is gone. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

export const privateBusAddress: (dir: string) => string = harness.privateBusAddress;
export const startPrivateBus: (opts?: { dir?: string }) => Promise<PrivateBus> = harness.startPrivateBus;
export const startStandin: (busAddress: string, opts?: { noAdapter?: boolean }) => Promise<BluezStandin> = harness.startStandin;
export const eventually: <T>(what: string, fn: () => T | Promise<T>, timeoutMs?: number, stepMs?: number) => Promise<NonNullable<T>> = harness.eventually;
