/**
 * The hub's metrics for Prometheus (text exposition format 0.0.4, through prom-client): the
 * operational counters (src/store/counters.ts), messages received and committed, commit latency
 * and batch sizes, devices enrolled and connected, the BLE reader's state, the outbox and ledger
 * sizes, report sends, the privacy budget left today, storage health, whether anything goes
 * upstream, and the process's own metrics.
 *
 * No label carries a personal value: counters are labelled by their fixed code only, with any
 * per-device part (`device.auth_failed:<id>`) summed away; device kinds and upstream states are
 * the hub's own words. Nicknames, member names, SSIDs and addresses are never read here.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { UPSTREAM_STATES, type UpstreamState } from '../../uplink/upstream-state.js';

/** The BLE reader's states (src/devices/scale/ble/reader.ts), and `disabled` when ble.enabled is off. */
export const BLE_READER_STATES = ['disabled', 'starting', 'no_scales', 'scanning', 'idle', 'unavailable', 'stopped'] as const;

export interface MetricsSource {
  counters(): Record<string, number>;
  /** Enrolled devices by kind. */
  deviceKinds(): string[];
  devicesOnline(): number;
  outboxSize(): number;
  ledgerSize(): number;
  storageHealthy(): boolean;
  upstream(): UpstreamState;
  homeAssistantEnabled(): boolean;
  /** Device publishes that reached the broker's checks since start. */
  publishesReceived(): number;
  /** Epsilon the home may still spend today (format 2 reports). */
  privacyBudgetRemaining(): number;
  bleReaderState(): string;
}

/**
 * Node's process metrics are the process's, not a hub's: collected once per process into their own
 * registry (collectDefaultMetrics starts timers and observers that are never stopped), then merged
 * into each hub's answer.
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 100 });
  }
  return processRegistry;
}

const CODE = /^[a-z0-9_.]{1,80}$/;

/**
 * The label a stored counter is reported under: its code without a per-device suffix, or
 * `other` for anything that is not a plain code (so nothing unexpected becomes a label value).
 */
export function counterCode(name: string): string {
  const code = name.split(':', 1)[0]!;
  return CODE.test(code) ? code : 'other';
}

/** Sums the stored counters by code. */
export function countersByCode(counters: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, value] of Object.entries(counters)) {
    if (!Number.isFinite(value) || value < 0) continue;
    const code = counterCode(name);
    out.set(code, (out.get(code) ?? 0) + value);
  }
  return out;
}

export class HubMetrics {
  readonly registry = new Registry();
  private readonly commitSeconds: Histogram;
  private readonly batchMessages: Histogram;
  private readonly committedMessages: Counter;
  private readonly reportSends: Counter;

  constructor(source: MetricsSource, startedAt: number = Date.now(), now: () => number = Date.now) {
    const r = this.registry;
    // A batch commits in well under a millisecond on an SSD and in tens on a slow SD card.
    this.commitSeconds = new Histogram({
      name: 'hearth_commit_seconds',
      help: 'How long committing one batch of device messages took (one transaction, one fsync).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
    this.batchMessages = new Histogram({
      name: 'hearth_commit_batch_messages',
      help: 'Device messages per committed batch.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [r],
    });
    this.committedMessages = new Counter({ name: 'hearth_messages_committed_total', help: 'Device messages committed to the store since the hub started.', registers: [r] });
    this.reportSends = new Counter({ name: 'hearth_report_sends_total', help: 'Report sends upstream since the hub started, by result (ok: the upstream broker acknowledged it).', labelNames: ['result'], registers: [r] });
    this.reportSends.inc({ result: 'ok' }, 0);
    this.reportSends.inc({ result: 'failed' }, 0);
    new Counter({
      name: 'hearth_messages_received_total',
      help: 'Device publishes that reached the hub since it started (stored, refused or dropped; refusals by reason are in hearth_events_total).',
      registers: [r],
      collect() {
        this.reset();
        this.inc(source.publishesReceived());
      },
    });
    new Gauge({
      name: 'hearth_ble_reader_state',
      help: 'The Bluetooth scale reader: 1 for its current state, 0 for the others.',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const current = source.bleReaderState();
        for (const state of BLE_READER_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    new Counter({
      name: 'hearth_events_total',
      help: 'Operational counts of the hub by code (messages refused by reason, auth failures, HTTP refusals...), since the data dir was made.',
      labelNames: ['code'],
      registers: [r],
      collect() {
        this.reset();
        for (const [code, value] of countersByCode(source.counters())) this.inc({ code }, value);
      },
    });
    new Gauge({
      name: 'hearth_devices',
      help: 'Enrolled devices by kind.',
      labelNames: ['kind'],
      registers: [r],
      collect() {
        this.reset();
        const byKind = new Map<string, number>();
        for (const k of source.deviceKinds()) byKind.set(counterCode(k), (byKind.get(counterCode(k)) ?? 0) + 1);
        for (const [kind, n] of byKind) this.set({ kind }, n);
      },
    });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    gauge('hearth_devices_connected', 'Devices connected to the broker now.', () => source.devicesOnline());
    gauge('hearth_outbox_reports', 'Reports waiting in the outbox to go upstream.', () => source.outboxSize());
    gauge('hearth_ledger_entries', 'Entries in the privacy ledger (reports sent upstream).', () => source.ledgerSize());
    gauge('hearth_storage_healthy', '1 while the store accepts writes, 0 while it does not (disk full, I/O error).', () => (source.storageHealthy() ? 1 : 0));
    gauge('hearth_home_assistant_enabled', '1 while the Home Assistant integration is on.', () => (source.homeAssistantEnabled() ? 1 : 0));
    gauge('hearth_privacy_budget_remaining', 'Epsilon the home may still spend on reports today (UTC day).', () => source.privacyBudgetRemaining());
    gauge('hearth_uptime_seconds', 'Seconds since the hub started.', () => Math.max(0, (now() - startedAt) / 1000));
    new Gauge({
      name: 'hearth_upstream_state',
      help: 'Whether anything goes upstream: 1 for the current state (on, paused-by-switch, paused, off), 0 for the others.',
      labelNames: ['state'],
      registers: [r],
      collect() {
        const current = source.upstream();
        for (const state of UPSTREAM_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
  }

  /** One committed batch of device messages. */
  observeCommit(items: number, seconds: number): void {
    this.commitSeconds.observe(seconds);
    this.batchMessages.observe(items);
    this.committedMessages.inc(items);
  }

  observeReportSend(ok: boolean): void {
    this.reportSends.inc({ result: ok ? 'ok' : 'failed' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}
