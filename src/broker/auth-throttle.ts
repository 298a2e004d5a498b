/**
 * Slows down password guessing: after a few failures from one source address within a window,
 * further attempts from it are refused at once (no Argon2id run, so a flood costs the hub nothing)
 * until a growing penalty has passed.
 */
export interface AuthThrottleOptions {
  freeFailures: number;
  windowMs: number;
  maxPenaltyMs: number;
  maxTracked: number;
}

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
}

export class AuthThrottle {
  private readonly entries = new Map<string, Entry>();
  private readonly opts: AuthThrottleOptions;

  constructor(opts: Partial<AuthThrottleOptions> = {}, private readonly now: () => number = Date.now) {
    this.opts = { freeFailures: 5, windowMs: 60_000, maxPenaltyMs: 60_000, maxTracked: 10_000, ...opts };
  }

  /** How long `source` must still wait before it may try again (0 = may try now). */
  retryAfterMs(source: string): number {
    const e = this.entries.get(source);
    if (!e) return 0;
    return Math.max(0, e.blockedUntil - this.now());
  }

  recordFailure(source: string): void {
    const now = this.now();
    let e = this.entries.get(source);
    if (!e || now - e.firstAt > this.opts.windowMs) {
      if (this.entries.size >= this.opts.maxTracked) this.evictOldest();
      e = { failures: 0, firstAt: now, blockedUntil: 0 };
      this.entries.set(source, e);
    }
    e.failures++;
    if (e.failures > this.opts.freeFailures) {
      const penalty = Math.min(this.opts.maxPenaltyMs, 1000 * 2 ** (e.failures - this.opts.freeFailures - 1));
      e.blockedUntil = now + penalty;
    }
  }

  recordSuccess(source: string): void {
    this.entries.delete(source);
  }

  private evictOldest(): void {
    const first = this.entries.keys().next();
    if (!first.done) this.entries.delete(first.value);
  }
}
