/**
 * The privacy switch logic through the narrow pin interface (debounce, toggle and button modes,
 * failures), the activity LED, the persistent CLI flag watched across SQLite connections, the
 * combined gate without GPIO, and `hearth privacy pause|resume|status`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { createLogger } from '../src/log/logger.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { LevelDebouncer, nextPausedState, type Level } from '../src/hw/gpio/debounce.js';
import { ActivityLed } from '../src/hw/gpio/led.js';
import { PrivacyFlagGate, readPrivacyFlag, writePrivacyFlag } from '../src/uplink/privacy-flag.js';
import { PrivacySwitch } from '../src/hw/gpio/privacy-switch.js';
import { startHubGpio } from '../src/hw/gpio/hub-gpio.js';
import type { GpioPins, InputPin } from '../src/hw/gpio/pins.js';
import type { HearthConfig } from '../src/config/config.js';
import { DomainBus } from '../src/bus/bus.js';
import type { DomainEvent } from '../src/bus/events.js';
import { liveMessage } from '../src/web/api/live.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function tempDb(): { dir: string; db: Db; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-privacy-'));
  const path = join(dir, 'hearth.db');
  const db = openDatabase(path);
  cleanups.push(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, db, path };
}

class FakeInput implements InputPin {
  level: Level = 0;
  failWith: string | undefined;
  closed = false;
  read(): Level {
    if (this.failWith) throw Object.assign(new Error('read failed'), { code: this.failWith });
    return this.level;
  }
  close(): void {
    this.closed = true;
  }
}

const GPIO_ON: HearthConfig['gpio'] = { enabled: true, switchPin: 17, switchMode: 'toggle', switchActiveLow: true, ledPin: 27, debounceMs: 50, pollMs: 25, chipLabel: null };

describe('debouncing', () => {
  it('accepts a level only after it has been stable for the debounce time', () => {
    const d = new LevelDebouncer(0, 50, 0);
    expect(d.sample(1, 10)).toBeUndefined();
    expect(d.sample(0, 20)).toBeUndefined(); // bounced back
    expect(d.sample(1, 30)).toBeUndefined();
    expect(d.sample(1, 79)).toBeUndefined();
    expect(d.sample(1, 80)).toBe(1);
    expect(d.sample(1, 200)).toBeUndefined();
    expect(d.level).toBe(1);
  });

  it('toggle follows the level; a button flips on each press and ignores releases', () => {
    expect(nextPausedState('toggle', false, 1)).toBe(true);
    expect(nextPausedState('toggle', true, 0)).toBe(false);
    expect(nextPausedState('button', false, 1)).toBe(true);
    expect(nextPausedState('button', true, 0)).toBe(true);
    expect(nextPausedState('button', true, 1)).toBe(false);
  });
});

describe('privacy switch', () => {
  function makeSwitch(mode: 'toggle' | 'button', initial: Level = 0) {
    const pin = new FakeInput();
    pin.level = initial;
    let now = 0;
    const lines: string[] = [];
    const sw = new PrivacySwitch({ pin, mode, debounceMs: 50, pollMs: 10, logger: createLogger({ sink: (l) => lines.push(l) }), now: () => now });
    const events: boolean[] = [];
    sw.onChange((p) => events.push(p));
    const at = (t: number, level: Level) => {
      now = t;
      pin.level = level;
      sw.tick();
    };
    return { sw, pin, events, at, lines };
  }

  it('toggle: a switch left on at boot starts paused; bounces never reach listeners', () => {
    const { sw, events, at } = makeSwitch('toggle', 1);
    expect(sw.isPaused()).toBe(true);
    at(10, 0);
    at(20, 1);
    at(30, 0);
    at(40, 1);
    at(100, 1);
    expect(events).toEqual([]);
    at(110, 0);
    at(170, 0);
    expect(events).toEqual([false]);
    expect(sw.isPaused()).toBe(false);
  });

  it('button: each debounced press flips the state', () => {
    const { sw, events, at } = makeSwitch('button');
    expect(sw.isPaused()).toBe(false);
    at(0, 1);
    at(60, 1); // press 1
    at(70, 0);
    at(130, 0); // release
    at(140, 1);
    at(150, 0); // a 10 ms blip is not a press
    at(300, 0);
    at(310, 1);
    at(400, 1); // press 2
    expect(events).toEqual([true, false]);
    expect(sw.isPaused()).toBe(false);
  });

  it('keeps its state when the pin cannot be read, and logs without flooding', () => {
    const { sw, pin, at, lines, events } = makeSwitch('toggle');
    pin.failWith = 'EIO';
    for (let i = 0; i < 50; i++) sw.tick();
    expect(lines.filter((l) => l.startsWith('WARN privacy switch cannot be read'))).toHaveLength(1);
    expect(lines[0]).toContain('code=EIO');
    pin.failWith = undefined;
    at(0, 1);
    at(60, 1);
    expect(events).toEqual([true]);
    sw.close();
    expect(pin.closed).toBe(true);
  });
});

describe('activity LED', () => {
  it('is lit while any send is in flight, tolerates write failures, and is released on close', () => {
    const writes: number[] = [];
    let fail = false;
    let closed = false;
    const lines: string[] = [];
    const led = new ActivityLed(
      {
        write: (l) => {
          if (fail) throw Object.assign(new Error('x'), { code: 'EACCES' });
          writes.push(l);
        },
        close: () => {
          closed = true;
        },
      },
      createLogger({ sink: (l) => lines.push(l) }),
    );
    led.onSendStart();
    led.onSendStart();
    led.onSendEnd();
    expect(writes).toEqual([1]);
    led.onSendEnd();
    led.onSendEnd(); // an unmatched end is ignored
    expect(writes).toEqual([1, 0]);
    fail = true;
    expect(() => led.onSendStart()).not.toThrow();
    expect(lines.some((l) => l.includes('activity LED cannot be written') && l.includes('EACCES'))).toBe(true);
    led.close();
    expect(closed).toBe(true);
  });
});

describe('the persistent privacy flag', () => {
  it('defaults to not paused and round-trips', () => {
    const { db } = tempDb();
    expect(readPrivacyFlag(db)).toBe(false);
    writePrivacyFlag(db, true);
    expect(readPrivacyFlag(db)).toBe(true);
    writePrivacyFlag(db, false);
    expect(readPrivacyFlag(db)).toBe(false);
  });

  it('the daemon-side gate notices a change committed by another connection (the CLI)', () => {
    const { db, path } = tempDb();
    const gate = new PrivacyFlagGate(db, 1000);
    const events: boolean[] = [];
    gate.onChange((p) => events.push(p));
    gate.check();
    expect(events).toEqual([]);
    const cli = openDatabase(path);
    writePrivacyFlag(cli, true);
    expect(gate.isPaused()).toBe(false); // not until the next check
    gate.check();
    expect(gate.isPaused()).toBe(true);
    writePrivacyFlag(cli, true); // same value: a commit but no change
    gate.check();
    writePrivacyFlag(cli, false);
    gate.check();
    cli.close();
    expect(events).toEqual([true, false]);
    gate.setPaused(true); // in-process (web UI): immediate, and persisted
    expect(events).toEqual([true, false, true]);
    expect(readPrivacyFlag(db)).toBe(true);
  });

  it('polls on its own timer', async () => {
    const { db, path } = tempDb();
    const gate = new PrivacyFlagGate(db, 20);
    gate.start();
    cleanups.push(() => gate.stop());
    const cli = openDatabase(path);
    writePrivacyFlag(cli, true);
    cli.close();
    const until = Date.now() + 2000;
    while (!gate.isPaused() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(gate.isPaused()).toBe(true);
  });
});

describe('hub GPIO without hardware', () => {
  function start(config: HearthConfig['gpio'], extra: { sysfsRoot?: string; pins?: GpioPins } = {}) {
    const { db, path } = tempDb();
    const lines: string[] = [];
    const gpio = startHubGpio({ config, db, logger: createLogger({ sink: (l) => lines.push(l) }), flagPollMs: 20, sysfsRoot: extra.sysfsRoot ?? join(tmpdir(), 'hearth-no-sysfs-here'), ...(extra.pins ? { pins: extra.pins } : {}) });
    cleanups.push(() => gpio.stop());
    return { gpio, lines, path };
  }

  it('says so in one clear line and runs on the CLI flag alone', async () => {
    const { gpio, lines, path } = start(GPIO_ON);
    expect(lines).toEqual(['INFO no usable GPIO on this machine (no writable sysfs GPIO interface); the privacy switch and LED are off; pause uploads with `hearth privacy pause` component=gpio']);
    expect(gpio.gate.status()).toEqual({ paused: false, bySwitch: false, byCommand: false, switchPresent: false });
    const changes: boolean[] = [];
    gpio.gate.onChange((p) => changes.push(p));
    const cli = openDatabase(path);
    writePrivacyFlag(cli, true);
    cli.close();
    const until = Date.now() + 2000;
    while (changes.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(changes).toEqual([true]);
    expect(gpio.gate.status()).toEqual({ paused: true, bySwitch: false, byCommand: true, switchPresent: false });
    await expect(gpio.led.lightWhile(Promise.resolve(7))).resolves.toBe(7);
  });

  it('disabled by configuration: says so', () => {
    const { lines } = start({ ...GPIO_ON, enabled: false });
    expect(lines[0]).toMatch(/^INFO GPIO disabled by configuration/);
  });

  it('a pin that cannot be opened (user not in the gpio group) is logged and the hub carries on', () => {
    const root = mkdtempSync(join(tmpdir(), 'hearth-sysfs-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const chipDir = join(root, 'class', 'gpio', 'gpiochip512');
    mkdirSync(chipDir, { recursive: true });
    writeFileSync(join(chipDir, 'base'), '512');
    writeFileSync(join(chipDir, 'ngpio'), '58');
    writeFileSync(join(chipDir, 'label'), 'pinctrl-bcm2711');
    const denied = () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    const { gpio, lines } = start(GPIO_ON, { sysfsRoot: root, pins: { available: () => true, openInput: denied, openOutput: denied } });
    expect(lines).toEqual(['ERROR GPIO unavailable: EACCES opening a GPIO pin (is the service user in the gpio group?); the privacy switch and LED are off; pause uploads with `hearth privacy pause` component=gpio']);
    expect(gpio.gate.isPaused()).toBe(false);
  });

  it('uses the stand-in pins at the offset numbers and pauses through the switch', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hearth-sysfs-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const chipDir = join(root, 'class', 'gpio', 'gpiochip512');
    mkdirSync(chipDir, { recursive: true });
    writeFileSync(join(chipDir, 'base'), '512');
    writeFileSync(join(chipDir, 'ngpio'), '58');
    writeFileSync(join(chipDir, 'label'), 'pinctrl-bcm2711');
    const input = new FakeInput();
    const opened: string[] = [];
    const { gpio } = start(
      { ...GPIO_ON, debounceMs: 20, pollMs: 5 },
      {
        sysfsRoot: root,
        pins: {
          available: () => true,
          openInput: (n, o) => (opened.push(`in ${n} activeLow=${o.activeLow}`), input),
          openOutput: (n) => (opened.push(`out ${n}`), { write: () => {}, close: () => {} }),
        },
      },
    );
    expect(opened).toEqual(['in 529 activeLow=true', 'out 539']);
    input.level = 1;
    const until = Date.now() + 2000;
    while (!gpio.gate.isPaused() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(gpio.gate.status()).toEqual({ paused: true, bySwitch: true, byCommand: false, switchPresent: true });
    gpio.stop();
    expect(input.closed).toBe(true);
  });
});

describe('hub GPIO on the domain bus', () => {
  it('a switch flip and a flag set by another process reach the bus (and so open pages); the LED follows sends; stop leaves nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'hearth-sysfs-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const chipDir = join(root, 'class', 'gpio', 'gpiochip512');
    mkdirSync(chipDir, { recursive: true });
    writeFileSync(join(chipDir, 'base'), '512');
    writeFileSync(join(chipDir, 'ngpio'), '58');
    writeFileSync(join(chipDir, 'label'), 'pinctrl-bcm2711');
    const input = new FakeInput();
    const ledLevels: number[] = [];
    const { db, path } = tempDb();
    const bus = new DomainBus();
    const seen: DomainEvent[] = [];
    bus.onAny('test', (e) => seen.push(e));
    const gpio = startHubGpio({
      config: { ...GPIO_ON, debounceMs: 20, pollMs: 5 },
      db,
      logger: createLogger({ sink: () => {} }),
      bus,
      sysfsRoot: root,
      pins: { available: () => true, openInput: () => input, openOutput: () => ({ write: (v) => ledLevels.push(v), close: () => {} }) },
    });
    // The hardware switch: a page hears "privacy" as soon as the flip is debounced.
    input.level = 1;
    const until = Date.now() + 2000;
    while (!seen.some((e) => e.type === 'privacy.changed') && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const flip = seen.find((e) => e.type === 'privacy.changed');
    expect(flip).toMatchObject({ type: 'privacy.changed', paused: true, bySwitch: true, byCommand: false });
    expect(liveMessage(flip!)).toEqual({ type: 'privacy', at: flip!.at });
    // The CLI sets the flag in another process: the daemon's watcher says so on the bus, once.
    const cli = openDatabase(path);
    writePrivacyFlag(cli, true);
    cli.close();
    seen.length = 0;
    bus.emit('store.external-change', {});
    expect(seen.filter((e) => e.type === 'privacy.changed')).toEqual([expect.objectContaining({ paused: true, bySwitch: true, byCommand: true })]);
    // The LED follows the uplink's sends as they are announced.
    bus.emit('report.sending', { reportId: 'r1' });
    bus.emit('report.sent', { reportId: 'r1', ok: true });
    expect(ledLevels).toEqual([1, 0]);
    gpio.stop();
    expect(bus.listenerCount('privacy')).toBe(0);
  });
});

describe('hearth privacy pause|resume|status', () => {
  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t) });
    return { code, out, err };
  }

  it('sets the persistent flag that the daemon watches', async () => {
    const { dir, db } = tempDb();
    expect(await cli(['privacy', 'status', '--data-dir', dir, '--json'])).toMatchObject({ code: 0, out: '{"pausedByCommand":false,"daemonRunning":false}\n' });
    const paused = await cli(['privacy', 'pause', '--data-dir', dir]);
    expect(paused).toMatchObject({ code: 0, out: 'upstream paused\n' });
    expect(readPrivacyFlag(db)).toBe(true);
    expect((await cli(['privacy', 'pause', '--data-dir', dir])).out).toBe('upstream was already paused\n');
    expect((await cli(['privacy', 'status', '--data-dir', dir])).out).toMatch(/^upstream is paused/);
    const resumed = await cli(['privacy', 'resume', '--data-dir', dir, '--json']);
    expect(JSON.parse(resumed.out)).toEqual({ paused: false, changed: true, daemonRunning: false });
    expect(readPrivacyFlag(db)).toBe(false);
  });

  it('refuses extra arguments and a data dir without a hub', async () => {
    const { dir } = tempDb();
    expect((await cli(['privacy', 'pause', 'now', '--data-dir', dir])).code).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), 'hearth-empty-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    const r = await cli(['privacy', 'pause', '--data-dir', empty]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no database/);
  });
});

