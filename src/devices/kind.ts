/**
 * A device kind as a plugin: everything hearth knows about one kind of device sits in its folder
 * (src/devices/<kind>/) behind this interface — its id prefix, its sealed columns, how it is
 * enrolled, what `device show` and the device page say about it, and its part of the running hub
 * (setup returns something to unload: a symmetric lifecycle). The hub, the CLI and the web UI
 * know kinds only through this; adding a kind is its folder plus one line in kinds.ts.
 */
import type { HearthConfig } from '../config/config.js';
import type { DomainBus } from '../bus/bus.js';
import type { PasswordHashing } from '../crypto/password.js';
import type { Sealer } from '../crypto/sealer.js';
import type { Logger } from '../log/logger.js';
import type { Counters, DeviceRefusal } from '../store/counters.js';
import type { Db } from '../store/database.js';
import type { StorageHealth } from '../store/health.js';
import type { BlindIndexColumn, SealedColumn } from '../store/sealed-columns.js';

/** What a kind needs to read and write its rows. */
export interface KindStoreContext {
  db: Db;
  sealer: Sealer;
}

/** Enrolment input as the CLI and the web UI collect it: named text fields, checked by the kind. */
export type EnrolmentInput = Record<string, unknown>;

/** What a kind prepared for an enrolment, before the device's row is written. */
export interface PreparedEnrolment {
  nickname: string;
  secretHash?: string;
  /** A keyed blind index the kind finds the device by (e.g. a Bluetooth address). */
  lookupTag?: string;
  /** What a second enrolment with the same lookup tag is told. */
  duplicateMessage?: string;
  /** Writes the kind's own rows, inside the enrolment transaction, after the devices row. */
  writeRows?(store: KindStoreContext, deviceId: string): void;
  /** What the household is shown once (credentials); never stored in the clear, never logged. */
  shownOnce?(deviceId: string): Record<string, unknown>;
}

/** A refusal of enrolment input, with the reason shown to the user as is. */
export class EnrolmentError extends Error {
  constructor(
    message: string,
    /** 'conflict' when the device exists already (HTTP 409, CLI exit 1). */
    readonly kind: 'invalid' | 'conflict' = 'invalid',
  ) {
    super(message);
    this.name = 'EnrolmentError';
  }
}

/** The details of one device that `device show` and the device page present, decrypted. */
export interface DeviceDetails {
  online: boolean | null;
  lastSeen: number | null;
  eventCounts: Record<string, number>;
  /** Kind-specific fields (a camera's model, firmware, network; nothing for a scale). */
  fields: Record<string, string | number | boolean | null>;
}

/** A device's details as the device service gives them: the kind's, and its last refused input. */
export interface DeviceView extends DeviceDetails {
  lastRefusal: DeviceRefusal | null;
}

/** What the running hub gives a kind when it sets it up. */
export interface KindRuntimeContext extends KindStoreContext {
  config: HearthConfig;
  logger: Logger;
  bus: DomainBus;
  counters: Counters;
  storage: StorageHealth;
}

/** A kind's part of the running hub. */
export interface KindRuntime {
  /** Set by kinds whose devices speak MQTT to the hub's broker (cameras). */
  readonly mqtt?: MqttDeviceSink<unknown>;
  /** Starts what needs starting after every kind was set up (timers, radios). */
  start?(): Promise<void> | void;
  /** Stops it, flushing what it buffered, and unsubscribes from the bus. */
  unload(): Promise<void> | void;
}

export interface DeviceKindPlugin {
  /** Stored in devices.kind; lower case. */
  readonly kind: string;
  /** Device ids are `<idPrefix>-<12 hex digits>`. */
  readonly idPrefix: string;
  /** How the UI names one ("camera", "scale"). */
  readonly label: string;
  /** What enrolment takes, for help texts: field name → description. */
  readonly enrolmentFields: Readonly<Record<string, string>>;
  /** The enrolment fields as the CLI takes them, in order; the last one takes the remaining words. */
  readonly enrolmentArgs: readonly string[];
  /** Optional enrolment fields the CLI takes as `--<name> <value>` (name → what it is, for help). */
  readonly enrolmentOptions?: Readonly<Record<string, string>>;
  /** One line for help: what enrolling one does. */
  readonly enrolmentSummary: string;
  /** What the CLI prints after an enrolment (from what is shown once). */
  describeEnrolment(deviceId: string, shownOnce: Record<string, unknown>): string[];
  /** The sealed columns this kind owns (the device nickname is the registry's). */
  readonly sealedColumns: readonly SealedColumn[];
  /** Keyed blind indexes over its sealed values, if it finds devices by one. */
  readonly blindIndexes?: readonly BlindIndexColumn[];
  /** Checks the input and prepares the enrolment (hashing a secret off the event loop if needed). */
  prepareEnrolment(input: EnrolmentInput, deps: { store: KindStoreContext; passwords: PasswordHashing; deviceId: string }): Promise<PreparedEnrolment>;
  /** The device's decrypted details. */
  details(store: KindStoreContext, deviceId: string): DeviceDetails;
  /** The kind's part of the running hub; undefined when it has none under this config. */
  setup?(ctx: KindRuntimeContext): KindRuntime | undefined;
}

/** How the broker authenticates a kind's devices and hands their messages over. */
export interface MqttDeviceSink<R> {
  /** Argon2id hash of an enrolled device's secret, or undefined for anything else. */
  secretHash(deviceId: string): string | undefined;
  /** Stores a record; `done` runs with null once committed, or with the error of a failed batch. */
  ingest(record: R, done?: (err: Error | null) => void): void;
  /** The broker says what a publish that could not be stored is told. */
  setNotStored(make: (waiting: number) => Error): void;
  /**
   * For devices that speak another firmware's topics: what a publish means (records to store, none,
   * or a refusal reason). Undefined when the device speaks the hub's own protocol.
   */
  interpretPublish?(deviceId: string, topic: string, payload: Buffer, at: number): PublishVerdict<R> | undefined;
  /** Whether such a device may subscribe to `filter`; undefined for the hub's own protocol. */
  authorizeSubscribe?(deviceId: string, filter: string): boolean | undefined;
  /** False for devices that connect once per message: their presence is not their connection. */
  tracksConnection?(deviceId: string): boolean;
  /** True for devices whose firmware publishes snapshots: larger packets are read (and dropped), not refused. */
  acceptsImages?(deviceId: string): boolean;
}

/** What a kind makes of a device's publish under its firmware's rules. */
export type PublishVerdict<R> = { ok: true; records: R[] } | { ok: false; reason: string };
