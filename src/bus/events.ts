/**
 * The hub's domain events: what happened, in ids, kinds, counts and times only — never a value a
 * device reported or a name the household gave. Every producer (use-case services, the ingest
 * paths, the privacy switch, the watcher of other processes' writes) emits these on the one
 * DomainBus; every consumer (live pages, the BLE reader, the uplink, the broker, the LED)
 * subscribes to them. The type names are defined here once.
 */

/** Where a change came from: this process, or another one (the CLI) seen through the database. */
export type ChangeOrigin = 'local' | 'external';

export interface DomainEventMap {
  /** A device of any kind was enrolled. */
  'device.enrolled': { deviceId: string; kind: string; origin: ChangeOrigin };
  /** A device and everything stored about it was deleted (and the file scrubbed). */
  'device.removed': { deviceId: string; kind: string; origin: ChangeOrigin };
  /** A connected device came or went. */
  'device.presence': { deviceId: string; online: boolean };
  /** A device's reported state was stored (its values stay sealed in the store). */
  'device.status': { deviceId: string };
  /** A device event was stored; eventType is one of the hub's event type names. */
  'device.event': { deviceId: string; eventType: string };
  /** A device's message was refused (reason code only). */
  'device.refused': { deviceId: string; reason: string };
  'member.added': { memberId: string; origin: ChangeOrigin };
  'member.forgotten': { memberId: string; origin: ChangeOrigin };
  /** A weigh-in was stored (its values stay sealed). */
  'measurement.stored': { deviceId: string; measurementId: string; assigned: boolean };
  /** A weigh-in was given to a member, or unassigned (memberId null). */
  'measurement.assigned': { measurementId: string; memberId: string | null; origin: ChangeOrigin };
  'consent.changed': { category: string; enabled: boolean; droppedReports: number; origin: ChangeOrigin };
  /** Whether anything may go upstream changed (switch, command, web UI). */
  'privacy.changed': { paused: boolean; bySwitch: boolean; byCommand: boolean };
  /** A report window closed; `queued` reports wait in the outbox. */
  'report.window-closed': { queued: number; origin: ChangeOrigin };
  /** A report is being sent upstream (the activity LED lights). */
  'report.sending': { reportId: string };
  /** A send ended; ok when the upstream broker acknowledged it. */
  'report.sent': { reportId: string; ok: boolean };
  /** An integration with the home's own tools (Home Assistant) was turned on or off, or its settings changed, in this process. */
  'integration.changed': { name: string; enabled: boolean };
  /** The store started or stopped accepting writes. */
  'storage.changed': { healthy: boolean; problem: string | null };
  /** The retention purge ran: how many rows of each kind it deleted (events after their roll-up) and how long it held the loop at most. */
  'store.purged': { events: number; measurements: number; ledger: number; pagesReleased: number; durationMs: number; longestChunkMs: number };
  /** A batch of device messages was committed (one transaction): its size and how long the commit took. */
  'store.batch-committed': { items: number; seconds: number };
  /** The BLE scale reader changed state (starting, no_scales, scanning, idle, unavailable, stopped). */
  'ble.reader-state': { state: string };
  /** Free space on the data dir's file system went under the warning threshold, or back over it. */
  'storage.disk': { low: boolean; freeBytes: number | null };
  /**
   * Another process committed to the database. Consumers that cache something another process
   * may change (the admin password, the privacy flag, the outbox) re-read it; device enrolments
   * and removals are also emitted as their own events.
   */
  'store.external-change': Record<string, never>;
}

export type DomainEventType = keyof DomainEventMap;

/** One event as it travels on the bus: its type, its fields and when it happened. */
export type DomainEvent<T extends DomainEventType = DomainEventType> = T extends DomainEventType ? { type: T; at: number } & DomainEventMap[T] : never;

