/**
 * Camera persistence: the latest state (sealed JSON per camera), the event log (detail sealed) and
 * presence transitions. Writes arrive in batches from the group committer, inside one transaction.
 *
 * Per batch, cheap on the hot path:
 * - an event is one INSERT: its row id is assigned here (after the largest id, read once per batch
 *   inside the transaction, which holds the write lock), so its detail is sealed under that id
 *   up front instead of being added by a second UPDATE;
 * - a camera's state is sealed and written once per batch, however many status messages it sent
 *   in it: the row after the commit is the same, the intermediate versions were never visible;
 * - whether a camera still exists (the CLI may have removed it) is looked up once per batch, not
 *   per row: no other process can remove it while the transaction holds the write lock.
 */
import type { Sealer } from '../../crypto/sealer.js';
import type { Db } from '../../store/database.js';
import { EventTotals } from '../../store/event-totals.js';
import { META_KEYS, MetaStore } from '../../store/meta.js';
import { sealedColumn } from '../../store/sealed-columns.js';
import type { CameraEvent, CameraStatus } from './protocol.js';
import type { CameraRecord } from './record.js';
import { isStagedStatus, StagingPool, stagedPlaintext } from './staging.js';

export type { CameraRecord } from './record.js';

export interface CameraView {
  id: string;
  model: string | null;
  firmware: string | null;
  ssid: string | null;
  ip: string | null;
  rssi: number | null;
  online: boolean;
  lastSeen: number | null;
  eventCounts: Record<string, number>;
}

type StoredState = Omit<CameraStatus, 'state'>;

/** A camera's latest state: sealed JSON bound to the camera. */
export const CAMERA_STATE = sealedColumn({ table: 'camera_state', column: 'state', keyColumns: ['device_id'], purpose: 'cameraState', aad: (r) => `camera_state:${String(r.device_id)}` });
/**
 * An event's detail: sealed under the event's row id and its camera, so it opens only in that row
 * of that camera (a row id reused after deletions, or a detail restored into another camera's row,
 * does not open). Details sealed before the camera was part of it are re-sealed once at start
 * (bindEventDetailsOnce) or by a key rotation.
 */
export const EVENT_DETAIL = sealedColumn({
  table: 'events',
  column: 'detail',
  keyColumns: ['id', 'device_id'],
  purpose: 'eventDetail',
  aad: (r) => `event:${String(r.id)}:${String(r.device_id)}:detail`,
  legacyAad: (r) => `event:${String(r.id)}:detail`,
});

const stateAad = (deviceId: string) => CAMERA_STATE.aad({ device_id: deviceId });
const detailAad = (eventId: number | bigint, deviceId: string) => EVENT_DETAIL.aad({ id: eventId, device_id: deviceId });
const legacyDetailAad = (eventId: number | bigint) => EVENT_DETAIL.legacyAad!({ id: eventId });
/** Set once every detail is sealed with its camera (bindEventDetailsOnce): no legacy fallback after. */
const DETAILS_BOUND = META_KEYS.eventDetailsBound;

