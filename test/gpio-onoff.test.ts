/**
 * The real onoff code against a throwaway sysfs GPIO tree: a child process in a private mount
 * namespace (`unshare -m`) mounts a tmpfs over /sys/class, so onoff's hard-coded
 * /sys/class/gpio paths land in the fake tree and nothing on the host is touched. The scenario
 * (test/gpio-onoff-scenario.ts) reports what it saw; the assertions are here.
 *
 * A tmpfs file cannot raise GPIO interrupts, which is one reason the switch is sampled rather than
 * edge-triggered: the code path tested here is the one that runs on a Pi.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'hearth-gpio-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Observed {
  pins: { switch?: number; led?: number };
  configured: Record<string, string>;
  pausedAtStart: boolean;
  eventsAfterBounce: number;
  afterSwitchOn: Record<string, unknown>;
  afterSwitchOffFlagOn: Record<string, unknown>;
  afterFlagOff: Record<string, unknown>;
  events: boolean[];
  [k: string]: unknown;
}

function runScenario(): Observed {
  const script = `mount -t tmpfs hearth-gpio /sys/class && mkdir /sys/class/gpio && exec "${process.execPath}" node_modules/vite-node/vite-node.mjs test/gpio-onoff-scenario.ts "${dataDir}"`;
  const res = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (res.status !== 0) throw new Error(`scenario failed (status ${res.status}): ${res.stderr}${res.error ? String(res.error) : ''}`);
  const line = res.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Observed;
}

describe('GPIO through onoff on a sysfs-like tree', () => {
  const o = runScenario();

  it('finds the Pi pin controller by label and offsets pins by its base (kernel 6.6+)', () => {
    expect(o.pins).toEqual({ switch: 529, led: 539 });
    expect(o.log).toContain('INFO privacy switch ready component=gpio pin=17 chip=pinctrl-bcm2711 offset=529 type=toggle');
  });

  it('configures the switch as an active-low input without interrupts and the LED as an output driven low', () => {
    expect(o.configured).toEqual({ switchDirection: 'in', switchEdge: 'none', switchActiveLow: '1', ledDirection: 'low', ledValue: '0' });
  });

  it('debounces the switch: bounces do nothing, a held switch pauses once', () => {
    expect(o.pausedAtStart).toBe(false);
    expect(o.eventsAfterBounce).toBe(0);
    expect(o.afterSwitchOn).toEqual({ paused: true, bySwitch: true, byCommand: false, switchPresent: true, events: 1 });
  });

  it('combines the switch with the CLI flag: paused while either is on', () => {
    expect(o.afterSwitchOffFlagOn).toEqual({ paused: true, bySwitch: false, byCommand: true, switchPresent: true, events: 1 });
    expect(o.afterFlagOff).toEqual({ paused: false, bySwitch: false, byCommand: false, switchPresent: true, events: 2 });
    expect(o.events).toEqual([true, false]);
  });

  it('lights the LED while reports are sent and turns it off and releases the pins on stop', () => {
    expect(o.ledDuringSend).toBe('1');
    expect(o.ledOneStillSending).toBe('1');
    expect(o.ledAfterSends).toBe('0');
    expect(o.ledInLightWhile).toBe('1');
    expect(o.ledAfterLightWhile).toBe('0');
    expect(o.ledAfterStop).toBe('0');
    expect(o.unexported).toBe('539');
  });
});
