/**
 * Debouncing as a pure state machine over timed samples: a new level counts only once it has been
 * read unchanged for `debounceMs`. Contacts bounce for a few milliseconds when a switch flips.
 */
export type Level = 0 | 1;

export class LevelDebouncer {
  private candidate: Level;
  private candidateSince: number;

  constructor(
    private stable: Level,
    private readonly debounceMs: number,
    now: number,
  ) {
    this.candidate = stable;
    this.candidateSince = now;
  }

  get level(): Level {
    return this.stable;
  }

  /** Feeds one reading; returns the new stable level when it changed, otherwise undefined. */
  sample(level: Level, now: number): Level | undefined {
    if (level !== this.candidate) {
      this.candidate = level;
      this.candidateSince = now;
    }
    if (this.candidate !== this.stable && now - this.candidateSince >= this.debounceMs) {
      this.stable = this.candidate;
      return this.stable;
    }
    return undefined;
  }
}

export type SwitchMode = 'toggle' | 'button';

/**
 * Paused or not after a debounced level change. A toggle is paused while on; a push button flips
 * the state on each press (the rising edge) and ignores the release.
 */
export function nextPausedState(mode: SwitchMode, pausedBefore: boolean, newLevel: Level): boolean {
  if (mode === 'toggle') return newLevel === 1;
  return newLevel === 1 ? !pausedBefore : pausedBefore;
}
