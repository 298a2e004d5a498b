/**
 * The activity LED: lit while a report is being sent upstream. Implements the uplink client's send
 * hooks; overlapping sends are counted so the LED goes dark only after the last one ends.
 */
import type { Logger } from '../../log/logger.js';
import type { SendHooks } from '../../uplink/client.js';
import type { OutputPin } from './pins.js';

export class ActivityLed implements SendHooks {
  private inFlight = 0;
  private failures = 0;

  constructor(
    private readonly pin: OutputPin,
    private readonly logger: Logger,
  ) {}

  onSendStart(): void {
    if (this.inFlight++ === 0) this.set(1);
  }

  onSendEnd(): void {
    if (this.inFlight === 0) return;
    if (--this.inFlight === 0) this.set(0);
  }

  /** Lights the LED for the duration of any promise (for senders without hooks). */
  async lightWhile<T>(work: Promise<T>): Promise<T> {
    this.onSendStart();
    try {
      return await work;
    } finally {
      this.onSendEnd();
    }
  }

  close(): void {
    this.inFlight = 0;
    try {
      this.pin.close();
    } catch (err) {
      this.logger.warn('activity LED could not be released', { code: (err as NodeJS.ErrnoException).code ?? 'error' });
    }
  }

  private set(level: 0 | 1): void {
    try {
      this.pin.write(level);
    } catch (err) {
      // An LED is a courtesy: a write failure never stops a send.
      if (this.failures++ % 1000 === 0) this.logger.warn('activity LED cannot be written', { code: (err as NodeJS.ErrnoException).code ?? 'error', count: this.failures });
    }
  }
}
