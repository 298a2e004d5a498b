/**
 * Attributes a V8 .cpuprofile (node --cpu-prof) to the parts of the hub's ingest path. Each sample
 * is classified by walking its call stack from the leaf up to the first frame whose source says
 * what it is: the camera protocol (validation), the sealer or libsodium (sealing), better-sqlite3
 * (SQLite: its native statement calls show as frames without a URL called from our store code or
 * from better-sqlite3's own wrappers), aedes and mqtt-packet (MQTT), and so on.
 */

export const CATEGORIES = ['validation', 'sealing', 'sqlite', 'store_glue', 'broker_glue', 'mqtt', 'node_io', 'gc', 'other'];

/** Native better-sqlite3 statement/database methods as they appear in V8 profiles. */
const SQLITE_NATIVE = new Set(['run', 'get', 'all', 'iterate', 'exec', 'pluck', 'prepare', 'pragma']);

/** Classifies one frame; undefined when the frame alone does not tell (e.g. a builtin). */
function classifyFrame(frame, parent) {
  const url = frame.callFrame.url;
  const name = frame.callFrame.functionName;
  if (url === '') {
    if (name === '(garbage collector)') return 'gc';
    if (name === '(program)' || name === '(root)') return 'other';
    const parentUrl = parent?.callFrame.url ?? '';
    if (SQLITE_NATIVE.has(name) && /better-sqlite3|\/store\/|\/devices\/|\/hub\//.test(parentUrl)) return 'sqlite';
    return undefined;
  }
  if (/\/crypto\/sealer\.|libsodium/.test(url)) return 'sealing';
  if (/\/devices\/camera\/protocol\./.test(url)) return 'validation';
  if (/better-sqlite3/.test(url)) return 'sqlite';
  if (/\/devices\/camera\/store\.|\/store\/group-commit\.|\/store\/counters\.|\/hub\/hub\./.test(url)) return 'store_glue';
  if (/\/broker\/|\/crypto\/password\./.test(url)) return 'broker_glue';
  if (/node_modules\/(aedes|mqtt-packet|mqemitter|aedes-packet|aedes-persistence|bl|fastfall|fastparallel|fastseries|reusify|retimer|hyperid|end-of-stream|process-nextick-args|readable-stream)\//.test(url)) return 'mqtt';
  if (url.startsWith('node:')) return 'node_io';
  return undefined;
}

/**
 * Shares (0..1) of the non-idle profile time per category, optionally only for samples whose
 * timestamp (µs, the profile's monotonic clock) falls within [fromUs, toUs].
 */
export function attributeProfile(profile, window = {}) {
  const byId = new Map();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);

  const memo = new Map();
  const categoryOf = (id) => {
    const cached = memo.get(id);
    if (cached) return cached;
    let node = byId.get(id);
    let category = 'other';
    while (node) {
      if (node.callFrame.functionName === '(idle)') {
        category = 'idle';
        break;
      }
      const parent = parentOf.get(node.id);
      const c = classifyFrame(node, parent);
      if (c) {
        category = c;
        break;
      }
      node = parent;
    }
    memo.set(id, category);
    return category;
  };

  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const timeUs = { idle: 0 };
  for (const c of CATEGORIES) timeUs[c] = 0;
  let t = profile.startTime;
  let counted = 0;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    if (window.fromUs !== undefined && t < window.fromUs) continue;
    if (window.toUs !== undefined && t > window.toUs) continue;
    // A sample stands for the time until the next one.
    const weight = deltas[i + 1] ?? deltas[i] ?? 0;
    timeUs[categoryOf(samples[i])] += weight;
    counted++;
  }
  const busyUs = CATEGORIES.reduce((sum, c) => sum + timeUs[c], 0);
  const shares = {};
  for (const c of CATEGORIES) shares[c] = busyUs > 0 ? timeUs[c] / busyUs : NaN;
  return { samples: counted, busyMs: busyUs / 1000, idleMs: timeUs.idle / 1000, shares };
}

/**
 * V8's profiler samples wall-clock time: while the hub's thread waits in fsync (SQLite commits with
 * synchronous=FULL) the samples land on the SQLite frames although no CPU is used. Given the CPU
 * time the process really used in the window (from /proc), the difference between the profile's
 * busy time and that CPU time is taken to be such waiting and removed from the SQLite part, so the
 * shares returned are shares of CPU. The waiting is reported on its own.
 */
export function cpuShares(attributed, cpuMs) {
  const busy = attributed.busyMs;
  const blockedMs = Math.max(0, busy - cpuMs);
  const timeMs = {};
  for (const c of CATEGORIES) timeMs[c] = (attributed.shares[c] || 0) * busy;
  timeMs.sqlite = Math.max(0, timeMs.sqlite - blockedMs);
  const total = CATEGORIES.reduce((sum, c) => sum + timeMs[c], 0);
  const shares = {};
  for (const c of CATEGORIES) shares[c] = total > 0 ? timeMs[c] / total : NaN;
  return { shares, blockedMs, blockedShareOfBusy: busy > 0 ? blockedMs / busy : NaN };
}
