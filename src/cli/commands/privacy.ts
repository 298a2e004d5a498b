/**
 * `hearth privacy pause|resume|status`: the software privacy switch. Sets a persistent flag that
 * the running daemon notices within a second (no restart); while paused, nothing goes upstream
 * and reports keep queueing. Works on hubs without a hardware switch. Needs no key: the flag is
 * not personal data.
 */
import { join } from 'node:path';
import { DB_FILE_NAME, openDatabase, type Db } from '../../store/database.js';
import { readPrivacyFlag, writePrivacyFlag } from '../../uplink/privacy-flag.js';
import { runningDaemonPid } from '../../hub/pid-lock.js';
import { UsageError, type CommandContext, type CommandSpec } from '../command.js';

function withDb<T>(ctx: CommandContext, fn: (db: Db, dataDir: string) => T): T {
  if (ctx.args.length > 0) throw new UsageError('takes no arguments');
  const { dataDir } = ctx.config();
  const db = openDatabase(join(dataDir, DB_FILE_NAME), { mustExist: true });
  try {
    return fn(db, dataDir);
  } finally {
    db.close();
  }
}

function setFlag(paused: boolean): CommandSpec['run'] {
  return async (ctx) =>
    withDb(ctx, (db, dataDir) => {
      const before = readPrivacyFlag(db);
      writePrivacyFlag(db, paused);
      const daemon = runningDaemonPid(dataDir) !== undefined;
      if (ctx.flags.json) ctx.out(JSON.stringify({ paused, changed: before !== paused, daemonRunning: daemon }));
      else {
        const word = paused ? 'paused' : 'resumed';
        ctx.out(before === paused ? `upstream was already ${word}` : `upstream ${word}${daemon ? ' (the running hub applies it within a second)' : ''}`);
        if (!paused) ctx.out('note: a hardware privacy switch that is on still keeps upstream paused');
      }
      return 0;
    });
}

const pause: CommandSpec = {
  name: 'privacy pause',
  usage: '[--json]',
  summary: 'stop sending anything upstream (reports keep queueing) until `hearth privacy resume`',
  run: setFlag(true),
};

const resume: CommandSpec = {
  name: 'privacy resume',
  usage: '[--json]',
  summary: 'allow consented, noised reports upstream again',
  run: setFlag(false),
};

const status: CommandSpec = {
  name: 'privacy status',
  usage: '[--json]',
  summary: 'show whether upstream is paused from the command line',
  async run(ctx) {
    return withDb(ctx, (db, dataDir) => {
      const paused = readPrivacyFlag(db);
      const daemon = runningDaemonPid(dataDir) !== undefined;
      if (ctx.flags.json) ctx.out(JSON.stringify({ pausedByCommand: paused, daemonRunning: daemon }));
      else {
        ctx.out(paused ? 'upstream is paused (hearth privacy pause)' : 'upstream is not paused from the command line');
        ctx.out('a hardware privacy switch, if fitted, is read by the running hub; see its web page or log');
      }
      return 0;
    });
  },
};

export const privacyCommands: CommandSpec[] = [pause, resume, status];
