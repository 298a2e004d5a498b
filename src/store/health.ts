/**
 * Whether the store accepts writes. A write path that fails (disk full, read-only file) marks it
 * unhealthy and the next write that commits marks it healthy again; each change is one
 * `storage.changed` event on the bus (the dashboard shows it) and one log line.
 */
import type { DomainBus } from '../bus/bus.js';
import type { Logger } from '../log/logger.js';

export interface StorageStatus {
  healthy: boolean;
  /** A short code such as SQLITE_FULL when unhealthy. */
  problem?: string;
  since: number;
}

export class StorageHealth {
  private current: StorageStatus;

  constructor(
    private readonly bus: DomainBus,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.current = { healthy: true, since: now() };
  }

  status(): StorageStatus {
    return { ...this.current };
  }

  get healthy(): boolean {
    return this.current.healthy;
  }

  /** A write failed; `what` says what could not be stored, for the one log line. */
  failed(err: unknown, what: string, count?: number): void {
    const code = (err as { code?: string }).code ?? (err as Error).name;
    if (!this.current.healthy) return;
    const why = code === 'SQLITE_FULL' ? 'the disk is full' : 'the database cannot be written';
    this.logger.error(`could not store ${what} (${why}); refusing them until storage recovers`, { code, ...(count !== undefined ? { count } : {}) });
    this.current = { healthy: false, problem: code, since: this.now() };
    this.bus.emit('storage.changed', { healthy: false, problem: code });
  }

  /** A write committed. */
  succeeded(): void {
    if (this.current.healthy) return;
    this.logger.info('storage is writable again; accepting messages');
    this.current = { healthy: true, since: this.now() };
    this.bus.emit('storage.changed', { healthy: true, problem: null });
  }
}
