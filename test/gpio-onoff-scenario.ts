/**
 * Run by test/gpio-onoff.test.ts inside a private mount namespace where /sys/class is a throwaway
 * tmpfs: builds a sysfs-like GPIO tree (a Pi 4 on kernel 6.6: the pin controller at base 512, and
 * the firmware's expander chip as a decoy), then drives the real onoff code through the hub's GPIO
 * module and prints what it observed as one JSON line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../src/log/logger.js';
import { openDatabase } from '../src/store/database.js';
import { startHubGpio } from '../src/hw/gpio/hub-gpio.js';
import { writePrivacyFlag } from '../src/uplink/privacy-flag.js';

const GPIO = '/sys/class/gpio';
const dataDir = process.argv[2]!;

function chip(name: string, base: number, ngpio: number, label: string): void {
  mkdirSync(join(GPIO, name), { recursive: true });
  writeFileSync(join(GPIO, name, 'base'), `${base}\n`);
  writeFileSync(join(GPIO, name, 'ngpio'), `${ngpio}\n`);
  writeFileSync(join(GPIO, name, 'label'), `${label}\n`);
}

/** What the kernel creates when a pin is exported. */
function exportedPin(n: number): void {
  const dir = join(GPIO, `gpio${n}`);
  mkdirSync(dir, { recursive: true });
  for (const [f, v] of [['value', '0'], ['direction', 'in'], ['edge', 'none'], ['active_low', '0']]) writeFileSync(join(dir, f!), `${v}\n`);
}

const read = (path: string) => readFileSync(join(GPIO, path), 'utf8').trim();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  writeFileSync(join(GPIO, 'export'), '');
  writeFileSync(join(GPIO, 'unexport'), '');
  chip('gpiochip504', 504, 8, 'raspberrypi-exp-gpio');
  chip('gpiochip512', 512, 58, 'pinctrl-bcm2711');
  exportedPin(512 + 17);
  exportedPin(512 + 27);

  const logLines: string[] = [];
  const db = openDatabase(join(dataDir, 'hearth.db'));
  const gpio = startHubGpio({
    config: { enabled: true, switchPin: 17, switchMode: 'toggle', switchActiveLow: true, ledPin: 27, debounceMs: 100, pollMs: 5, chipLabel: null },
    db,
    logger: createLogger({ level: 'debug', sink: (l) => logLines.push(l) }),
    flagPollMs: 20,
  });
  const events: { paused: boolean; t: number }[] = [];
  const t0 = Date.now();
  gpio.gate.onChange((paused) => events.push({ paused, t: Date.now() - t0 }));

  const out: Record<string, unknown> = { pins: gpio.pins };
  out.configured = { switchDirection: read('gpio529/direction'), switchEdge: read('gpio529/edge'), switchActiveLow: read('gpio529/active_low'), ledDirection: read('gpio539/direction'), ledValue: read('gpio539/value') };
  out.pausedAtStart = gpio.gate.isPaused();

  // Contact bounce: flips faster than the debounce time must not pause anything.
  for (let i = 0; i < 6; i++) {
    writeFileSync(join(GPIO, 'gpio529/value'), i % 2 === 0 ? '1' : '0');
    await sleep(5);
  }
  writeFileSync(join(GPIO, 'gpio529/value'), '0');
  await sleep(150);
  out.eventsAfterBounce = events.length;

  // Switch on and held: paused once, by the switch.
  writeFileSync(join(GPIO, 'gpio529/value'), '1');
  await sleep(300);
  out.afterSwitchOn = { ...gpio.gate.status(), events: events.length };

  // The CLI flag set from another connection while the switch is on: still paused, no new event.
  const cli = openDatabase(join(dataDir, 'hearth.db'));
  writePrivacyFlag(cli, true);
  await sleep(80);
  // Switch off: still paused by the flag.
  writeFileSync(join(GPIO, 'gpio529/value'), '0');
  await sleep(300);
  out.afterSwitchOffFlagOn = { ...gpio.gate.status(), events: events.length };
  writePrivacyFlag(cli, false);
  cli.close();
  await sleep(200);
  out.afterFlagOff = { ...gpio.gate.status(), events: events.length };
  out.events = events.map((e) => e.paused);

  // LED: lit while a report is sent, overlapping sends counted.
  gpio.led.onSendStart?.('r1');
  out.ledDuringSend = read('gpio539/value');
  gpio.led.onSendStart?.('r2');
  gpio.led.onSendEnd?.('r1', true);
  out.ledOneStillSending = read('gpio539/value');
  gpio.led.onSendEnd?.('r2', false);
  out.ledAfterSends = read('gpio539/value');
  let finishSend!: () => void;
  const sending = gpio.led.lightWhile(new Promise<void>((resolve) => (finishSend = resolve)));
  out.ledInLightWhile = read('gpio539/value');
  finishSend();
  await sending;
  out.ledAfterLightWhile = read('gpio539/value');

  gpio.led.onSendStart?.('r3'); // left on: stop must turn it off
  gpio.stop();
  out.ledAfterStop = read('gpio539/value');
  out.unexported = read('unexport');
  out.log = logLines;
  db.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(String((err as Error).stack ?? err) + '\n');
  process.exit(1);
});
