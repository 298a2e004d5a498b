/** Reading the shipped systemd units in tests: directives by section, and systemd-analyze. */
import { spawnSync } from 'node:child_process';

/** Every value of a directive in one section of a unit file's text, in order. */
export function unitDirective(unitText: string, section: string, name: string): string[] {
  const body = unitText.split(new RegExp(`^\\[${section}\\]$`, 'm'))[1]?.split(/^\[/m)[0] ?? '';
  return body
    .split('\n')
    .filter((l) => l.startsWith(`${name}=`))
    .map((l) => l.slice(name.length + 1).trim());
}

export function systemdAnalyzer(): string {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('systemd-analyze is missing: install it with `apt-get install -y systemd`');
  return which.stdout.trim();
}

/** `systemd-analyze security --offline=true` of one unit file: its overall exposure (null if unread) and the full output. */
export function offlineExposure(unitPath: string): { exposure: number | null; out: string } {
  const res = spawnSync(systemdAnalyzer(), ['security', '--offline=true', '--no-pager', unitPath], { encoding: 'utf8' });
  const out = res.stdout + res.stderr;
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(out);
  return { exposure: m ? Number(m[1]) : null, out };
}
