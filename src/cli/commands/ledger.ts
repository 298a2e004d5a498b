/**
 * `hearth ledger`: the household's proof of what left the hub: every message ever sent upstream,
 * with its time, topic and exact bytes.
 */
import { PrivacyLedger } from '../../uplink/ledger.js';
import { UsageError, type CommandSpec } from '../command.js';
import { withVault } from '../services.js';

const ledger: CommandSpec = {
  name: 'ledger',
  usage: '[--limit N] [--json]',
  summary: 'print every message that left the hub, newest first, with its exact bytes',
  async run(ctx) {
    const limitRaw = ctx.flags.limit;
    const limit = limitRaw === undefined ? 1000 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) throw new UsageError('--limit must be a whole number from 1 to 1000000');
    return withVault(ctx, (vault) => {
      const entries = new PrivacyLedger(vault.db).list(limit);
      if (ctx.flags.json) {
        ctx.out(
          JSON.stringify(
            entries.map((e) => ({
              seq: e.seq,
              sentAt: new Date(e.sentAt).toISOString(),
              reportId: e.reportId,
              topic: e.topic,
              bytes: e.payload.length,
              payload: e.payload.toString('utf8'),
              payloadBase64: e.payload.toString('base64'),
            })),
          ),
        );
      } else if (entries.length === 0) ctx.out('nothing has ever left this hub');
      else {
        for (const e of entries) {
          ctx.out(`#${e.seq} ${new Date(e.sentAt).toISOString()} ${e.topic} (${e.payload.length} bytes)`);
          ctx.out(`  ${e.payload.toString('utf8')}`);
        }
      }
      return 0;
    });
  },
};

export const ledgerCommands: CommandSpec[] = [ledger];