export class CameraStore {
  private readonly stmts;
  /** Decrypted latest state per camera, so a status update needs no read-and-open. */
  private readonly stateCache = new Map<string, StoredState>();
  /** Online flag per camera as stored, so only transitions are written. */
  private readonly onlineCache = new Map<string, boolean>();
  /** The id the next event row gets; set at the start of each write inside its transaction. */
  private nextEventId = 0;
  /** Whether every detail is sealed with its camera (read once from the meta table). */
  private detailsBound: boolean | undefined;
  /** Event rows inserted by the current write. */
  private insertedInWrite = 0;
  private readonly totals: EventTotals;
  private readonly staging = new StagingPool();

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {
    this.totals = new EventTotals(db);
    this.stmts = {
      readState: db.prepare('SELECT state, online, last_seen FROM camera_state WHERE device_id = ?'),
      // Both also set the camera's last-seen time: a status is the latest thing heard from it in the batch.
      // The common case, the camera has a state row: (state, at, seen, id).
      updateState: db.prepare('UPDATE camera_state SET state = ?, updated_at = ?, last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE device_id = ?'),
      // Its first state.
      upsertState: db.prepare(
        `INSERT INTO camera_state (device_id, state, online, last_seen, updated_at)
         SELECT @id, @state, 0, @seen, @at WHERE EXISTS (SELECT 1 FROM devices WHERE id = @id)
         ON CONFLICT(device_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
           last_seen = MAX(COALESCE(last_seen, 0), excluded.last_seen)`,
      ),
      setOnline: db.prepare(
        `INSERT INTO camera_state (device_id, state, online, last_seen, updated_at)
         SELECT @id, NULL, @online, @at, @at WHERE EXISTS (SELECT 1 FROM devices WHERE id = @id)
         ON CONFLICT(device_id) DO UPDATE SET online = excluded.online, updated_at = excluded.updated_at`,
      ),
      touch: db.prepare('UPDATE camera_state SET last_seen = MAX(COALESCE(last_seen, 0), @at) WHERE device_id = @id'),
      // Positional (id, device, type, ts, received_at, detail); the device is known to exist.
      insertEvent: db.prepare('INSERT INTO events (id, device_id, type, ts, received_at, detail) VALUES (?, ?, ?, ?, ?, ?)'),
      deviceExists: db.prepare('SELECT 1 FROM devices WHERE id = ?').pluck(),
      maxEventId: db.prepare('SELECT COALESCE(MAX(id), 0) FROM events').pluck(),
      staleOnline: db.prepare("SELECT device_id, last_seen FROM camera_state WHERE online = 1"),
    };
  }

  /**
   * At start-up no camera is connected yet: any camera still marked online lost its connection
   * while the hub was down, so it is marked offline as of the last time it was heard from.
   */
  closeStalePresence(now: number): number {
    const stale = this.stmts.staleOnline.all() as { device_id: string; last_seen: number | null }[];
    this.db.transaction(() => {
      this.startEventIds();
      for (const row of stale) this.applyPresence(row.device_id, false, row.last_seen ?? now);
      this.totals.fold(); // start with a short tail whatever the last run left
    })();
    return stale.length;
  }

  /**
   * Takes a record in as it arrives, before it waits for its batch, and returns what waits instead.
   * At saturation thousands of records wait for their commit, long enough for the young-generation
   * collector to copy (and promote) whatever they hold; so what waits holds nothing new:
   * - a status is folded into the camera's pending state right away (the caches are dropped if the
   *   batch fails, see invalidateCaches) and waits as its time and presence;
   * - an event waits in a reused record, its detail as UTF-8 bytes in a reused staging buffer.
   * Call release() with the batch once it has been written or has failed; the staged records are
   * reused after that.
   */
  stage(record: CameraRecord): CameraRecord {
    if (record.kind === 'presence') return record;
    if (record.kind === 'status') this.mergeStatus(record.deviceId, record.status);
    return this.staging.take(record);
  }

  /** Hands the records of a written (or failed) batch back for reuse; see stage(). */
  release(records: readonly CameraRecord[]): void {
    this.staging.release(records);
  }

  /** Writes one batch; the caller runs it inside a transaction. */
  writeBatch(records: readonly CameraRecord[]): number {
    // A camera forgotten (here or by another process) while its messages waited for this batch:
    // they go with it, instead of failing the whole batch on its foreign key, and every other
    // camera's messages with it. Checked once per camera in the batch, inside its transaction.
    const gone = new Set<string>();
    const checked = new Set<string>();
    for (const r of records) {
      if (checked.has(r.deviceId)) continue;
      checked.add(r.deviceId);
      if (this.stmts.deviceExists.get(r.deviceId) === undefined) gone.add(r.deviceId);
    }
    if (gone.size > 0) {
      for (const id of gone) this.forget(id);
      const kept = records.filter((r) => !gone.has(r.deviceId));
      this.writeLiveBatch(kept);
      return records.length - kept.length;
    }
    this.writeLiveBatch(records);
    return 0;
  }

