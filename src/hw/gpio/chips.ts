/**
 * Which sysfs GPIO number a header pin has. Since Raspberry Pi OS kernel 6.6 the sysfs numbers are
 * offset by the gpiochip's base (e.g. 512 + BCM number) instead of being the BCM number, so the
 * number is computed from /sys/class/gpio/gpiochip* (base, ngpio, label). Pure functions over a
 * directory listing and file reads, with the sysfs root injectable.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface GpioChip {
  /** Directory name, e.g. "gpiochip512". */
  name: string;
  base: number;
  ngpio: number;
  label: string;
}

/** The header pins' controller on each Pi generation, best first: Pi 5 (RP1), Pi 4, Pi 1-3/Zero. */
export const PI_HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'] as const;

export interface SysfsReader {
  list(dir: string): string[];
  read(file: string): string;
}

export const realSysfs: SysfsReader = {
  list: (dir) => readdirSync(dir),
  read: (file) => readFileSync(file, 'utf8'),
};

export class GpioResolveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpioResolveError';
  }
}

/** The gpiochips under `<sysfsRoot>/class/gpio`; entries that cannot be read are skipped. */
export function listGpioChips(sysfsRoot: string, fs: SysfsReader = realSysfs): GpioChip[] {
  const dir = join(sysfsRoot, 'class', 'gpio');
  let names: string[];
  try {
    names = fs.list(dir);
  } catch {
    return [];
  }
  const chips: GpioChip[] = [];
  for (const name of names.filter((n) => /^gpiochip\d+$/.test(n)).sort()) {
    try {
      const base = parseCount(fs.read(join(dir, name, 'base')));
      const ngpio = parseCount(fs.read(join(dir, name, 'ngpio')));
      const label = fs.read(join(dir, name, 'label')).trim().slice(0, 64);
      if (base !== undefined && ngpio !== undefined) chips.push({ name, base, ngpio, label });
    } catch {
      /* a chip whose attributes cannot be read cannot be used */
    }
  }
  return chips;
}

function parseCount(text: string): number | undefined {
  const t = text.trim();
  if (!/^\d{1,6}$/.test(t)) return undefined;
  return Number(t);
}

/**
 * The chip that carries the header pins: the one labelled `preferredLabel` when configured,
 * otherwise the first Pi pin controller found in PI_HEADER_CHIP_LABELS order.
 */
export function pickHeaderChip(chips: GpioChip[], preferredLabel?: string | null): GpioChip {
  if (preferredLabel) {
    const chip = chips.find((c) => c.label === preferredLabel);
    if (!chip) throw new GpioResolveError(`no gpiochip labelled "${preferredLabel}" (found: ${describe(chips)})`);
    return chip;
  }
  for (const label of PI_HEADER_CHIP_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip;
  }
  throw new GpioResolveError(`no Raspberry Pi pin controller among the gpiochips (found: ${describe(chips)}); set gpio.chipLabel`);
}

/** The sysfs GPIO number of a chip-relative (on a Pi: BCM) pin number. */
export function sysfsGpioNumber(chip: GpioChip, pin: number): number {
  if (!Number.isInteger(pin) || pin < 0 || pin >= chip.ngpio) {
    throw new GpioResolveError(`pin ${pin} is outside ${chip.label} (0 to ${chip.ngpio - 1})`);
  }
  return chip.base + pin;
}

function describe(chips: GpioChip[]): string {
  return chips.length === 0 ? 'none' : chips.map((c) => `${c.name} "${c.label}"`).join(', ');
}
