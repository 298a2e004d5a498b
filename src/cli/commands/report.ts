/**
 * `hearth report now|pubkey|queue`: close the current report window immediately, print the key
 * that signs reports (for registering the hub with the collector) and list what waits to be sent.
 * `report pause|resume` are other names for `hearth privacy pause|resume`.
 */
import { publicKeyBase64 } from '../../uplink/identity.js';
import { Outbox } from '../../uplink/outbox.js';
import { readPrivacyFlag } from '../../uplink/privacy-flag.js';
import { privacyCommands } from './privacy.js';
import { Reporter } from '../../uplink/reporter.js';
import { silentLogger } from '../../log/logger.js';
import type { CommandSpec } from '../command.js';
import { withVault } from '../services.js';

const now: CommandSpec = {
  name: 'report now',
  usage: '[--json]',
  summary: 'close the current report window now and queue its reports (a running hub sends them)',
  async run(ctx) {
    const config = ctx.config();
    return withVault(ctx, (vault) => {
      const reporter = new Reporter({ db: vault.db, sealer: vault.sealer, sodium: vault.sodium, config: config.uplink, logger: silentLogger });
      const closed = reporter.closeWindow(Date.now());
      if (ctx.flags.json) {
        ctx.out(JSON.stringify(closed ?? null));
        return 0;
      }
      if (!closed) {
        ctx.out('the open window is less than a second old (it was closed a moment ago); nothing to do');
        return 0;
      }
      ctx.out(`window ${closed.start === 0 ? 'start' : new Date(closed.start).toISOString()} – ${new Date(closed.end).toISOString()} closed`);
      for (const o of closed.outcomes) ctx.out(`  ${o.category.padEnd(14)} ${o.status === 'queued' ? `queued report ${o.reportId}` : o.status}`);
      return 0;
    });
  },
};

const pubkey: CommandSpec = {
  name: 'report pubkey',
  usage: '[--json]',
  summary: "print the hub's pseudonym and the Ed25519 public key its reports are signed with",
  async run(ctx) {
    const config = ctx.config();
    return withVault(ctx, (vault) => {
      const reporter = new Reporter({ db: vault.db, sealer: vault.sealer, sodium: vault.sodium, config: config.uplink, logger: silentLogger });
      const key = publicKeyBase64(reporter.keys);
      if (ctx.flags.json) ctx.out(JSON.stringify({ pseudonym: reporter.pseudonym, publicKey: key, algorithm: 'ed25519' }));
      else {
        ctx.out(`pseudonym:  ${reporter.pseudonym}`);
        ctx.out(`public key: ${key} (Ed25519, base64)`);
      }
      return 0;
    });
  },
};

const queue: CommandSpec = {
  name: 'report queue',
  usage: '[--json]',
  summary: 'list the reports waiting in the outbox for the upstream broker',
  async run(ctx) {
    return withVault(ctx, (vault) => {
      const entries = new Outbox(vault.db).list().map((e) => ({
        id: e.id,
        category: e.category,
        queuedAt: new Date(e.createdAt).toISOString(),
        attempts: e.attempts,
        report: JSON.parse(e.payload.toString('utf8')) as unknown,
      }));
      const paused = readPrivacyFlag(vault.db);
      if (ctx.flags.json) ctx.out(JSON.stringify(entries));
      else if (entries.length === 0) ctx.out(`the outbox is empty${paused ? ' (upstream paused)' : ''}`);
      else {
        if (paused) ctx.out('upstream paused (`hearth privacy resume` lets these go)');
        for (const e of entries) ctx.out(`${e.queuedAt}  ${e.category.padEnd(14)} ${e.id}  attempts=${e.attempts}`);
      }
      return 0;
    });
  },
};

/** `hearth report pause|resume`: other names for `hearth privacy pause|resume`, which they run. */
function pauseAlias(privacy: CommandSpec): CommandSpec {
  const word = privacy.name.split(' ')[1]!;
  return {
    ...privacy,
    name: `report ${word}`,
    summary: `another name for \`hearth privacy ${word}\``,
    async run(ctx) {
      if (!ctx.flags.json) ctx.err(`note: \`hearth report ${word}\` is another name for \`hearth privacy ${word}\``);
      return privacy.run(ctx);
    },
  };
}

export const reportCommands: CommandSpec[] = [now, pubkey, queue, ...privacyCommands.filter((c) => c.name !== 'privacy status').map(pauseAlias)];
