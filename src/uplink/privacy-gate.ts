/**
 * The privacy gate: a household-controlled "pause" for everything upstream. While paused, the
 * uplink holds no connection at all (not even keep-alives) and reports keep queueing in the outbox.
 * A hardware switch implements the same interface; gates can be combined with anyPaused().
 */
import type { Db } from '../store/database.js';

export interface PrivacyGate {
  isPaused(): boolean;
  /** Called with the new state on every change; returns a function that unsubscribes. */
  onChange(cb: (paused: boolean) => void): () => void;
}

/** An in-memory gate, switched in software (tests, the web UI, a CLI flag). */
export class SwitchablePrivacyGate implements PrivacyGate {
  private readonly listeners = new Set<(paused: boolean) => void>();

  constructor(private paused = false) {}

  isPaused(): boolean {
    return this.paused;
  }

  setPaused(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    for (const cb of [...this.listeners]) cb(paused);
  }

  onChange(cb: (paused: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}

/** Paused while any of the gates is paused. */
export function anyPaused(...gates: PrivacyGate[]): PrivacyGate {
  const isPaused = () => gates.some((g) => g.isPaused());
  return {
    isPaused,
    onChange(cb) {
      let last = isPaused();
      const offs = gates.map((g) =>
        g.onChange(() => {
          const now = isPaused();
          if (now !== last) {
            last = now;
            cb(now);
          }
        }),
      );
      return () => offs.forEach((off) => off());
    },
  };
}

/** A gate that never pauses, for hubs without a switch. */
export const openGate: PrivacyGate = { isPaused: () => false, onChange: () => () => {} };

const PAUSE_META = 'uplink_paused';

/**
 * A gate kept as a flag in the database, so `hearth report pause` (another process) or the web UI
 * can pause a running hub. The daemon notices a change within `pollMs`.
 */
export class DbFlagPrivacyGate implements PrivacyGate {
  private readonly listeners = new Set<(paused: boolean) => void>();
  private readonly read;
  private readonly write;
  private timer: NodeJS.Timeout | undefined;
  private last: boolean;

  constructor(
    db: Db,
    private readonly pollMs = 1000,
  ) {
    this.read = db.prepare('SELECT value FROM meta WHERE key = ?').pluck();
    this.write = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.last = this.isPaused();
  }

  isPaused(): boolean {
    const v = this.read.get(PAUSE_META) as Buffer | undefined;
    return v?.toString('utf8') === '1';
  }

  setPaused(paused: boolean): void {
    this.write.run(PAUSE_META, Buffer.from(paused ? '1' : '0', 'utf8'));
    this.poll();
  }

  onChange(cb: (paused: boolean) => void): () => void {
    this.listeners.add(cb);
    if (!this.timer) {
      this.last = this.isPaused();
      this.timer = setInterval(() => this.poll(), this.pollMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(cb);
      if (this.listeners.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private poll(): void {
    const now = this.isPaused();
    if (now === this.last) return;
    this.last = now;
    for (const cb of [...this.listeners]) cb(now);
  }
}
