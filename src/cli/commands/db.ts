/**
 * `hearth db stats`: how big the database is and what it holds; `hearth db purge`: apply the
 * retention settings now (the daemon also does it on its own timer). Both work beside a running
 * daemon: the purge goes in short transactions with a pause between them, so the daemon's commits
 * get the write lock in between.
 */
import { databaseStats, type DbStats } from '../../store/db-stats.js';
import { Retention, type PurgeReport } from '../../store/retention.js';
import type { CommandSpec } from '../command.js';
import { withVault } from '../services.js';

const MB = 1_000_000;
const mb = (bytes: number | null) => (bytes === null ? 'unknown' : `${(bytes / MB).toFixed(1)} MB`);
const when = (ms: number | null) => (ms === null ? 'none' : new Date(ms).toISOString());

function purgeLine(p: PurgeReport): string {
  return `${when(p.finishedAt)}: ${p.events} events (rolled up first), ${p.measurements} weigh-ins, ${p.ledger} ledger entries removed; ${p.pagesReleased} pages released; ${p.finishedAt - p.startedAt} ms, longest step ${Math.round(p.longestChunkMs)} ms`;
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
  summary: 'delete now what the retention settings no longer keep (events are rolled up per day first)',
  async run(ctx) {
    const config = ctx.config();
    return withVault(ctx, async (vault) => {
      // A short sleep between chunks lets a running daemon take the write lock for its commits.
      const report = await new Retention(vault.db).purge(config.retention, { pause: () => new Promise((resolve) => setTimeout(resolve, 4)) });
      if (ctx.flags.json) ctx.out(JSON.stringify(report));
      else ctx.out(`purged ${purgeLine(report)}`);
      return 0;
    });
  },
};

export const dbCommands: CommandSpec[] = [stats, purge];
