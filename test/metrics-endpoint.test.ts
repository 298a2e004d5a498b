/**
 * GET /metrics on a real hub: refused without the bearer token (and with an old or wrong one, and
 * from outside the LAN), and with the token from `hearth metrics token` an answer in the
 * Prometheus text format that a third-party parser reads, with the hub's counters, device and
 * storage gauges and process metrics, and no nickname, member name, SSID, address or device id.
 */
import mqtt from 'mqtt';
// @ts-expect-error the parser ships no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { startHub, type RunningHub } from '../src/hub/hub.js';
import { HUB_SERVICES } from '../src/hub/services.js';
import { HubMetrics, counterCode, countersByCode } from '../src/integrations/prometheus/exposition.js';
import { createLogger } from '../src/log/logger.js';
import { cli, publishAcked, tempDir } from './helpers/hub.js';

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}
const parse = parsePrometheusTextFormat as (text: string) => Family[];

const NICKNAME = 'Nursery-canary';
const SSID = 'CanaryNet-9d2c';
const IP = '10.55.44.33';
const MEMBER = 'Membercanary';

describe('GET /metrics', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let camId: string;
  let token: string;

  beforeAll(async () => {
    const config = loadConfig({ flags: { 'data-dir': dir.path, 'mqtt-port': '0', 'http-port': '0', 'mqtt-host': '127.0.0.1', 'http-host': '127.0.0.1' } });
    hub = await startHub(config, { env: {}, logger: createLogger({ level: 'error', sink: () => {} }), services: HUB_SERVICES });
    const cam = await hub.ctx.services.devices.enrol('camera', { nickname: NICKNAME });
    camId = cam.device.id;
    hub.ctx.services.members.add(MEMBER);
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port: hub.mqttPort, username: camId, password: String(cam.shownOnce.password), reconnectPeriod: 0 });
    await publishAcked(client, `hearth/cam/${camId}/status`, JSON.stringify({ state: 'online', ssid: SSID, ip: IP, rssi: -50 }));
    await client.endAsync();
    // A wrong password: a per-device counter (device.auth_failed:<id>) that must reach the metrics without the id.
    await mqtt.connectAsync({ host: '127.0.0.1', port: hub.mqttPort, username: camId, password: 'wrong-password-000', reconnectPeriod: 0 }).then((c) => c.endAsync(), () => undefined);
  }, 30_000);

  afterAll(async () => {
    await hub?.stop();
    dir.cleanup();
  });

  const get = (headers: Record<string, string> = {}) => fetch(`http://127.0.0.1:${hub.httpPort}/metrics`, { headers });

  it('refuses without a token, before any token exists, and with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer ' + 'A'.repeat(43) }, { authorization: 'Basic YWRtaW46YWRtaW4=' }]) {
      const res = await get(headers);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = await res.text();
      expect(body).not.toContain('hearth_');
      expect(body).not.toContain('process_');
    }
  });

  it('answers with the token from `hearth metrics token`, in a format a Prometheus parser reads', async () => {
    const res = cli(['metrics', 'token', '--json', '--data-dir', dir.path]);
    expect(res.code, res.stderr).toBe(0);
    token = (JSON.parse(res.stdout) as { token: string }).token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const answer = await get({ authorization: `Bearer ${token}` });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await answer.text();
    const families = new Map(parse(text).map((f) => [f.name, f]));
    expect(families.get('hearth_devices')).toMatchObject({ type: 'GAUGE', metrics: [{ labels: { kind: 'camera' }, value: '1' }] });
    expect(families.get('hearth_storage_healthy')!.metrics[0]!.value).toBe('1');
    expect(families.get('hearth_devices_connected')!.metrics[0]!.value).toBe('0');
    expect(families.get('hearth_upstream_state')!.metrics.find((m) => m.labels!.state === 'off')!.value).toBe('1');
    expect(families.get('hearth_events_total')!.type).toBe('COUNTER');
    const codes = new Map(families.get('hearth_events_total')!.metrics.map((m) => [m.labels!.code!, Number(m.value)]));
    expect(codes.get('device.auth_failed')).toBeGreaterThanOrEqual(1);
    expect(codes.get('http.refused.metrics_token')).toBeGreaterThanOrEqual(3);
    for (const name of ['process_resident_memory_bytes', 'process_cpu_seconds_total', 'nodejs_heap_size_used_bytes', 'hearth_uptime_seconds', 'hearth_outbox_reports', 'hearth_ledger_entries']) expect(families.has(name), name).toBe(true);
    // The status message went through a committed batch: received, committed, timed and sized.
    const value = (name: string, labels: Record<string, string> = {}) => Number(families.get(name)!.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))!.value);
    expect(value('hearth_messages_received_total')).toBeGreaterThanOrEqual(1);
    expect(value('hearth_messages_committed_total')).toBeGreaterThanOrEqual(1);
    expect(value('hearth_messages_committed_total')).toBeLessThanOrEqual(value('hearth_messages_received_total') + 10);
    expect(families.get('hearth_commit_seconds')!.type).toBe('HISTOGRAM');
    expect(families.get('hearth_commit_batch_messages')!.type).toBe('HISTOGRAM');
    const commits = families.get('hearth_commit_seconds')!.metrics[0] as unknown as { count: string; sum: string; buckets: Record<string, string> };
    expect(Number(commits.count)).toBeGreaterThanOrEqual(1);
    expect(Number(commits.sum)).toBeGreaterThan(0);
    const sizes = families.get('hearth_commit_batch_messages')!.metrics[0] as unknown as { count: string; sum: string };
    expect(Number(sizes.sum)).toBe(value('hearth_messages_committed_total'));
    // One BLE reader state is current (no Bluetooth here: it waits for a scale or finds none).
    const ble = families.get('hearth_ble_reader_state')!.metrics;
    expect(ble.filter((m) => m.value === '1')).toHaveLength(1);
    expect(ble.map((m) => m.labels!.state)).toContain('unavailable');
    // Nothing was reported today: the whole daily budget (1 by default) is left.
    expect(value('hearth_privacy_budget_remaining')).toBe(1);
    expect(value('hearth_report_sends_total', { result: 'ok' })).toBe(0);
    // hearth's label values are the hub's own codes only (process metrics carry Node's own words).
    for (const f of families.values()) if (f.name.startsWith('hearth_')) for (const m of f.metrics) for (const v of Object.values(m.labels ?? {})) expect(v).toMatch(/^[a-z0-9_.-]{1,80}$/);
    for (const canary of [NICKNAME, SSID, IP, MEMBER, camId]) expect(text).not.toContain(canary);
  });

  it('a new token replaces the old one; outside the local network it is refused whatever the token', async () => {
    const res = cli(['metrics', 'token', '--data-dir', dir.path]);
    expect(res.code, res.stderr).toBe(0);
    const fresh = /([A-Za-z0-9_-]{43})/.exec(res.stdout)![1]!;
    expect((await get({ authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await get({ authorization: `Bearer ${fresh}` })).status).toBe(200);
    const outside = await hub.internals.web.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${fresh}` }, remoteAddress: '203.0.113.9' });
    expect(outside.statusCode).toBe(403);
    expect(outside.body).not.toContain('hearth_');
  });
});

describe('the exposition', () => {
  it('keeps process metrics out of each hub’s registry (collected once per process), and in every answer', async () => {
    const source = { counters: () => ({}), deviceKinds: () => [], devicesOnline: () => 0, outboxSize: () => 0, ledgerSize: () => 0, storageHealthy: () => true, upstream: () => 'off' as const, homeAssistantEnabled: () => false, publishesReceived: () => 7, privacyBudgetRemaining: () => 0.5, bleReaderState: () => 'scanning' };
    const hubs = Array.from({ length: 5 }, () => new HubMetrics(source));
    for (const h of hubs) expect((await h.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith('process_') || n.startsWith('nodejs_'))).toEqual([]);
    hubs[0]!.observeCommit(3, 0.002);
    hubs[0]!.observeCommit(5, 0.004);
    for (const [i, h] of hubs.entries()) {
      const families = new Map(parse(await h.render()).map((f) => [f.name, f]));
      expect(families.get('process_cpu_seconds_total')!.metrics).toHaveLength(1);
      expect(families.get('hearth_messages_received_total')!.metrics[0]!.value).toBe('7');
      expect(families.get('hearth_ble_reader_state')!.metrics.find((m) => m.value === '1')!.labels!.state).toBe('scanning');
      expect(families.get('hearth_messages_committed_total')!.metrics[0]!.value).toBe(i === 0 ? '8' : '0');
    }
    const first = parse(await hubs[0]!.render()).find((f) => f.name === 'hearth_commit_batch_messages')!.metrics[0] as unknown as { buckets: Record<string, string>; count: string };
    expect(first.count).toBe('2');
    expect(first.buckets['2']).toBe('0');
    expect(first.buckets['5']).toBe('2');
  });
});

describe('counter labels', () => {
  it('keep the code, sum per-device counters, and refuse anything but a plain code', () => {
    expect(counterCode('mqtt.publish_refused.payload_not_json')).toBe('mqtt.publish_refused.payload_not_json');
    expect(counterCode('device.auth_failed:cam-0123456789ab')).toBe('device.auth_failed');
    expect(counterCode('Front Door')).toBe('other');
    expect(counterCode('x'.repeat(81))).toBe('other');
    expect([...countersByCode({ 'device.auth_failed:cam-0123456789ab': 2, 'device.auth_failed:cam-ba9876543210': 3, 'a.b': 1, bad: -1 })]).toEqual([
      ['device.auth_failed', 5],
      ['a.b', 1],
    ]);
  });

  it('the parser reads the exposition format example of the Prometheus documentation', () => {
    const example = [
      '# HELP http_requests_total The total number of HTTP requests.',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{method="post",code="400"}    3 1395066363000',
      '',
      '# A histogram, which has a pretty complex representation in the text format:',
      '# HELP http_request_duration_seconds A histogram of the request duration.',
      '# TYPE http_request_duration_seconds histogram',
      'http_request_duration_seconds_bucket{le="0.05"} 24054',
      'http_request_duration_seconds_bucket{le="+Inf"} 144320',
      'http_request_duration_seconds_sum 53423',
      'http_request_duration_seconds_count 144320',
      '',
    ].join('\n');
    const families = parse(example);
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ['http_requests_total', 'COUNTER'],
      ['http_request_duration_seconds', 'HISTOGRAM'],
    ]);
    expect(families[0]!.metrics[1]).toMatchObject({ value: '3', labels: { method: 'post', code: '400' } });
  });
});
