/**
 * Keeps a hostile or broken device from flooding the journal: a given (key) is logged at most once
 * per interval, with the number of occurrences suppressed since the last line.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Returns the number of suppressed repeats to report if this occurrence should be logged, or -1. */
  shouldLog(key: string): number {
    const t = this.now();
    const entry = this.last.get(key);
    if (entry && t - entry.at < this.intervalMs) {
      entry.suppressed++;
      return -1;
    }
    if (!entry && this.last.size >= this.maxKeys) this.last.clear();
    const suppressed = entry?.suppressed ?? 0;
    this.last.set(key, { at: t, suppressed: 0 });
    return suppressed;
  }
}
