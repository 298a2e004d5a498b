/**
 * The CLI's command table entries. Each concern contributes its commands from
 * src/cli/commands/<concern>.ts; src/cli/main.ts registers them and dispatches by the longest
 * matching command name (e.g. "device add" before "device").
 */
import type { HearthConfig } from '../config/config.js';
import type { Progress } from './progress.js';

export type Flags = Record<string, string | boolean | undefined>;

export interface CommandContext {
  /** Positional arguments after the command name. */
  args: string[];
  flags: Flags;
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** A progress indicator on stderr (a bar on a terminal, a line per tenth otherwise). */
  progress: Progress;
  /** Builds the validated configuration from flags, env and the data dir's hearth.json. */
  config(): HearthConfig;
}

export interface CommandSpec {
  /** One or more words, e.g. "device add". */
  name: string;
  /**
   * Shown in help, and the declaration of what the command takes: `<arg>` placeholders allow
   * arguments; `--flag <value>` or `--flag X` takes a value, a bare `--flag` is a switch.
   */
  usage: string;
  summary: string;
  /** Switches beyond those the usage line shows (rarely needed). */
  booleanFlags?: string[];
  run(ctx: CommandContext): Promise<number>;
}

/** An error whose message is meant for the user as is; main prints it and exits non-zero. */
export class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
    this.name = 'UsageError';
  }
}
