/**
 * `hearth` command-line entry: parses argv strictly (node:util parseArgs: an unknown flag or a
 * misplaced argument is refused with exit code 2), builds the one config object and runs a
 * command from the table. A command's flags are the ones its usage line names.
 */
// First: must run before any module loads mqtt-packet (see the module).
import '../log/silent-debug.js';
import { readFileSync } from 'node:fs';
import { parseArgs as parseArgv, type ParseArgsConfig } from 'node:util';
import { loadConfig, ConfigError } from '../config/config.js';
import { WebCertificateError } from '../web/security/tls.js';
import { KeyError } from '../crypto/keys.js';
import { StoreError } from '../store/database.js';
import { SealError } from '../crypto/sealer.js';
import { UsageError, type CommandSpec, type Flags } from './command.js';
import { COMMANDS } from './commands/index.js';
import { createProgress } from './progress.js';

type Io = { out: (t: string) => void; err: (t: string) => void; errIsTerminal?: boolean };

/** Flags every command takes. */
const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export async function main(argv: string[], io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), errIsTerminal: process.stderr.isTTY === true }): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.out(helpText());
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === 'version') {
    io.out(`hearth ${packageVersion()}\n`);
    return 0;
  }
  const words = commandWords(argv);
  const spec = matchCommand(words);
  if (!spec) {
    const group = COMMANDS.filter((c) => words.length > 0 && c.name.split(' ').slice(0, words.length).join(' ') === words.join(' '));
    if (group.length > 0) {
      // `hearth device`: a command group without its subcommand says what it has.
      io.out(groupHelp(words.join(' '), group));
      return words.length === 1 && argv.length === 1 ? 0 : 2;
    }
    io.err(`hearth: unknown command "${words.slice(0, 2).join(' ').slice(0, 60)}"; run \`hearth help\` for the list\n`);
    return 2;
  }
  try {
    const { args, flags } = parseArgs(argv, spec);
    if (flags.help) {
      io.out(`usage: hearth ${spec.name} ${spec.usage}\n  ${spec.summary}\n`);
      return 0;
    }
    return await spec.run({
      args,
      flags,
      env: process.env,
      out: (t) => io.out(t.endsWith('\n') ? t : t + '\n'),
      err: (t) => io.err(t.endsWith('\n') ? t : t + '\n'),
      progress: createProgress(io.err, io.errIsTerminal === true),
      config: () => loadConfig({ flags, env: process.env }),
    });
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`hearth ${spec.name}: ${err.message}\nusage: hearth ${spec.name} ${spec.usage}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError || err instanceof KeyError || err instanceof StoreError || err instanceof SealError || err instanceof WebCertificateError) {
      io.err(`hearth: ${err.message}\n`);
      return 1;
    }
    // Unknown failures: the message may come from a library, so print only its class and code.
    const e = err as { name?: string; code?: string; stack?: string };
    io.err(`hearth: unexpected failure (${e.name ?? 'Error'}${e.code ? ' ' + e.code : ''})\n`);
    if (process.env.HEARTH_LOG_LEVEL === 'debug') io.err(`${e.stack ?? ''}\n`);
    else io.err('run again with HEARTH_LOG_LEVEL=debug for details\n');
    return 70;
  }
}

/** The flags a command takes, read from its usage line: `--name <value>`/`--name X` take a value. */
export function commandOptions(spec: CommandSpec): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = { ...GLOBAL_OPTIONS };
  for (const m of spec.usage.matchAll(/--([a-z][a-z-]*)(\s+(<[^>]*>|[A-Z][A-Z_]*))?/g)) {
    const name = m[1]!;
    if (name in GLOBAL_OPTIONS) continue;
    options[name] = { type: m[2] ? 'string' : 'boolean' };
  }
  for (const name of spec.booleanFlags ?? []) options[name] = { type: 'boolean' };
  return options;
}

/** Every flag any command takes, to find the command words wherever flags stand. */
function allOptions(): NonNullable<ParseArgsConfig['options']> {
  return Object.assign({}, ...COMMANDS.map(commandOptions)) as NonNullable<ParseArgsConfig['options']>;
}

/** The leading words of argv that are not flags or flag values (a flag may stand before the command). */
function commandWords(argv: string[]): string[] {
  const { positionals } = parseArgv({ args: argv, options: allOptions(), strict: false, allowPositionals: true });
  return positionals;
}

function matchCommand(words: string[]): CommandSpec | undefined {
  let best: CommandSpec | undefined;
  for (const c of COMMANDS) {
    const parts = c.name.split(' ');
    if (parts.every((p, i) => words[i] === p) && (!best || parts.length > best.name.split(' ').length)) best = c;
  }
  return best;
}

/** Strict parse for one command: unknown flags, missing values and stray arguments are refused. */
export function parseArgs(argv: string[], spec: CommandSpec): { args: string[]; flags: Flags } {
  let parsed;
  try {
    parsed = parseArgv({ args: argv, options: commandOptions(spec), strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err));
  }
  const nameWords = spec.name.split(' ');
  if (!nameWords.every((w, i) => parsed.positionals[i] === w)) throw new UsageError('the command words must come first');
  const args = parsed.positionals.slice(nameWords.length);
  if (args.length > 0 && !spec.usage.includes('<')) throw new UsageError(`takes no arguments (got "${args[0]!.slice(0, 40)}")`);
  const flags: Flags = {};
  for (const [k, v] of Object.entries(parsed.values)) flags[k] = Array.isArray(v) ? String(v[v.length - 1]) : v;
  return { args, flags };
}

/** parseArgs' errors name the flag; said in our words, without echoing long input. */
function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const flag = /'(-{1,2}[^' ]{1,40})/.exec(e.message ?? '')?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${flag ?? ''}`.trim();
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag ? `${flag} needs a value (or takes none)` : 'an option is missing its value';
    default:
      return 'the arguments could not be read';
  }
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

function groupHelp(group: string, commands: CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = [`usage: hearth ${group} <subcommand> [options]`, '', 'subcommands:'];
  for (const c of [...commands].sort((a, b) => a.name.localeCompare(b.name))) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  return lines.join('\n') + '\n';
}

function helpText(): string {
  const lines = ['usage: hearth <command> [options]', '', 'commands:'];
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  for (const c of [...COMMANDS].sort((a, b) => a.name.localeCompare(b.name))) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  lines.push('', 'common options: --data-dir DIR (or HEARTH_DATA_DIR), --log-level LEVEL, --json, --help, --version');
  return lines.join('\n') + '\n';
}
