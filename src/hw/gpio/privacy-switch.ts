/**
 * The hardware privacy switch as a PrivacyGate: the input pin is sampled on a timer and debounced;
 * each debounced change pauses or resumes everything upstream. Sampling (one pread of the value
 * file per tick) rather than edge interrupts keeps one code path for every board and makes the
 * debounce exact; at the default 25 ms it costs nothing measurable on a Pi.
 */
import type { Logger } from '../../log/logger.js';
import type { PrivacyGate } from '../../uplink/privacy-gate.js';
import { LevelDebouncer, nextPausedState, type SwitchMode } from './debounce.js';
import type { InputPin } from './pins.js';

export interface PrivacySwitchOptions {
  pin: InputPin;
  mode: SwitchMode;
  debounceMs: number;
  pollMs: number;
  logger: Logger;
  now?: () => number;
}

export class PrivacySwitch implements PrivacyGate {
  private readonly listeners = new Set<(paused: boolean) => void>();
  private readonly debouncer: LevelDebouncer;
  private readonly now: () => number;
  private paused: boolean;
  private timer: NodeJS.Timeout | undefined;
  private readFailures = 0;

  constructor(private readonly opts: PrivacySwitchOptions) {
    this.now = opts.now ?? Date.now;
    const initial = opts.pin.read();
    this.debouncer = new LevelDebouncer(initial, opts.debounceMs, this.now());
    // A toggle left on at boot starts paused; a button starts resumed until pressed.
    this.paused = opts.mode === 'toggle' ? initial === 1 : false;
  }

  isPaused(): boolean {
    return this.paused;
  }

  onChange(cb: (paused: boolean) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.opts.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops sampling and releases the pin. */
  close(): void {
    this.stop();
    try {
      this.opts.pin.close();
    } catch (err) {
      this.opts.logger.warn('privacy switch could not be released', { code: (err as NodeJS.ErrnoException).code ?? 'error' });
    }
  }

  /** One sample; public so a test can drive the switch without timers. */
  tick(): void {
    let level;
    try {
      level = this.opts.pin.read();
    } catch (err) {
      if (this.readFailures++ % 1000 === 0) this.opts.logger.warn('privacy switch cannot be read', { code: (err as NodeJS.ErrnoException).code ?? 'error', count: this.readFailures });
      return;
    }
    const changed = this.debouncer.sample(level, this.now());
    if (changed === undefined) return;
    const paused = nextPausedState(this.opts.mode, this.paused, changed);
    if (paused === this.paused) return;
    this.paused = paused;
    this.opts.logger.info(paused ? 'privacy switch: upstream paused' : 'privacy switch: upstream resumed');
    for (const cb of [...this.listeners]) cb(paused);
  }
}
