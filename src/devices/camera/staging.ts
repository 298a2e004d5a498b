/**
 * What waits for a batch (see CameraStore.stage): reused records instead of new objects per
 * message, event details as UTF-8 bytes in a reused buffer instead of strings, statuses as their
 * presence only. At saturation thousands of messages wait for their commit, long enough for V8's
 * young-generation collector to copy and promote whatever they hold; these hold nothing new.
 */
import type { CameraRecord } from './record.js';
import type { CameraEvent, CameraStatus } from './protocol.js';

/** What a staged status keeps: its presence only (its fields are in the pending state). */
const STAGED_ONLINE: CameraStatus = Object.freeze({ state: 'online' });
const STAGED_OFFLINE: CameraStatus = Object.freeze({ state: 'offline' });

/** A staged event's body: type and time as fields, the detail as bytes in the staging buffer. */
class StagedEventBody implements CameraEvent {
  type = '';
  ts = 0;
  /** Offset of the detail in the staging buffer, or -1 without a detail. */
  detailAt = -1;
  detailLength = 0;

  constructor(private readonly pool: StagingPool) {}

  get detail(): string | undefined {
    return this.detailAt < 0 ? undefined : this.pool.bytes.toString('utf8', this.detailAt, this.detailAt + this.detailLength);
  }

  detailBytes(): Uint8Array | undefined {
    return this.detailAt < 0 ? undefined : this.pool.bytes.subarray(this.detailAt, this.detailAt + this.detailLength);
  }
}

/** A reusable waiting record, shaped like any CameraRecord (numbers stay numbers: no boxing per use). */
class StagedRecord {
  kind: 'status' | 'event' = 'event';
  deviceId = '';
  at = 0;
  status: CameraStatus = STAGED_ONLINE;
  readonly event: StagedEventBody;

  constructor(pool: StagingPool) {
    this.event = new StagedEventBody(pool);
  }
}

/** Spare staged records kept for reuse: a saturated hub's batch (~3,000 waiting messages) and some. */
const MAX_SPARE_RECORDS = 8192;

/** Size the staging buffer starts at and returns to after a batch that needed far more. */
const STAGING_BYTES = 64 * 1024;

/** The reused records and detail bytes of the records waiting for the next batch. */
export class StagingPool {
  bytes = Buffer.allocUnsafe(STAGING_BYTES);
  private used = 0;
  private readonly free: StagedRecord[] = [];
  /** Records handed out and not yet released: the buffer is only reset when none is left. */
  private outstanding = 0;

  take(record: CameraRecord & { kind: 'status' | 'event' }): CameraRecord {
    const staged = this.free.pop() ?? new StagedRecord(this);
    this.outstanding++;
    staged.kind = record.kind;
    staged.deviceId = record.deviceId;
    staged.at = record.at;
    if (record.kind === 'status') {
      staged.status = record.status.state === 'offline' ? STAGED_OFFLINE : STAGED_ONLINE;
    } else {
      const body = staged.event;
      body.type = record.event.type;
      body.ts = record.event.ts;
      this.putDetail(body, record.event.detail);
    }
    return staged as unknown as CameraRecord;
  }

  release(records: readonly CameraRecord[]): void {
    for (const r of records) {
      if (!(r instanceof StagedRecord)) continue;
      this.outstanding--;
      this.free.push(r);
    }
    if (this.outstanding <= 0) {
      this.outstanding = 0;
      this.used = 0;
      // A burst (say a camera flooding QoS 0 events) may have grown the buffer: give it back.
      if (this.bytes.length > 16 * STAGING_BYTES) this.bytes = Buffer.allocUnsafe(STAGING_BYTES);
      // Likewise the spare records beyond what a busy batch uses.
      if (this.free.length > MAX_SPARE_RECORDS) this.free.length = MAX_SPARE_RECORDS;
    }
  }

  /** Copies the detail (if any) into the buffer and points the body at it. */
  private putDetail(body: StagedEventBody, detail: string | undefined): void {
    if (detail === undefined) {
      body.detailAt = -1;
      body.detailLength = 0;
      return;
    }
    const max = detail.length * 3; // UTF-8 bytes per UTF-16 unit at most
    if (this.used + max > this.bytes.length) {
      // Grow (details already staged are copied along); never shrinks below what a batch needed.
      const grown = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + max));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    body.detailAt = this.used;
    body.detailLength = this.bytes.write(detail, this.used, 'utf8');
    this.used += body.detailLength;
  }
}

/** Whether a status is a staged one (its fields were folded into the pending state on arrival). */
export function isStagedStatus(status: CameraStatus): boolean {
  return status === STAGED_ONLINE || status === STAGED_OFFLINE;
}

/** A staged event's detail as bytes (undefined for an event that was not staged or has none). */
export function stagedPlaintext(event: CameraEvent): Uint8Array | undefined {
  return event instanceof StagedEventBody ? event.detailBytes() : undefined;
}
