/**
 * `hearth db stats`: how big the database is and what it holds; `hearth db purge`: apply the
 * retention settings now (the daemon also does it on its own timer). Beside a running daemon the
 * purge is asked of the daemon (one tiny write it sees through its database watcher) and this
 * command waits for its report: a second writer would make the daemon's commits wait for the
 * write lock, and with them the cameras. Without a daemon it purges here.
 */
import { runningDaemonPid } from '../../hub/pid-lock.js';
import { databaseStats, type DbStats } from '../../store/db-stats.js';
import { Retention, type PurgeReport } from '../../store/retention.js';
import type { CommandSpec } from '../command.js';
import { withVault } from '../services.js';

const MB = 1_000_000;
const mb = (bytes: number | null) => (bytes === null ? 'unknown' : `${(bytes / MB).toFixed(1)} MB`);
const when = (ms: number | null) => (ms === null ? 'none' : new Date(ms).toISOString());

/** How long `hearth db purge` waits for a running daemon's purge before giving up waiting. */
const DAEMON_PURGE_WAIT_MS = 30 * 60_000;
const POLL_MS = 250;

function purgeLine(p: PurgeReport): string {
  return `${when(p.finishedAt)}: ${p.events} events (their daily counts stay), ${p.measurements} weigh-ins, ${p.ledger} ledger entries removed; ${p.pagesReleased} pages released; ${p.finishedAt - p.startedAt} ms, longest step ${Math.round(p.longestChunkMs)} ms${p.busyMs === undefined ? '' : `, ${Math.round(p.busyMs)} ms on the event loop in all`}`;
}

function statsText(s: DbStats, lowDiskMb: number): string[] {
  const lines = [
    `database: ${mb(s.databaseBytes)} (${s.freePages} free pages of ${s.pageSize} bytes), WAL: ${mb(s.walBytes)}`,
    `free space: ${mb(s.diskFreeBytes)}${lowDiskMb > 0 && s.diskFreeBytes !== null && s.diskFreeBytes < lowDiskMb * MB ? ` — LOW (under ${lowDiskMb} MB)` : ''}`,
    `oldest event: ${when(s.oldestEventAt)}; ${s.bytesPerEvent === null ? 'no events' : `${s.bytesPerEvent} bytes per event`}`,
    `last purge: ${s.lastPurge ? purgeLine(s.lastPurge) : 'never'}`,
    'rows:',
  ];
  const width = Math.max(...Object.keys(s.rows).map((k) => k.length));
  for (const [table, n] of Object.entries(s.rows).sort(([a], [b]) => a.localeCompare(b))) lines.push(`  ${table.padEnd(width)}  ${n}`);
  return lines;
}

const stats: CommandSpec = {
  name: 'db stats',
  usage: '[--json]',
  summary: 'size of the database and its WAL, rows per table, oldest event, bytes per event, the last purge',
  async run(ctx) {
    const config = ctx.config();
    return withVault(ctx, (vault) => {
      const s = databaseStats(vault.db, config.dataDir);
      if (ctx.flags.json) ctx.out(JSON.stringify({ ...s, retention: config.retention }));
      else {
        for (const line of statsText(s, config.retention.lowDiskMb)) ctx.out(line);
        const r = config.retention;
        ctx.out(`retention: events ${r.eventDays} days, weigh-ins ${r.measurementDays === 0 ? 'for ever' : `${r.measurementDays} days`}, ledger ${r.ledgerDays === 0 ? 'for ever' : `${r.ledgerDays} days`}`);
      }
      return 0;
    });
  },
};

const purge: CommandSpec = {
  name: 'db purge',
  usage: '[--json]',
  summary: 'delete now what the retention settings no longer keep (a running hub does it when asked; daily counts stay)',
  async run(ctx) {
    const config = ctx.config();
    return withVault(ctx, async (vault) => {
      const retention = new Retention(vault.db);
      let report: PurgeReport | null;
      if (runningDaemonPid(config.dataDir) !== undefined) {
        report = await purgeByDaemon(retention, (line) => ctx.err(line));
        if (!report) {
          ctx.err('the running hub has not finished the purge yet; `hearth db stats` shows the last purge once it has');
          return 1;
        }
      } else {
        report = await retention.purge(config.retention, { pause: () => new Promise((resolve) => setTimeout(resolve, 4)) });
      }
      if (ctx.flags.json) ctx.out(JSON.stringify(report));
      else ctx.out(`purged ${purgeLine(report)}`);
      return 0;
    });
  },
};

/** Asks the running daemon to purge and waits for its report (null after DAEMON_PURGE_WAIT_MS), saying how long it has waited. */
async function purgeByDaemon(retention: Retention, progress: (line: string) => void): Promise<PurgeReport | null> {
  const requestedAt = retention.requestPurge();
  progress('the hub is running: asked it to purge (it keeps the cameras going meanwhile)…');
  let said = Date.now();
  while (Date.now() - requestedAt < DAEMON_PURGE_WAIT_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const last = retention.lastPurge();
    if (last && last.startedAt >= requestedAt) return last;
    if (Date.now() - said >= 5_000) {
      said = Date.now();
      progress(`  still purging, ${Math.round((said - requestedAt) / 1000)} s`);
    }
  }
  return null;
}

export const dbCommands: CommandSpec[] = [stats, purge];
