/**
 * The consent use case: the household turns an upstream category on or off (off also drops its
 * queued reports, in the same transaction: see ConsentStore.set) and the bus hears of it, so the
 * uplink looks at its outbox again and open pages update.
 */
import type { DomainBus } from '../bus/bus.js';
import type { Category } from '../metrics/categories.js';
import type { Db } from '../store/database.js';
import { ConsentStore } from './consent.js';

export class ConsentService {
  readonly store: ConsentStore;

  constructor(
    db: Db,
    private readonly bus: DomainBus,
  ) {
    this.store = new ConsentStore(db);
  }

  set(category: Category, enabled: boolean, at = Date.now()): { changed: boolean; droppedReports: number } {
    const result = this.store.set(category, enabled, at);
    if (result.changed) this.bus.emit('consent.changed', { category, enabled, droppedReports: result.droppedReports, origin: 'local', at });
    return result;
  }
}
