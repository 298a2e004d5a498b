/**
 * The command line is parsed strictly: an unknown flag, a flag without its value or an argument a
 * command does not take is refused with exit code 2 and a clear message, before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { COMMANDS } from '../src/cli/commands/index.js';
import { commandOptions } from '../src/cli/main.js';
import { cli, tempDir } from './helpers/hub.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

describe('hearth command line', () => {
  it('refuses a misspelt flag instead of ignoring it (start would have served on the default port)', async () => {
    const r = await run(['start', '--mqtt-prot', '1884']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hearth start: unknown option --mqtt-prot/);
    expect(r.err).toMatch(/usage: hearth start/);
  });

  it('refuses a flag that needs a value without one, and a flag the command does not take', async () => {
    expect(await run(['device', 'list', '--data-dir'])).toMatchObject({ code: 2, err: expect.stringMatching(/--data-dir needs a value/) });
    expect(await run(['init', '--json'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option --json/) });
    expect(await run(['scale', 'measurements', '--unassigned=yes'])).toMatchObject({ code: 2 });
  });

  it('refuses arguments a command does not take', async () => {
    const r = await run(['device', 'list', 'cameras']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/takes no arguments/);
  });

  it('finds the command wherever the flags stand', () => {
    const dir = tempDir();
    try {
      expect(cli(['--data-dir', dir.path, 'init']).code).toBe(0);
      const listed = cli(['--data-dir', dir.path, 'device', 'list', '--json']);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([]);
      expect(cli(['device', '--data-dir', dir.path, 'list']).stdout).toMatch(/no devices enrolled yet/);
    } finally {
      dir.cleanup();
    }
  });

  it('says its version, and what a command group has', async () => {
    const v = await run(['--version']);
    expect(v).toMatchObject({ code: 0, out: expect.stringMatching(/^hearth \d+\.\d+\.\d+\n$/) });
    const group = await run(['device']);
    expect(group.code).toBe(0);
    for (const sub of ['device add camera', 'device add scale', 'device list', 'device show', 'device remove']) expect(group.out).toContain(sub);
    expect(await run(['device', 'frobnicate'])).toMatchObject({ code: 2 });
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command/) });
  });

  it("reads every command's flags from its usage line", () => {
    for (const c of COMMANDS) {
      const options = commandOptions(c);
      for (const m of c.usage.matchAll(/--([a-z][a-z-]*)/g)) expect(options, `${c.name} --${m[1]}`).toHaveProperty(m[1]!);
    }
    expect(commandOptions(COMMANDS.find((c) => c.name === 'start')!)).toMatchObject({ 'mqtt-port': { type: 'string' }, 'data-dir': { type: 'string' } });
    expect(commandOptions(COMMANDS.find((c) => c.name === 'scale assign')!)).toMatchObject({ none: { type: 'boolean' } });
  });
});
