/**
 * Pure measurement helpers for the benchmark: percentiles, CPU accounting from /proc/<pid>/stat,
 * resident memory from /proc/<pid>/status. No timing here, only arithmetic and parsing, so the
 * helpers can be tested on their own.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc CPU fields (sysconf(_SC_CLK_TCK)); 100 on every Linux Node runs on. */
export const CLK_TCK = 100;

/**
 * Nearest-rank percentile (p in 0..100) of an array of numbers. The input is not modified.
 * Nearest rank, not interpolation: the reported p99 is a latency some message actually had.
 */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile out of range: ${p}`);
  const sorted = Float64Array.from(values).sort();
  if (p === 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** p50 / p99 / max / count of latencies in milliseconds. */
export function latencySummary(valuesMs) {
  if (valuesMs.length === 0) return { count: 0, p50_ms: NaN, p99_ms: NaN, max_ms: NaN };
  const sorted = Float64Array.from(valuesMs).sort();
  const at = (p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
  return { count: sorted.length, p50_ms: at(50), p99_ms: at(99), max_ms: sorted[sorted.length - 1] };
}

/**
 * utime and stime (clock ticks) from the text of /proc/<pid>/stat. The command name (field 2) may
 * contain spaces and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text) {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  // After ')' come fields 3.. (state, ppid, ...); utime is field 14 and stime field 15.
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('malformed /proc/<pid>/stat line');
  return { utimeTicks: utime, stimeTicks: stime };
}

/** CPU seconds (user + system) a process has used so far, from its own accounting. */
export function readCpuSeconds(pid) {
  const { utimeTicks, stimeTicks } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (utimeTicks + stimeTicks) / CLK_TCK;
}

/** VmRSS and VmHWM (peak) in bytes from the text of /proc/<pid>/status. */
export function parseProcStatus(text) {
  const field = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rssBytes: field('VmRSS'), peakRssBytes: field('VmHWM') };
}

export function readMemory(pid) {
  return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/**
 * CPU time per message, in microseconds, of a process over a measurement window, from two
 * readings of its CPU seconds.
 */
export function cpuPerMessageUs(cpuBeforeS, cpuAfterS, messages) {
  if (messages <= 0) return NaN;
  return ((cpuAfterS - cpuBeforeS) * 1e6) / messages;
}

/** a / b, NaN when either side is missing, rounded to 3 decimals for the report. */
export function ratio(a, b) {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return NaN;
  return Math.round((a / b) * 1000) / 1000;
}

/**
 * Busy and total clock ticks of the whole machine from the text of /proc/stat (its "cpu" line),
 * so a run can tell how much CPU other processes took while it measured.
 */
export function parseMachineStat(text) {
  const line = /^cpu\s+(.*)$/m.exec(text);
  if (!line) throw new Error('no cpu line in /proc/stat');
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = line[1].trim().split(/\s+/).map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busyTicks: busy, totalTicks: busy + idle + iowait };
}

export function readMachineBusySeconds() {
  return parseMachineStat(readFileSync('/proc/stat', 'utf8')).busyTicks / CLK_TCK;
}

/**
 * Cores' worth of CPU that processes other than the measured ones used during a window: the
 * machine's busy time minus the measured processes' CPU time, per second of the window.
 */
export function foreignCoreShare(machineBusyS, measuredCpuS, seconds) {
  if (!(seconds > 0)) return NaN;
  return Math.max(0, (machineBusyS - measuredCpuS) / seconds);
}
