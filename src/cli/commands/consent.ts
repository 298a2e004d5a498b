/**
 * `hearth consent show|set`: the household decides, per category, what may be aggregated for
 * upstream. Everything is off until turned on here (or in the UI).
 */
import { ConsentStore } from '../../consent/consent.js';
import { CATEGORIES, isCategory, METRICS } from '../../metrics/categories.js';
import { questionsOf, type QuestionSpec } from '../../metrics/ldp/questions.js';
import { UsageError, type CommandSpec } from '../command.js';
import { withVault } from './devices.js';

/** How each kind of question is answered (docs/privacy.md). */
const MECHANISM_OF: Record<QuestionSpec['kind'], string> = { 'yes-no': 'randomized response', mean: '1BitMean', histogram: 'dBitFlip' };

const show: CommandSpec = {
  name: 'consent show',
  usage: '[--json]',
  summary: 'show which upstream categories the household has consented to, and the change history',
  async run(ctx) {
    return withVault(ctx, (vault) => {
      const store = new ConsentStore(vault.db);
      const states = store.all();
      if (ctx.flags.json) {
        const categories = states.map((s) => ({ ...s, questions: questionsOf(s.category).map((q) => ({ name: q.name, mechanism: MECHANISM_OF[q.kind], stable: q.stable })) }));
        ctx.out(JSON.stringify({ categories, history: store.history() }));
        return 0;
      }
      for (const s of states) {
        const since = s.since === null ? 'never set (off by default)' : `since ${new Date(s.since).toISOString()}`;
        ctx.out(`${s.category.padEnd(14)} ${s.enabled ? 'on ' : 'off'}  ${since}`);
        ctx.out(`${''.padEnd(14)}      ${METRICS[s.category].map((m) => m.name).join(', ')}`);
        ctx.out(`${''.padEnd(14)}      asked as: ${questionsOf(s.category).map((q) => `${q.name} (${MECHANISM_OF[q.kind]}${q.stable ? ', memoized' : ''})`).join(', ')}`);
      }
      return 0;
    });
  },
};

const set: CommandSpec = {
  name: 'consent set',
  usage: `<${CATEGORIES.join('|')}> <on|off>`,
  summary: 'turn an upstream category on or off (off also drops its queued reports)',
  async run(ctx) {
    const [category, value, ...rest] = ctx.args;
    if (category === undefined || value === undefined || rest.length > 0) throw new UsageError('expected a category and on or off');
    if (!isCategory(category)) throw new UsageError(`unknown category "${category.slice(0, 40)}"; one of ${CATEGORIES.join(', ')}`);
    if (value !== 'on' && value !== 'off') throw new UsageError('the setting must be on or off');
    return withVault(ctx, (vault) => {
      const result = new ConsentStore(vault.db).set(category, value === 'on', Date.now());
      if (ctx.flags.json) ctx.out(JSON.stringify({ category, enabled: value === 'on', ...result }));
      else if (!result.changed) ctx.out(`${category} was already ${value}`);
      else ctx.out(`${category} is now ${value}${result.droppedReports > 0 ? `; ${result.droppedReports} queued report(s) dropped` : ''}`);
      return 0;
    });
  },
};

export const consentCommands: CommandSpec[] = [show, set];
