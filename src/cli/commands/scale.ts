/**
 * `hearth scale ...`, `hearth member ...` and `hearth device add scale`: decode a pasted capture,
 * enrol scales, manage household members and look at (and resolve) weigh-ins.
 */
import { decodeCapture } from '../../devices/scale/decoders/index.js';
import { isScaleFormat, parseHex, SCALE_FORMATS, type DecodeResult } from '../../devices/scale/measurement.js';
import { MEASUREMENT_ID_PATTERN, ScaleStore, type StoredMeasurement } from '../../devices/scale/store.js';
import { MemberExistsError, memberNameProblem, MemberStore } from '../../members/store.js';
import { UsageError, type CommandContext, type CommandSpec } from '../command.js';
import { withServices, withVault } from '../services.js';

const decode: CommandSpec = {
  name: 'scale decode',
  usage: `--format <${SCALE_FORMATS.join('|')}> --hex <payload>[,<payload>...] [--json]`,
  summary: 'decode a captured scale payload (several comma-separated for a split 0x2A9C measurement)',
  async run(ctx) {
    const format = ctx.flags.format;
    if (typeof format !== 'string' || !isScaleFormat(format)) throw new UsageError(`--format must be one of ${SCALE_FORMATS.join(', ')}`);
    const hexArg = ctx.flags.hex;
    if (typeof hexArg !== 'string' || hexArg.trim() === '') throw new UsageError('--hex needs the captured payload in hexadecimal');
    const parts = hexArg.split(',');
    if (parts.length > 16) throw new UsageError('at most 16 payloads at once');
    const frames = parts.map((p, i) => {
      const bytes = parseHex(p);
      if (!bytes) throw new UsageError(`payload ${i + 1} is not hexadecimal (or is longer than 512 bytes)`);
      return bytes;
    });
    const results = decodeCapture(format, frames);
    if (ctx.flags.json) ctx.out(JSON.stringify(results.length === 1 ? results[0] : results));
    else results.forEach((r, i) => printResult(ctx, r, results.length > 1 ? `result ${i + 1}: ` : ''));
    return results.every((r) => r.ok) ? 0 : 1;
  },
};

function printResult(ctx: CommandContext, r: DecodeResult, prefix: string): void {
  if (!r.ok) {
    ctx.out(`${prefix}rejected (${r.code}): ${r.reason}`);
    if (r.partial) for (const [k, v] of Object.entries(r.partial)) ctx.out(`  ${k}: ${String(v)}`);
    return;
  }
  ctx.out(`${prefix}measurement`);
  for (const [k, v] of Object.entries(r.measurement)) if (v !== null) ctx.out(`  ${k}: ${String(v)}`);
}

const memberAdd: CommandSpec = {
  name: 'member add',
  usage: '<name> [--json]',
  summary: 'add a household member (the name is stored sealed)',
  async run(ctx) {
    const name = ctx.args.join(' ');
    const problem = memberNameProblem(name);
    if (problem) throw new UsageError(problem);
    return withServices(ctx, ({ members }) => {
      try {
        const member = members.add(name);
        if (ctx.flags.json) ctx.out(JSON.stringify({ id: member.id }));
        else ctx.out(`member added: ${member.id}`);
        return 0;
      } catch (err) {
        if (err instanceof MemberExistsError) throw new UsageError(err.message, 1);
        throw err;
      }
    });
  },
};

const memberList: CommandSpec = {
  name: 'member list',
  usage: '[--json]',
  summary: 'list household members',
  async run(ctx) {
    return withVault(ctx, (vault) => {
      const members = new MemberStore(vault.db, vault.sealer).list();
      if (ctx.flags.json) ctx.out(JSON.stringify(members));
      else if (members.length === 0) ctx.out('no members yet; add one with `hearth member add <name>`');
      else for (const m of members) ctx.out(`${m.id}  ${m.name}`);
      return 0;
    });
  },
};

const memberHistory: CommandSpec = {
  name: 'member history',
  usage: '<name> [--json]',
  summary: "a member's weigh-ins, decrypted, newest first",
  async run(ctx) {
    const name = ctx.args.join(' ');
    if (memberNameProblem(name)) throw new UsageError('give the member name');
    return withVault(ctx, (vault) => {
      const member = new MemberStore(vault.db, vault.sealer).findByName(name);
      if (!member) throw new UsageError('no member with that name', 1);
      const rows = new ScaleStore(vault.db, vault.sealer).history(member.id).map(view);
      if (ctx.flags.json) ctx.out(JSON.stringify({ member: { id: member.id, name: member.name }, measurements: rows }));
      else if (rows.length === 0) ctx.out('no weigh-ins yet');
      else for (const r of rows) ctx.out(`${r.measuredAt}  ${r.weightKg ?? '-'} kg${r.bodyFatPercent !== null ? `  ${r.bodyFatPercent} % fat` : ''}  (${r.assignment})`);
      return 0;
    });
  },
};

const measurements: CommandSpec = {
  name: 'scale measurements',
  usage: '[--unassigned] [--limit N] [--json]',
  summary: 'recent weigh-ins with their members, decrypted',
  booleanFlags: ['unassigned'],
  async run(ctx) {
    const limit = ctx.flags.limit === undefined ? 50 : Number(ctx.flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit must be a whole number from 1 to 10000');
    return withVault(ctx, (vault) => {
      const names = new Map(new MemberStore(vault.db, vault.sealer).list().map((m) => [m.id, m.name]));
      const rows = new ScaleStore(vault.db, vault.sealer)
        .list({ unassignedOnly: ctx.flags.unassigned === true, limit })
        .map((m) => ({ ...view(m), member: m.memberId ? (names.get(m.memberId) ?? null) : null }));
      if (ctx.flags.json) ctx.out(JSON.stringify(rows));
      else if (rows.length === 0) ctx.out('no weigh-ins');
      else for (const r of rows) ctx.out(`${r.id}  ${r.measuredAt}  ${r.weightKg ?? '-'} kg  ${r.member ?? '(unassigned)'}`);
      return 0;
    });
  },
};

const assign: CommandSpec = {
  name: 'scale assign',
  usage: '<measurement-id> <member name> | <measurement-id> --none',
  summary: 'assign a weigh-in to a member (or unassign it)',
  booleanFlags: ['none'],
  async run(ctx) {
    const [id, ...nameWords] = ctx.args;
    if (!id || !MEASUREMENT_ID_PATTERN.test(id)) throw new UsageError('give a measurement id (wi-...) first');
    const name = nameWords.join(' ');
    if (ctx.flags.none !== true && memberNameProblem(name)) throw new UsageError('give the member name, or --none');
    return withServices(ctx, ({ members }) => {
      let memberId: string | null = null;
      if (ctx.flags.none !== true) {
        const member = members.store.findByName(name);
        if (!member) throw new UsageError('no member with that name', 1);
        memberId = member.id;
      }
      if (members.assignWeighIn(id, memberId) !== 'ok') throw new UsageError(`no weigh-in with id ${id}`, 1);
      ctx.out(memberId ? `assigned ${id}` : `unassigned ${id}`);
      return 0;
    });
  },
};

function view(m: StoredMeasurement) {
  return { id: m.id, deviceId: m.deviceId, assignment: m.assignment, measuredAt: new Date(m.measuredAt).toISOString(), ...m.measurement };
}

export const scaleCommands: CommandSpec[] = [decode, memberAdd, memberList, memberHistory, measurements, assign];
