/**
 * `hearth backup <file>` (online, while the daemon runs) and `hearth restore <file>` (daemon
 * stopped). See src/store/backup.ts and docs/install.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { acquirePidLock, AlreadyRunningError } from '../../hub/pid-lock.js';
import { DB_FILE_NAME } from '../../store/database.js';
import { backupDatabase, KEY_FINGERPRINT_SUFFIX, restoreDatabase } from '../../store/backup.js';
import { UsageError, type CommandSpec } from '../command.js';
import { SEALED_SCHEMA } from '../../hub/catalog.js';

function fileArgument(args: string[], command: string): string {
  if (args.length !== 1 || args[0]!.trim() === '') throw new UsageError(`usage: hearth ${command} <file>`);
  return args[0]!;
}

const backup: CommandSpec = {
  name: 'backup',
  usage: '<file> [--force] [--json]',
  summary: "copy the database while the hub runs; the copy stays sealed and holds no key",
  booleanFlags: ['force'],
  async run(ctx) {
    const file = fileArgument(ctx.args, 'backup');
    const config = ctx.config();
    let lastShown = -1;
    const result = await backupDatabase(config.dataDir, file, {
      force: ctx.flags.force === true,
      onProgress: (p) => {
        // Only worth a line when the copy takes several steps (a large database).
        const percent = Math.floor(((p.totalPages - p.remainingPages) / Math.max(1, p.totalPages)) * 100);
        if (p.totalPages > 1024 && percent !== lastShown) {
          lastShown = percent;
          ctx.err(`backup: ${p.remainingPages} of ${p.totalPages} pages remaining`);
        }
      },
    });
    if (ctx.flags.json) ctx.out(JSON.stringify(result));
    else {
      ctx.out(`backup written: ${result.path} (${result.pages} pages, ${result.bytes} bytes, integrity ok)`);
      if (result.keyFingerprint) ctx.out(`  it needs the master key with fingerprint ${result.keyFingerprint} (noted in ${result.path}${KEY_FINGERPRINT_SUFFIX})`);
      ctx.out('Every personal value in it is still sealed and the master key is not in it: keep the key backed up separately;');
      ctx.out('the backup can only be restored with it.');
    }
    return 0;
  },
};

const restore: CommandSpec = {
  name: 'restore',
  usage: '<file> [--json]',
  summary: 'replace the database with a backup (daemon stopped; the backup must open with the current key)',
  async run(ctx) {
    const file = fileArgument(ctx.args, 'restore');
    const config = ctx.config();
    if (!existsSync(config.dataDir)) {
      throw new UsageError(`no data dir at ${config.dataDir}; create it (mode 0700) and put the master key the backup was sealed with in place first`, 1);
    }
    let release: () => void;
    try {
      // Holding the daemon's lock also keeps a daemon from starting halfway through.
      release = acquirePidLock(config.dataDir);
    } catch (err) {
      if (err instanceof AlreadyRunningError) throw new UsageError(`${err.message}; stop it first (e.g. systemctl stop hearth), nothing was replaced`, 1);
      throw err;
    }
    try {
      const result = await restoreDatabase(config.dataDir, file, { env: ctx.env, schema: SEALED_SCHEMA });
      if (ctx.flags.json) ctx.out(JSON.stringify({ restored: true, database: join(config.dataDir, DB_FILE_NAME), ...result }));
      else {
        ctx.out(`restored ${join(config.dataDir, DB_FILE_NAME)} from ${file}`);
        if (result.resealedFrom) {
          ctx.out(`  the backup was sealed with the previous key ${result.resealedFrom.path} (fingerprint ${result.resealedFrom.fingerprint});`);
          ctx.out(`  it is now re-sealed under the current key (fingerprint ${result.keyFingerprint})`);
        }
        if (result.previous) ctx.out(`  the database it replaced is kept as ${result.previous}`);
      }
      return 0;
    } finally {
      release();
    }
  },
};

export const backupCommands: CommandSpec[] = [backup, restore];