  private writeLiveBatch(records: readonly CameraRecord[]): void {
    this.startEventIds();
    // Cameras whose merged state changed in this batch, with the time of their last status (sealed
    // and written once, at the end), and when each was last heard from.
    const changedState = new Map<string, number>();
    const lastSeen = new Map<string, number>();
    for (const r of records) {
      switch (r.kind) {
        case 'status':
          this.mergeStatus(r.deviceId, r.status);
          changedState.set(r.deviceId, r.at);
          if (r.status.state === 'offline') this.applyPresence(r.deviceId, false, r.at);
          break;
        case 'event':
          this.applyEvent(r.deviceId, r.event, r.at);
          break;
        case 'presence':
          this.applyPresence(r.deviceId, r.online, r.at);
          break;
      }
      if (r.kind !== 'presence' || r.online) lastSeen.set(r.deviceId, r.at);
    }
    for (const [deviceId, at] of changedState) {
      const state = this.sealer.sealJson('cameraState', stateAad(deviceId), this.stateCache.get(deviceId));
      const seen = lastSeen.get(deviceId) ?? at;
      if (this.stmts.updateState.run(state, at, seen, deviceId).changes === 0) this.stmts.upsertState.run({ id: deviceId, state, at, seen });
    }
    // One last-seen update per camera per batch, not per message (the state write carries its own).
    for (const [deviceId, at] of lastSeen) if (!changedState.has(deviceId)) this.stmts.touch.run({ id: deviceId, at });
    this.totals.inserted(this.insertedInWrite);
  }

  /** After a failed batch was rolled back the caches may be ahead of the disk: start over from it. */
  invalidateCaches(): void {
    this.stateCache.clear();
    this.onlineCache.clear();
    this.nextEventId = 0; // the rolled-back batch's ids were never stored: the next one takes them
  }

  /** Forgets cached state of a removed camera. */
  forget(deviceId: string): void {
    this.stateCache.delete(deviceId);
    this.onlineCache.delete(deviceId);
  }

  view(deviceId: string): CameraView {
    const row = this.stmts.readState.get(deviceId) as { state: Buffer | null; online: number; last_seen: number | null } | undefined;
    const state: StoredState = row?.state ? this.sealer.openJsonOr<StoredState>('cameraState', stateAad(deviceId), row.state, {}) : {};
    const eventCounts = this.totals.countsByType(deviceId);
    return {
      id: deviceId,
      model: state.model ?? null,
      firmware: state.firmware ?? null,
      ssid: state.ssid ?? null,
      ip: state.ip ?? null,
      rssi: state.rssi ?? null,
      online: row?.online === 1,
      lastSeen: row?.last_seen ?? null,
      eventCounts,
    };
  }

  /** Folds a status into the camera's cached state; writeBatch seals and stores it. */
  private mergeStatus(deviceId: string, status: CameraStatus): void {
    if (isStagedStatus(status)) return; // merged when staged
    // In place: the cached object is this camera's alone and is only read when a batch seals it.
    const state = this.currentState(deviceId) as Record<string, unknown>;
    for (const key in status) if (key !== 'state') state[key] = status[key as keyof CameraStatus];
  }

  /** The camera's cached state, loaded from the disk (and cached) on first use. */
  private currentState(deviceId: string): StoredState {
    const cached = this.stateCache.get(deviceId);
    if (cached) return cached;
    const row = this.stmts.readState.get(deviceId) as { state: Buffer | null } | undefined;
    const state = row?.state ? this.sealer.openJsonOr<StoredState>('cameraState', stateAad(deviceId), row.state, {}) : {};
    this.stateCache.set(deviceId, state);
    return state;
  }

