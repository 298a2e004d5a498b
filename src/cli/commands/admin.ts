/**
 * `hearth admin set-password`: sets the web UI's admin password. Read from standard input (a pipe,
 * or typed at a terminal with echo off); never from the command line, where it would end up in the
 * shell history and the process list. Only the Argon2id hash is stored; a running hub uses the new
 * password at the next login.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { hashPassword } from '../../crypto/password.js';
import { adminPasswordProblem, removeFirstAdminPasswordFile, writeAdminHash } from '../../web/auth/admin-password.js';
import { UsageError, type CommandSpec } from '../command.js';
import { withVault } from '../services.js';

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo nothing of what is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.includes('new admin password')) process.stderr.write(s);
  };
  const answer = await new Promise<string>((resolve) => rl.question('new admin password: ', resolve));
  rl.close();
  process.stderr.write('\n');
  return answer;
}

const setPassword: CommandSpec = {
  name: 'admin set-password',
  usage: '[--stdin] [--data-dir DIR]  (typed at a prompt, or piped on standard input)',
  booleanFlags: ['stdin'],
  summary: 'set the web UI admin password (read from standard input; only its hash is kept)',
  async run(ctx) {
    const password = await readPassword(ctx.flags.stdin === true);
    const problem = adminPasswordProblem(password);
    if (problem) throw new UsageError(problem, 1);
    return withVault(ctx, (vault) => {
      writeAdminHash(vault.db, hashPassword(vault.sodium, password, 'admin'));
      removeFirstAdminPasswordFile(vault.dataDir);
      ctx.out('admin password set; log in to the web UI with it');
      return 0;
    });
  },
};

export const adminCommands: CommandSpec[] = [setPassword];
