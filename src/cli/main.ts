/**
 * `hearth` command-line entry: parses argv, builds the one config object and runs a command.
 */
// First: must run before any module loads mqtt-packet (see the module).
import '../log/silent-debug.js';
import { loadConfig, ConfigError } from '../config/config.js';
import { WebCertificateError } from '../web/security/tls.js';
import { KeyError } from '../crypto/keys.js';
import { StoreError } from '../store/database.js';
import { SealError } from '../crypto/sealer.js';
import { UsageError, type CommandSpec, type Flags } from './command.js';
import { COMMANDS } from './commands/index.js';

export async function main(argv: string[], io = { out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t) }): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.out(helpText());
    return 0;
  }
  const spec = matchCommand(words);
  if (!spec) {
    io.err(`hearth: unknown command "${words.slice(0, 2).join(' ')}"\n\n${helpText()}`);
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

function matchCommand(words: string[]): CommandSpec | undefined {
  let best: CommandSpec | undefined;
  for (const c of COMMANDS) {
    const parts = c.name.split(' ');
    if (parts.every((p, i) => words[i] === p) && (!best || parts.length > best.name.split(' ').length)) best = c;
  }
  return best;
}

export function parseArgs(argv: string[], spec: CommandSpec): { args: string[]; flags: Flags } {
  const nameWords = spec.name.split(' ').length;
  const flags: Flags = {};
  const args: string[] = [];
  const booleans = new Set([...(spec.booleanFlags ?? []), 'json', 'help']);
  let skipped = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) flags[name] = a.slice(eq + 1);
      else if (booleans.has(name)) flags[name] = true;
      else {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
        flags[name] = v;
        i++;
      }
    } else if (skipped < nameWords) skipped++;
    else args.push(a);
  }
  return { args, flags };
}

function helpText(): string {
  const lines = ['usage: hearth <command> [options]', '', 'commands:'];
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  for (const c of [...COMMANDS].sort((a, b) => a.name.localeCompare(b.name))) lines.push(`  ${c.name.padEnd(width)}  ${c.summary}`);
  lines.push('', 'common options: --data-dir DIR (or HEARTH_DATA_DIR), --json, --help');
  return lines.join('\n') + '\n';
}
