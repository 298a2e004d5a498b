/**
 * The privacy gate: a household-controlled "pause" for everything upstream. While paused, the
 * uplink holds no connection at all (not even keep-alives) and reports keep queueing in the outbox.
 * A hardware switch and the persistent flag (privacy-flag.ts, set by `hearth privacy pause` or
 * `hearth report pause`) implement the same interface; gates are combined with anyPaused().
 */
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
