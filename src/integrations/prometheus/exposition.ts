/**
 * The hub's metrics for Prometheus (text exposition format 0.0.4, through prom-client): the
 * operational counters (src/store/counters.ts), devices enrolled and connected, the outbox and
 * ledger sizes, storage health, whether anything goes upstream, and the process's own metrics.
 *
 * No label carries a personal value: counters are labelled by their fixed code only, with any
 * per-device part (`device.auth_failed:<id>`) summed away; device kinds and upstream states are
 * the hub's own words. Nicknames, member names, SSIDs and addresses are never read here.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { UPSTREAM_STATES, type UpstreamState } from '../../uplink/upstream-state.js';

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

  constructor(source: MetricsSource, startedAt: number = Date.now(), now: () => number = Date.now) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, eventLoopMonitoringPrecision: 100 });
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

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
