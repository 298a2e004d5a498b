/**
 * The benchmark's pure parts: /proc parsing, percentiles, profile attribution, target verdicts and
 * the service unit's launch flags. The benchmark itself runs with `npm run bench`, not here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers without type declarations
import { cpuPerMessageUs, foreignCoreShare, latencySummary, parseMachineStat, parseProcStat, parseProcStatus, percentile, ratio } from '../bench/lib/measure.mjs';
// @ts-expect-error plain ESM helpers without type declarations
import { attributeProfile, cpuShares } from '../bench/lib/profile.mjs';
// @ts-expect-error plain ESM helpers without type declarations
import { evaluateTargets, formatReport } from '../bench/lib/report.mjs';
// @ts-expect-error plain ESM helpers without type declarations
import { parseArgs, serviceLaunch } from '../bench/run.mjs';

describe('bench measurement helpers', () => {
  it('reads utime and stime from /proc/<pid>/stat even when the command name has spaces and parentheses', () => {
    const line = '4242 (node (hub) x) S 1 4242 4242 0 -1 4194560 1 0 0 0 1234 567 0 0 20 0 11 0 100 1000 200 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ utimeTicks: 1234, stimeTicks: 567 });
    expect(() => parseProcStat('garbage')).toThrow();
    const own = parseProcStat(readFileSync('/proc/self/stat', 'utf8'));
    expect(own.utimeTicks + own.stimeTicks).toBeGreaterThanOrEqual(0);
  });

  it('reads RSS and peak RSS, machine busy time, and derives per-message CPU and foreign load', () => {
    expect(parseProcStatus('Name:\tnode\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n')).toEqual({ rssBytes: 1024 * 1024, peakRssBytes: 2048 * 1024 });
    expect(parseMachineStat('cpu  10 2 3 100 5 1 1 0 0 0\ncpu0 1 1 1 1\n')).toEqual({ busyTicks: 17, totalTicks: 122 });
    expect(cpuPerMessageUs(1.0, 1.5, 100_000)).toBeCloseTo(5, 9);
    expect(cpuPerMessageUs(1, 2, 0)).toBeNaN();
    expect(foreignCoreShare(3, 1, 2)).toBe(1);
    expect(foreignCoreShare(1, 2, 2)).toBe(0);
    expect(ratio(3, 2)).toBe(1.5);
    expect(ratio(1, 0)).toBeNaN();
  });

  it('takes nearest-rank percentiles, so a p99 is a latency some message had', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(percentile(values, 50)).toBe(500);
    expect(percentile(values, 99)).toBe(990);
    expect(percentile(values, 100)).toBe(1000);
    expect(latencySummary([5, 1, 3])).toEqual({ count: 3, p50_ms: 3, p99_ms: 5, max_ms: 5 });
    expect(latencySummary([]).count).toBe(0);
  });
});

describe('bench profile attribution', () => {
  // root -> broker authorizePublish -> protocol parse; root -> group commit -> better-sqlite3 -> native run; root -> sealer; idle; gc
  const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({ id, callFrame: { functionName, url }, children });
  const profile = {
    nodes: [
      frame(1, '(root)', '', [2, 4, 7, 8, 9]),
      frame(2, 'authorizePublish', 'file:///x/dist/broker/broker.js', [3]),
      frame(3, 'parseStatus', 'file:///x/dist/devices/camera/protocol.js'),
      frame(4, 'flush', 'file:///x/dist/store/group-commit.js', [5]),
      frame(5, 'sqliteTransaction', 'file:///x/node_modules/better-sqlite3/lib/methods/transaction.js', [6]),
      frame(6, 'run', ''),
      frame(7, 'seal', 'file:///x/dist/crypto/sealer.js'),
      frame(8, '(idle)', ''),
      frame(9, '(garbage collector)', ''),
    ],
    startTime: 0,
    // samples: validation x2, sqlite x3, sealing x1, idle x2, gc x2, each 100 µs
    samples: [3, 3, 6, 6, 6, 7, 8, 8, 9, 9],
    timeDeltas: [0, 100, 100, 100, 100, 100, 100, 100, 100, 100],
  };

  it('attributes samples by the nearest frame that names a part, leaving idle out', () => {
    const a = attributeProfile(profile);
    expect(a.busyMs).toBeCloseTo(0.8, 6);
    expect(a.shares.validation).toBeCloseTo(2 / 8, 6);
    expect(a.shares.sqlite).toBeCloseTo(3 / 8, 6);
    expect(a.shares.sealing).toBeCloseTo(1 / 8, 6);
    expect(a.shares.gc).toBeCloseTo(2 / 8, 6);
    expect(a.idleMs).toBeCloseTo(0.2, 6);
    // Only the samples inside a window count.
    expect(attributeProfile(profile, { fromUs: 0, toUs: 200 }).samples).toBe(3);
  });

  it('takes wall time the process did not spend on CPU (fsync) out of the SQLite share', () => {
    const a = attributeProfile(profile);
    const cpu = cpuShares(a, 0.6); // 0.8 ms of samples, 0.6 ms of CPU: 0.2 ms was waiting
    expect(cpu.blockedMs).toBeCloseTo(0.2, 6);
    expect(cpu.shares.sqlite).toBeCloseTo(0.1 / 0.6, 6);
    expect(cpu.shares.validation).toBeCloseTo(0.2 / 0.6, 6);
  });
});

describe('bench report', () => {
  const results = {
    mode: 'quick',
    cameras: 200,
    machine: { nproc: 2, cpu_model: 'test cpu', node: 'v20', pinned: true, load_average_at_start: [0, 0, 0] },
    hub: { msgs_per_s: 60_000, broker_cpu_us_per_msg: 15, latency: { p50_ms: 3, p99_ms: 9, max_ms: 12, count: 4000, foreign_cores: 0.6 }, rss_bytes_connected: 120e6, windows: [{}, {}], foreign_cores: 0.5 },
    bare_aedes: { msgs_per_s: 150_000, broker_cpu_us_per_msg: 5, latency: { p50_ms: 0.2, p99_ms: 1, max_ms: 4, count: 4000 }, rss_bytes_connected: 100e6, start_ms: 100 },
    mosquitto: null,
    cold_start: { ready_line_ms: 400, health_ok_ms: 450, runs: [{}] },
    profile: { cameras: 40, msgs_per_s_under_profiler: 40_000, busyMs: 100, cpuMs: 90, blocked_ms: 10, shares: { sealing: 0.2 }, wall_shares: { sealing: 0.18 } },
    throughput_ratio_vs_bare_aedes: 0.4,
    cpu_per_msg_ratio_vs_bare_aedes: 3,
    elapsed_s: 50,
  };

  it('gives PASS or MISS per target without failing, and names a disturbed window', () => {
    const targets = evaluateTargets(results);
    const verdict = Object.fromEntries(targets.map((t: { name: string; met: boolean | null }) => [t.name, t.met]));
    expect(verdict).toEqual({
      throughput_ratio_vs_bare_aedes: false,
      hub_committed_msgs_per_s: true,
      cpu_per_msg_ratio_vs_bare_aedes: true,
      puback_p99_ms_at_2000_per_s: true,
      hub_rss_mb_200_cameras: false,
      cold_start_ms: true,
      sealing_share_of_hub_cpu: false,
    });
    const text = formatReport({ ...results, targets });
    expect(text).toMatch(/throughput_ratio_vs_bare_aedes\s+0\.400\s+>= 0\.6×\s+MISS/);
    expect(text).toMatch(/cold_start_ms\s+450\s+<= 1500 ms\s+PASS/);
    expect(text).toContain('least disturbed of 2');
    expect(text).toMatch(/note: other processes took more than 0\.3 of a core during the saturating window of hub \(committed\)/);
    expect(text).toMatch(/2,000 msgs\/s phase of hub \(committed\) \(0\.60 cores\)/);
    // The timeline index's cost, measured beside the same database without it.
    const withIndex = formatReport({ ...results, targets, ingest: { cameras: 200, saturated: { batch: 1700, cpu_us_per_msg: 8.4 }, trickle: { batch: 8, cpu_us_per_msg: 34 }, timeline_index: { saturated_cost_ratio: 1.059, trickle_cost_ratio: 1.045, saturated_without_cpu_us_per_msg: 7.93, trickle_without_cpu_us_per_msg: 32.5 } } });
    expect(withIndex).toMatch(/index for filtered timelines \(migration 61, events\(type, received_at\)\): CPU per message × 1\.059 at saturation, × 1\.045 at 2,000 msgs\/s/);
  });

  it('launches the hub with the node flags and allocator settings of the service unit', () => {
    const unit = readFileSync(new URL('../systemd/hearth.service', import.meta.url), 'utf8');
    const launch = serviceLaunch(unit);
    const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    for (const flag of launch.nodeFlags) expect(execStart).toContain(flag);
    expect(serviceLaunch('ExecStart=/usr/bin/node --a=1 --b /opt/hearth/bin/hearth.js start\nEnvironment=MALLOC_ARENA_MAX=2\nEnvironment=HEARTH_X=1\n')).toEqual({
      nodeFlags: ['--a=1', '--b'],
      env: { MALLOC_ARENA_MAX: '2' },
    });
    expect(serviceLaunch('ExecStart=/usr/bin/node /opt/hearth/bin/hearth.js start\n')).toEqual({ nodeFlags: [], env: {} });
  });

  it('parses its options and refuses unknown ones', () => {
    expect(parseArgs(['--quick', '--json', 'out.json'])).toMatchObject({ quick: true, json: 'out.json', cameras: 200 });
    expect(() => parseArgs(['--json'])).toThrow(/file name/);
    expect(() => parseArgs(['--cameras', '0'])).toThrow(/cameras/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option/);
  });
});
