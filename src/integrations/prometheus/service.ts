/**
 * The hub's one Prometheus exposition, kept for the life of the hub: it follows the bus for what
 * happens (batches committed, report sends, the BLE reader's state) and reads the rest when
 * scraped. GET /metrics (src/web/api/metrics.ts) only renders it.
 */
import type { DomainBus } from '../../bus/bus.js';
import { HubMetrics, type MetricsSource } from './exposition.js';

const OWNER = 'metrics';

export interface MetricsServiceDeps {
  bus: DomainBus;
  /** What is read at each scrape; the BLE reader's state is followed here. */
  source: Omit<MetricsSource, 'bleReaderState'>;
  bleEnabled: boolean;
}

export class MetricsService {
  readonly name = 'metrics';
  readonly exposition: HubMetrics;
  private bleState: string;

  constructor(private readonly deps: MetricsServiceDeps) {
    this.bleState = deps.bleEnabled ? 'starting' : 'disabled';
    this.exposition = new HubMetrics({ ...deps.source, bleReaderState: () => this.bleState });
  }

  start(): void {
    const { bus } = this.deps;
    bus.on('store.batch-committed', OWNER, (e) => this.exposition.observeCommit(e.items, e.seconds));
    bus.on('report.sent', OWNER, (e) => this.exposition.observeReportSend(e.ok));
    bus.on('ble.reader-state', OWNER, (e) => {
      this.bleState = e.state;
    });
  }

  stop(): void {
    this.deps.bus.removeOwner(OWNER);
  }
}
