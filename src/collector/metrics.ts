/**
 * The collector's Prometheus metrics, counted in the process (each process exposes its own; the
 * scraper sums them). Labels are reasons and states only, never anything from a report.
 */
import { REFUSAL_REASONS, type RefusalReason } from './checks.js';

export class CollectorMetrics {
  received = 0;
  stored = 0;
  duplicates = 0;
  readonly refused = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]));
  batches = 0;
  batchFailures = 0;
  /** Seconds from a report's arrival to its commit, for the last batch. */
  lagSeconds = 0;
  /** Seconds between a stored report's window end and its commit, for the last batch (how late hubs report). */
  reportAgeSeconds = 0;
  pending = 0;
  brokerConnections = 0;
  databaseUp = false;
  checkThreads = 0;
  checkThreadRestarts = 0;

  refuse(reason: RefusalReason, n = 1): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + n);
  }

  render(): string {
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of samples) lines.push(`${name}${labels} ${v}`);
    };
    metric('hearth_collector_received_total', 'counter', 'reports received from the broker', [['', this.received]]);
    metric('hearth_collector_stored_total', 'counter', 'reports verified and committed', [['', this.stored]]);
    metric('hearth_collector_duplicate_total', 'counter', 'reports already stored (redelivered or replayed id)', [['', this.duplicates]]);
    metric('hearth_collector_refused_total', 'counter', 'reports refused, by reason', [...this.refused].map(([r, n]) => [`{reason="${r}"}`, n] as [string, number]));
    metric('hearth_collector_batches_total', 'counter', 'database transactions committed', [['', this.batches]]);
    metric('hearth_collector_batch_failures_total', 'counter', 'database transactions that failed and were retried', [['', this.batchFailures]]);
    metric('hearth_collector_lag_seconds', 'gauge', 'arrival to commit, oldest report of the last batch', [['', this.lagSeconds]]);
    metric('hearth_collector_report_age_seconds', 'gauge', 'window end to commit, oldest report of the last batch', [['', this.reportAgeSeconds]]);
    metric('hearth_collector_pending', 'gauge', 'reports received and not yet committed or refused', [['', this.pending]]);
    metric('hearth_collector_broker_connections', 'gauge', 'open connections to the broker', [['', this.brokerConnections]]);
    metric('hearth_collector_check_threads', 'gauge', 'worker threads checking reports (0: on the main thread)', [['', this.checkThreads]]);
    metric('hearth_collector_check_thread_restarts_total', 'counter', 'check threads that died and were replaced (their reports checked on the main thread)', [['', this.checkThreadRestarts]]);
    metric('hearth_collector_database_up', 'gauge', '1 when the last database operation succeeded', [['', this.databaseUp ? 1 : 0]]);
    return lines.join('\n') + '\n';
  }
}
