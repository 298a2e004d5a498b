/**
 * The benchmark's targets (docs/benchmark.md) and its text report. Pure: results in, text out.
 * A missed target is reported, never an error: the run's exit code says only whether it ran.
 */

const MB = 1_000_000;

/** Each target with the measured value and whether it was met; `met` is null when not measured. */
export function evaluateTargets(r) {
  const check = (name, value, op, limit, unit) => ({
    name,
    value: Number.isFinite(value) ? value : null,
    target: `${op} ${limit}${unit}`,
    met: Number.isFinite(value) ? (op === '>=' ? value >= limit : value <= limit) : null,
  });
  return [
    check('throughput_ratio_vs_bare_aedes', r.throughput_ratio_vs_bare_aedes, '>=', 0.6, '×'),
    check('hub_committed_msgs_per_s', r.hub?.msgs_per_s, '>=', 50_000, ' msgs/s'),
    check('cpu_per_msg_ratio_vs_bare_aedes', r.cpu_per_msg_ratio_vs_bare_aedes, '<=', 3, '×'),
    check('puback_p99_ms_at_2000_per_s', r.hub?.latency?.p99_ms, '<=', 15, ' ms'),
    check('hub_rss_mb_200_cameras', r.hub?.rss_bytes_connected / MB, '<=', 100, ' MB'),
    check('cold_start_ms', r.cold_start?.health_ok_ms, '<=', 1500, ' ms'),
    check('sealing_share_of_hub_cpu', r.profile?.shares?.sealing, '<=', 0.15, ''),
  ];
}

const fmt = (v, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));
const k = (v) => (Number.isFinite(v) ? `${(v / 1000).toFixed(1)}k` : '—');
const pct = (v) => (Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '—');

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  ')).join('\n');
}

