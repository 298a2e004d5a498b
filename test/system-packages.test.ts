/**
 * The pretest step's decisions, with the system calls passed in: nothing is installed or removed
 * here. And once for real on this machine, where everything the tests need is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { checkSystemPackages, installedFrom, missingPackages, SYSTEM_PACKAGES } from '../scripts/check-system-packages.mjs';
import { ROOT } from './helpers/hub.js';

type Deps = { query(): string; isRoot: boolean; ci: boolean; run(cmd: string, args: string[]): number; out(t: string): void; err(t: string): void };

const ALL = (SYSTEM_PACKAGES as [string, string][]).map(([name]) => name);
const dpkg = (installed: string[], extra = '') => installed.map((p) => `${p} install ok installed`).join('\n') + '\n' + extra;

function harness(installedBefore: string[], opts: { isRoot: boolean; ci?: boolean; installWorks?: boolean }) {
  const installed = new Set(installedBefore);
  const commands: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const deps: Deps = {
    query: () => dpkg([...installed]),
    isRoot: opts.isRoot,
    ci: opts.ci ?? false,
    run: (cmd, args) => {
      commands.push([cmd, ...args].join(' '));
      if (cmd === 'apt-get' && args[0] === 'install' && opts.installWorks !== false) for (const a of args.slice(1)) if (!a.startsWith('-')) installed.add(a);
      return 0;
    },
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  };
  return { code: () => checkSystemPackages(deps) as number, commands, out, err };
}

describe('pretest: system packages', () => {
  it('reads dpkg-query output, counting only fully installed packages', () => {
    const text = 'mosquitto install ok installed\nchromium deinstall ok config-files\nshellcheck:amd64 install ok installed\n\n';
    expect([...installedFrom(text)].sort()).toEqual(['mosquitto', 'shellcheck']);
    expect(missingPackages(new Set(['mosquitto']), ['mosquitto', 'dbus', 'openssl'])).toEqual(['dbus', 'openssl']);
  });

  it('does nothing when everything is installed', () => {
    const h = harness(ALL, { isRoot: false });
    expect(h.code()).toBe(0);
    expect(h.commands).toEqual([]);
    expect(h.out).toEqual([]);
  });

  it('as a user: prints the one apt-get install line for what is missing and exits 1', () => {
    const h = harness(ALL.filter((p) => p !== 'shellcheck' && p !== 'postgresql'), { isRoot: false });
    expect(h.code()).toBe(1);
    expect(h.commands).toEqual([]); // installs nothing, stops nothing
    expect(h.out).toEqual(['sudo apt-get install -y --no-install-recommends shellcheck postgresql']);
    expect(h.err.join('\n')).toMatch(/not installed: shellcheck, postgresql/);
    expect(h.err.join('\n')).toMatch(/shellcheck: the lint of the shell scripts/);
  });

  it('as root: updates the package lists, installs what is missing, and stops the mosquitto service it installed', () => {
    const h = harness(ALL.filter((p) => p !== 'mosquitto' && p !== 'dbus'), { isRoot: true });
    expect(h.code()).toBe(0);
    expect(h.commands).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends mosquitto dbus', 'systemctl stop mosquitto']);
  });

  it('as root under CI stops a running mosquitto service even when nothing was missing; outside CI it leaves it', () => {
    const ci = harness(ALL, { isRoot: true, ci: true });
    expect(ci.code()).toBe(0);
    expect(ci.commands).toEqual(['systemctl stop mosquitto']);
    const dev = harness(ALL, { isRoot: true });
    expect(dev.code()).toBe(0);
    expect(dev.commands).toEqual([]);
  });

  it('as root: fails clearly when a package is still missing after apt-get install', () => {
    const h = harness(ALL.filter((p) => p !== 'chromium'), { isRoot: true, installWorks: false });
    expect(h.code()).toBe(1);
    expect(h.err.join('\n')).toMatch(/still missing after apt-get install: chromium/);
  });

  it('runs as npm test’s pretest, and .ci/run only calls npm ci and npm test', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('node scripts/check-system-packages.mjs');
    const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8');
    const commands = ci.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#') && !/^(set|cd|export) /.test(l.trim()));
    expect(commands).toEqual(['node --version', 'npm ci --no-audit --no-fund', 'npm test </dev/null']);
  });

  it('passes on this machine, without a terminal, as CI runs it', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'scripts/check-system-packages.mjs')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '' } });
    expect(res.status, res.stderr).toBe(0);
  });
});
