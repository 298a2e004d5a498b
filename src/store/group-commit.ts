/**
 * Group commit: many small writes share one transaction (and one fsync). Each write's callback
 * runs only after the transaction holding it has committed, so an MQTT PUBACK released from that
 * callback means "on disk". A batch is committed when it reaches maxItems or maxDelayMs after its
 * first item, whichever comes first.
 */
export type Done = (err: Error | null) => void;

export interface GroupCommitOptions<T> {
  maxItems: number;
  maxDelayMs: number;
  /** Writes a whole batch; must be synchronous and atomic (run inside one transaction). */
  commit(items: T[]): void;
  /** Told about a failed batch (e.g. disk full); every item's callback also gets the error. */
  onError?(err: Error, items: number): void;
  /**
   * What the callbacks of a failed batch get instead of the storage error itself (made once per
   * batch, told how many callbacks wait), so callers can pass their own callbacks straight in.
   */
  callbackError?(err: Error, waiting: number): Error;
  /** Called with every batch once it is done with, committed or failed, after its callbacks. */
  settled?(items: T[]): void;
  /** Told each committed batch's size and how long its commit took (for the hub's metrics). */
  committed?(items: number, seconds: number): void;
}

export class GroupCommitter<T> {
  private items: T[] = [];
  private callbacks: (Done | undefined)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private closed = false;
  /** Counts for monitoring: committed batches and items. */
  readonly stats = { batches: 0, items: 0, failedBatches: 0 };

  constructor(private readonly opts: GroupCommitOptions<T>) {}

  get pending(): number {
    return this.items.length;
  }

  add(item: T, done?: Done): void {
    if (this.closed) {
      done?.(new Error('store is closing'));
      return;
    }
    this.items.push(item);
    this.callbacks.push(done);
    if (this.items.length >= this.opts.maxItems) {
      // Full: commit once the current I/O callbacks (which may add more) have run.
      this.immediate ??= setImmediate(() => this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.maxDelayMs);
    }
  }

  /** Commits what is buffered now. Safe to call at any time; used on shutdown. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.items.length === 0) return;
    const items = this.items;
    const callbacks = this.callbacks;
    this.items = [];
    this.callbacks = [];
    let failure: Error | null = null;
    const started = performance.now();
    let seconds = 0;
    try {
      this.opts.commit(items);
      seconds = (performance.now() - started) / 1000;
      this.stats.batches++;
      this.stats.items += items.length;
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err));
      this.stats.failedBatches++;
      this.opts.onError?.(failure, items.length);
      if (this.opts.callbackError) failure = this.opts.callbackError(failure, callbacks.filter((cb) => cb !== undefined).length);
    }
    if (!failure) this.opts.committed?.(items.length, seconds);
    try {
      for (const cb of callbacks) cb?.(failure);
    } finally {
      this.opts.settled?.(items);
    }
  }

  /** Commits what is left and refuses further writes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}