export function formatReport(r) {
  const lines = [];
  const m = r.machine;
  lines.push('');
  lines.push(`hearth bench (${r.mode}) — ${m.nproc} cores, ${m.cpu_model}, node ${m.node}, ${r.cameras} cameras, brokers pinned to core 0, load generator to core 1${m.pinned ? '' : ' (NOT pinned: taskset or a second core missing)'}`);
  lines.push(`load average at start ${m.load_average_at_start.map((x) => x.toFixed(2)).join(' ')} (other work on the machine skews every figure; ratios are against the baseline measured in this run)`);
  if (r.hub_launch && (r.hub_launch.nodeFlags.length > 0 || Object.keys(r.hub_launch.env).length > 0)) {
    lines.push(`hub launched as systemd/hearth.service launches it: node ${r.hub_launch.nodeFlags.join(' ')} bin/hearth.js start${Object.entries(r.hub_launch.env).map(([k, v]) => `, ${k}=${v}`).join('')}`);
  }
  lines.push('');
  const brokers = [
    ['hub (committed)', r.hub],
    ['bare aedes', r.bare_aedes],
    ...(r.mosquitto ? [['mosquitto', r.mosquitto]] : []),
  ];
  const windows = r.hub?.windows?.length ?? 1;
  lines.push(`Saturating QoS 1 load (${fmt(r.hub?.seconds, 1)} s window${windows > 1 ? `, the least disturbed of ${windows}` : ''}; "other procs" is CPU other processes took meanwhile)`);
  lines.push(
    table([
      ['broker', 'msgs/s', '× bare aedes', 'broker µs CPU/msg', '× bare aedes', 'broker core', 'loadgen µs/msg', 'loadgen core', 'other procs', 'limit'],
      ...brokers.map(([name, b]) => [
        name,
        k(b.msgs_per_s),
        fmt(b.msgs_per_s / r.bare_aedes.msgs_per_s, 2),
        fmt(b.broker_cpu_us_per_msg, 2),
        fmt(b.broker_cpu_us_per_msg / r.bare_aedes.broker_cpu_us_per_msg, 2),
        pct(b.broker_core_utilisation),
        fmt(b.loadgen_cpu_us_per_msg, 2),
        pct(b.loadgen_core_utilisation),
        `${fmt(b.foreign_cores, 2)} cores`,
        b.limit,
      ]),
    ]),
  );
  lines.push('');
  const bare = r.bare_aedes ?? {};
  lines.push(`PUBACK latency (ms) at 2,000 msgs/s offered over ${r.cameras} cameras, and resident memory with every camera connected`);
  lines.push(
    table([
      ['broker', 'p50', 'p99', '× bare aedes', 'max', 'acked', 'RSS just connected', 'RSS at 2k/s', '× bare aedes', 'RSS after saturation'],
      ...brokers.map(([name, b]) => [
        name,
        fmt(b.latency?.p50_ms, 2),
        fmt(b.latency?.p99_ms, 2),
        fmt(b.latency?.p99_ms / bare.latency?.p99_ms, 2),
        fmt(b.latency?.max_ms, 2),
        b.latency?.count ?? '—',
        `${fmt(b.rss_bytes_connected_idle / MB, 1)} MB`,
        `${fmt(b.rss_bytes_connected / MB, 1)} MB`,
        fmt(b.rss_bytes_connected / bare.rss_bytes_connected, 2),
        `${fmt(b.rss_bytes_after_saturation / MB, 1)} MB`,
      ]),
    ]),
  );
  lines.push('');
  lines.push(
    `Hub cold start to ready: ${fmt(r.cold_start?.ready_line_ms, 0)} ms to "hearth is running", ${fmt(r.cold_start?.health_ok_ms, 0)} ms to GET /api/health ok (median of ${r.cold_start?.runs?.length}); bare aedes process to listening ${fmt(bare.start_ms, 0)} ms (× ${fmt(r.cold_start_ratio_vs_bare_aedes, 2)})`,
  );
  lines.push('');
  const p = r.profile;
  if (p) {
    lines.push(`Hub CPU by part (--cpu-prof, ${p.cameras} cameras, saturating, ${k(p.msgs_per_s_under_profiler)} msgs/s under the profiler)`);
    lines.push(`  ${fmt(p.busyMs, 0)} ms of samples in the window, ${fmt(p.cpuMs, 0)} ms of CPU: ${fmt(p.blocked_ms, 0)} ms taken as waiting on fsync and removed from sqlite`);
    lines.push(table([['part', 'share of CPU', 'of samples'], ...Object.entries(p.shares).map(([name, s]) => [name, pct(s), pct(p.wall_shares[name])])]));
    lines.push('');
  }
  const c = r.crypto;
  if (c) {
    lines.push(`Crypto, ${c.field_bytes}-byte field: Sealer ${k(c.sealer_seals_per_s)} seals/s, bare libsodium AEAD (caller's nonce) ${k(c.bare_libsodium_seals_per_s)} seals/s (× ${fmt(c.sealer_vs_bare_ratio, 2)}); libsodium randombytes_buf(24) ${k(c.libsodium_randombytes24_per_s)}/s`);
    lines.push('');
  }
  const ing = r.ingest;
  if (ing) {
    lines.push(
      `Ingest path without MQTT (validation, sealed store, commit with synchronous=FULL; ${ing.cameras} cameras): ${fmt(ing.saturated?.cpu_us_per_msg, 2)} µs CPU/msg in batches of ${ing.saturated?.batch} (as at saturation), ${fmt(ing.trickle?.cpu_us_per_msg, 2)} µs in batches of ${ing.trickle?.batch} (as at 2,000 msgs/s)`,
    );
    const ix = ing.timeline_index;
    if (ix) {
      lines.push(
        `  of which the index for filtered timelines (migration 61, events(type, received_at)): CPU per message × ${fmt(ix.saturated_cost_ratio, 3)} at saturation, × ${fmt(ix.trickle_cost_ratio, 3)} at 2,000 msgs/s, against the same database without it (${fmt(ix.saturated_without_cpu_us_per_msg, 2)} / ${fmt(ix.trickle_without_cpu_us_per_msg, 2)} µs)`,
      );
    }
    lines.push('');
  }
  lines.push('Targets (a MISS is reported, not an error)');
  lines.push(table([['target', 'measured', 'goal', ''], ...r.targets.map((t) => [t.name, fmt(t.value, t.value !== null && Math.abs(t.value) < 10 ? 3 : 0), t.target, t.met === null ? 'not measured' : t.met ? 'PASS' : 'MISS'])]));
  const disturbed = brokers.filter(([, b]) => b.foreign_cores > 0.3).map(([name]) => name);
  if (disturbed.length > 0) lines.push(`note: other processes took more than 0.3 of a core during the saturating window of ${disturbed.join(', ')}; throughput there is understated (CPU per message is not)`);
  const late = brokers.filter(([, b]) => b.latency?.foreign_cores > 0.3).map(([name, b]) => `${name} (${fmt(b.latency.foreign_cores, 2)} cores)`);
  if (late.length > 0) lines.push(`note: other processes took more than 0.3 of a core during the 2,000 msgs/s phase of ${late.join(', ')}; latencies there include waiting for the CPU`);
  lines.push('');
  lines.push(`(${r.elapsed_s} s)`);
  lines.push('');
  return lines.join('\n');
}