  private applyEvent(deviceId: string, event: CameraEvent, at: number): void {
    const id = this.nextEventId;
    // The detail is sealed under the row's own id, so it opens only in that row.
    const plaintext = stagedPlaintext(event) ?? event.detail;
    const detail = plaintext === undefined ? null : this.sealer.seal('eventDetail', detailAad(id, deviceId), plaintext);
    this.insertEvent(id, deviceId, event.type, event.ts, at, detail);
  }

  /**
   * Event ids continue after the largest stored one, read inside the writing transaction, and
   * never go back below one this store already gave: removing a device deletes its events range by
   * range of ids, and ids reused after its newest ones went would land in a range already done.
   */
  private startEventIds(): void {
    this.nextEventId = Math.max((this.stmts.maxEventId.get() as number) + 1, this.nextEventId);
    this.insertedInWrite = 0;
  }

  /** Inserts an event row (writeBatch has checked that its camera exists); the detail is already sealed under `id`. */
  private insertEvent(id: number, deviceId: string, type: string, ts: number, at: number, detail: Buffer | null): void {
    this.stmts.insertEvent.run(id, deviceId, type, ts, at, detail);
    this.nextEventId = id + 1;
    this.insertedInWrite++;
  }

  private applyPresence(deviceId: string, online: boolean, at: number): void {
    let current = this.onlineCache.get(deviceId);
    if (current === undefined) {
      const row = this.stmts.readState.get(deviceId) as { online: number } | undefined;
      current = row?.online === 1;
    }
    if (current === online) return;
    this.insertEvent(this.nextEventId, deviceId, online ? 'online' : 'offline', at, at, null);
    this.stmts.setOnline.run({ id: deviceId, online: online ? 1 : 0, at });
    this.onlineCache.set(deviceId, online);
  }

  /** Opens a stored event detail (for the UI and exports). */
  openDetail(eventId: number, deviceId: string, sealed: Buffer): string {
    if (this.detailsBound === undefined) this.detailsBound = new MetaStore(this.db).read(DETAILS_BOUND) !== undefined;
    if (!this.detailsBound) {
      // Until the one re-sealing pass ran, a detail may still be sealed under its id alone.
      try {
        return this.sealer.openString('eventDetail', detailAad(eventId, deviceId), sealed);
      } catch {
        return this.sealer.openStringForDisplay('eventDetail', legacyDetailAad(eventId), sealed);
      }
    }
    return this.sealer.openStringForDisplay('eventDetail', detailAad(eventId, deviceId), sealed);
  }

  /**
   * Re-seals, once per database, the event details sealed under their row id alone with their
   * camera as well, in transactions of a few thousand rows; a detail that opens under neither is
   * left as it is (it shows as unreadable). Run by the daemon before it serves. Returns how many
   * were re-sealed, or undefined when it had run before.
   */
  bindEventDetailsOnce(): number | undefined {
    const meta = new MetaStore(this.db);
    if (meta.read(DETAILS_BOUND) !== undefined) return undefined;
    const page = this.db.prepare('SELECT id, device_id, detail FROM events WHERE detail IS NOT NULL AND id > ? ORDER BY id LIMIT 2000');
    const update = this.db.prepare('UPDATE events SET detail = ? WHERE id = ?');
    let resealed = 0;
    for (let after = 0; ; ) {
      const rows = page.all(after) as { id: number; device_id: string; detail: Buffer }[];
      if (rows.length === 0) break;
      this.db.transaction(() => {
        for (const r of rows) {
          let plain: Buffer;
          try {
            plain = this.sealer.open('eventDetail', legacyDetailAad(r.id), r.detail);
          } catch {
            continue; // already bound, or damaged
          }
          update.run(this.sealer.seal('eventDetail', detailAad(r.id, r.device_id), plain), r.id);
          plain.fill(0);
          resealed++;
        }
      })();
      after = rows[rows.length - 1]!.id;
    }
    meta.write(DETAILS_BOUND, Buffer.from('1'));
    this.detailsBound = true;
    return resealed;
  }
}
