#!/usr/bin/env node
// `npm test`'s pretest step: the Debian / Raspberry Pi OS packages the tests run for real.
// Run as root it installs the missing ones (apt-get update, then apt-get install); otherwise it
// prints the one `apt-get install` line to run and exits 1. Never asks a question (CI has no stdin).
// Debian starts mosquitto as a service when it is installed; the tests run their own brokers on
// free ports, so a service this step installed (or any, under CI) is stopped again.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Each package and what in the test suite needs it. */
export const SYSTEM_PACKAGES = [
  ['mosquitto', 'the upstream broker the uplink tests publish to'],
  ['mosquitto-clients', 'mosquitto_pub / mosquitto_sub as real camera clients'],
  ['chromium', 'the web UI tests in headless Chromium'],
  ['dbus', 'a private dbus-daemon standing in for BlueZ'],
  ['systemd', 'systemd-analyze for the service units'],
  ['openssl', 'TLS certificates for the web UI and uplink tests'],
  ['util-linux', 'unshare / setpriv for the install scripts'],
  ['iproute2', 'network checks of the install scripts'],
  ['shellcheck', 'the lint of the shell scripts'],
  ['passwd', 'useradd in the install scripts run into a throwaway root'],
  ['postgresql', 'a throwaway PostgreSQL cluster for the collector tests'],
];

/** Parses `dpkg-query -W -f='${Package} ${Status}\n'` output into the installed package names. */
export function installedFrom(dpkgOutput) {
  const installed = new Set();
  for (const line of dpkgOutput.split('\n')) {
    const [name, ...status] = line.trim().split(/\s+/);
    if (name && status.join(' ') === 'install ok installed') installed.add(name.replace(/:.*$/, ''));
  }
  return installed;
}

/** The packages not installed, in the list's order. */
export function missingPackages(installed, packages = SYSTEM_PACKAGES.map(([name]) => name)) {
  return packages.filter((p) => !installed.has(p));
}

export function installCommand(missing) {
  return `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
}

/**
 * The check itself, with its effects passed in (so it can be tested without touching the system).
 * deps: query() -> dpkg-query output; isRoot; ci; run(cmd, args) -> exit code; out(text); err(text).
 * Returns the exit code.
 */
export function checkSystemPackages(deps) {
  const missing = missingPackages(installedFrom(deps.query()));
  if (missing.length > 0) {
    if (!deps.isRoot) {
      deps.err(`The tests need these Debian packages, which are not installed: ${missing.join(', ')}`);
      for (const [name, why] of SYSTEM_PACKAGES) if (missing.includes(name)) deps.err(`  ${name}: ${why}`);
      deps.err('Install them (or run `npm test` as root, which installs them), then run `npm test` again:');
      deps.out(`sudo ${installCommand(missing)}`);
      return 1;
    }
    deps.out(`installing the Debian packages the tests need: ${missing.join(' ')}`);
    if (deps.run('apt-get', ['update', '-qq']) !== 0) {
      deps.err('apt-get update failed; see its output above');
      return 1;
    }
    if (deps.run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]) !== 0) {
      deps.err(`apt-get install failed; run \`${installCommand(missing)}\` to see why`);
      return 1;
    }
    const still = missingPackages(installedFrom(deps.query()));
    if (still.length > 0) {
      deps.err(`still missing after apt-get install: ${still.join(', ')}`);
      return 1;
    }
  }
  if (deps.isRoot && (missing.includes('mosquitto') || deps.ci)) stopMosquittoService(deps);
  return 0;
}

/** Stops Debian's mosquitto service (systemd, or sysvinit in a container); fine if there is none. */
function stopMosquittoService(deps) {
  if (deps.run('systemctl', ['stop', 'mosquitto']) === 0) return;
  deps.run('service', ['mosquitto', 'stop']);
}

function realDeps() {
  const quiet = { stdio: 'ignore' };
  return {
    query: () =>
      spawnSync('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...SYSTEM_PACKAGES.map(([name]) => name)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).stdout ?? '',
    isRoot: process.getuid?.() === 0,
    ci: Boolean(process.env.CI),
    run: (cmd, args) => {
      const inherit = cmd === 'apt-get';
      const res = spawnSync(cmd, args, { ...(inherit ? { stdio: ['ignore', 'inherit', 'inherit'] } : quiet), env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      return res.status ?? 1;
    },
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.platform !== 'linux' || spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status !== 0) {
    process.stderr.write(`not a Debian-based system: install the equivalents of ${SYSTEM_PACKAGES.map(([n]) => n).join(', ')} yourself\n`);
    process.exit(0);
  }
  process.exit(checkSystemPackages(realDeps()));
}
