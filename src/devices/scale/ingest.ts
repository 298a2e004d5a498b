/**
 * From decoded scale frames to stored weigh-ins: frames of one weigh-in are merged (dedup.ts), the
 * weigh-in is given to the member whose recent weights it matches (members/assign.ts), and stored
 * sealed with its count-only event (store.ts). Whatever reads scales (the BLE reader, a test) only
 * pushes frames here.
 */
import type { Logger } from '../../log/logger.js';
import type { Counters } from '../../store/counters.js';
import { assignWeighIn } from '../../members/assign.js';
import type { MemberStore } from '../../members/store.js';
import { DEFAULT_DEDUP, EMPTY_DEDUP, flush, pushFrame, remember, tick, type DedupOptions, type DedupState, type WeighIn } from './dedup.js';
import type { ScaleMeasurement } from './measurement.js';
import type { ScaleStore, StoredMeasurement } from './store.js';

export interface ScaleIngestOptions {
  store: ScaleStore;
  members: MemberStore;
  logger: Logger;
  counters?: Counters;
  /** Largest difference from a member's usual weight that still counts as theirs. */
  assignToleranceKg: number;
  dedup?: DedupOptions;
  /** How far back a member's weights describe them. */
  historyMs?: number;
  now?: () => number;
  onStored?: (m: StoredMeasurement) => void;
  /** Most weigh-ins stored per scale per hour; more is a device (or an impostor) flooding the store. */
  maxPerScalePerHour?: number;
}

export const DEFAULT_HISTORY_MS = 90 * 86_400_000;
/** A household weighing itself takes far fewer; each weigh-in takes a person stepping on and off. */
export const DEFAULT_MAX_PER_SCALE_PER_HOUR = 30;
const HOUR_MS = 3_600_000;
/** Weigh-ins kept in memory while the store refuses them (beyond that, the oldest are dropped). */
const MAX_UNSTORED = 200;

export class ScaleIngest {
  private state: DedupState;
  private readonly dedup: DedupOptions;
  private readonly now: () => number;
  /** Recent store times per scale, for the hourly cap (at most the cap's worth per scale). */
  private readonly recentStores = new Map<string, number[]>();
  private readonly throttled = new Set<string>();
  /** Weigh-ins accepted but not yet stored (the store failed); oldest first, bounded. */
  private readonly unstored: WeighIn[] = [];
  private storeFailing = false;

  constructor(private readonly opts: ScaleIngestOptions) {
    this.dedup = opts.dedup ?? DEFAULT_DEDUP;
    this.now = opts.now ?? Date.now;
    // Weigh-ins stored just before a restart: their repeats (a scale still advertising) are not new.
    const now = this.now();
    const recent: WeighIn[] = opts.store.since(now - this.dedup.windowMs).map((m) => ({ deviceId: m.deviceId, measurement: m.measurement, measuredAt: m.measuredAt }));
    this.state = remember(EMPTY_DEDUP, recent, now);
  }

  /** One decoded, accepted frame from a scale. */
  push(deviceId: string, measurement: ScaleMeasurement, receivedAt = this.now()): void {
    const t = tick(this.state, receivedAt, this.dedup);
    const p = pushFrame(t.state, { deviceId, measurement, receivedAt }, this.dedup);
    this.state = p.state;
    this.store([...t.released, ...p.released]);
  }

  /** Releases weigh-ins that have settled and retries unstored ones; call about once a second. */
  tick(now = this.now()): void {
    const t = tick(this.state, now, this.dedup);
    this.state = t.state;
    this.store(t.released);
  }

  /** Weigh-ins waiting for the store to accept them. */
  unstoredCount(): number {
    return this.unstored.length;
  }

  /** Stores every open weigh-in now (shutdown). */
  flush(): void {
    const f = flush(this.state);
    this.state = f.state;
    this.store(f.released);
  }

  /** Weigh-ins being collected or remembered (bounded by the dedup options). */
  size(): number {
    return this.state.groups.length;
  }

  /** Accepts released weigh-ins (within the hourly cap) and stores what it can. */
  private store(weighIns: WeighIn[]): void {
    for (const w of weighIns) {
      if (!this.withinRate(w.deviceId)) {
        this.opts.counters?.increment('scale.rate_limited');
        // Said once per flood, not once per dropped weigh-in.
        if (!this.throttled.has(w.deviceId)) this.opts.logger.warn('scale sends more weigh-ins than a household makes; dropping them for now', { deviceId: w.deviceId });
        this.throttled.add(w.deviceId);
        continue;
      }
      this.throttled.delete(w.deviceId);
      this.recentStores.get(w.deviceId)!.push(this.now());
      this.unstored.push(w);
      if (this.unstored.length > MAX_UNSTORED) {
        this.unstored.shift();
        this.opts.counters?.increment('scale.dropped');
      }
    }
    this.drain();
  }

  /**
   * Stores waiting weigh-ins in order. When the store refuses (disk full, read-only), they wait
   * in memory and are retried at every tick: a scale does not send a weigh-in twice.
   */
  private drain(): void {
    while (this.unstored.length > 0) {
      const w = this.unstored[0]!;
      try {
        const since = this.now() - (this.opts.historyMs ?? DEFAULT_HISTORY_MS);
        const assignment = assignWeighIn(w.measurement.weightKg, this.opts.store.memberWeights(this.opts.members.ids(), since), this.opts.assignToleranceKg);
        const stored = this.opts.store.record(w, assignment);
        this.unstored.shift();
        if (this.storeFailing) {
          this.storeFailing = false;
          this.opts.logger.info('storing weigh-ins again');
        }
        this.opts.counters?.increment('scale.weigh_ins');
        this.opts.logger.info('weigh-in stored', { deviceId: w.deviceId, id: stored.id, reason: assignment.reason });
        this.opts.onStored?.(stored);
      } catch (err) {
        if (!this.storeFailing) {
          this.storeFailing = true;
          this.opts.counters?.increment('scale.store_failed');
          this.opts.logger.error('could not store a weigh-in; keeping it in memory to retry', { deviceId: w.deviceId, code: (err as { code?: string }).code ?? (err as Error).name });
        }
        return;
      }
    }
  }

  private withinRate(deviceId: string): boolean {
    const now = this.now();
    const cap = this.opts.maxPerScalePerHour ?? DEFAULT_MAX_PER_SCALE_PER_HOUR;
    const times = (this.recentStores.get(deviceId) ?? []).filter((t) => now - t < HOUR_MS);
    this.recentStores.set(deviceId, times);
    return times.length < cap;
  }
}
