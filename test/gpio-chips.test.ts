/**
 * Sysfs GPIO numbering: computed from the gpiochips' base and label, on directory trees shaped like
 * the real kernels' (Pi 4 on kernel 6.6 with base 512, Pi 5's RP1, older kernels with base 0).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listGpioChips, pickHeaderChip, sysfsGpioNumber, type GpioChip } from '../src/hw/gpio/chips.js';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach((r) => rmSync(r, { recursive: true, force: true })));

function sysfs(chips: [string, string | number, string | number, string][]): string {
  const root = mkdtempSync(join(tmpdir(), 'hearth-sysfs-'));
  roots.push(root);
  const gpio = join(root, 'class', 'gpio');
  mkdirSync(gpio, { recursive: true });
  writeFileSync(join(gpio, 'export'), '');
  for (const [name, base, ngpio, label] of chips) {
    mkdirSync(join(gpio, name));
    writeFileSync(join(gpio, name, 'base'), `${base}\n`);
    writeFileSync(join(gpio, name, 'ngpio'), `${ngpio}\n`);
    writeFileSync(join(gpio, name, 'label'), `${label}\n`);
  }
  return root;
}

describe('sysfs GPIO numbers', () => {
  it('Pi 4 on kernel 6.6: BCM 17 is gpio529, not gpio17; the firmware expander is not the header', () => {
    const root = sysfs([
      ['gpiochip504', 504, 8, 'raspberrypi-exp-gpio'],
      ['gpiochip512', 512, 58, 'pinctrl-bcm2711'],
    ]);
    const chips = listGpioChips(root);
    expect(chips.map((c) => c.name)).toEqual(['gpiochip504', 'gpiochip512']);
    const chip = pickHeaderChip(chips);
    expect(chip.label).toBe('pinctrl-bcm2711');
    expect(sysfsGpioNumber(chip, 17)).toBe(529);
  });

  it('Pi 5: the header is on RP1, preferred over the SoC pin controller', () => {
    const root = sysfs([
      ['gpiochip512', 512, 32, 'gpio-brcmstb@107d508500'],
      ['gpiochip544', 544, 4, 'gpio-brcmstb@107d517c00'],
      ['gpiochip571', 571, 54, 'pinctrl-rp1'],
    ]);
    expect(sysfsGpioNumber(pickHeaderChip(listGpioChips(root)), 17)).toBe(588);
  });

  it('older kernels and Pi 1-3/Zero: base 0 keeps the BCM number', () => {
    const root = sysfs([['gpiochip0', 0, 54, 'pinctrl-bcm2835']]);
    expect(sysfsGpioNumber(pickHeaderChip(listGpioChips(root)), 27)).toBe(27);
  });

  it('a configured label picks another board\'s chip; an unknown one is refused with what was found', () => {
    const root = sysfs([['gpiochip0', 0, 32, 'gpio-mockup-A']]);
    const chips = listGpioChips(root);
    expect(sysfsGpioNumber(pickHeaderChip(chips, 'gpio-mockup-A'), 3)).toBe(3);
    expect(() => pickHeaderChip(chips)).toThrow(/no Raspberry Pi pin controller.*gpiochip0 "gpio-mockup-A".*gpio\.chipLabel/);
    expect(() => pickHeaderChip(chips, 'pinctrl-rp1')).toThrow(/no gpiochip labelled "pinctrl-rp1"/);
  });

  it('refuses pins outside the chip', () => {
    const chip: GpioChip = { name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' };
    expect(() => sysfsGpioNumber(chip, 58)).toThrow(/outside/);
    expect(() => sysfsGpioNumber(chip, -1)).toThrow(/outside/);
    expect(sysfsGpioNumber(chip, 57)).toBe(569);
  });

  it('skips chips with unreadable or malformed attributes, and a missing tree means no chips', () => {
    const root = sysfs([
      ['gpiochip0', 'x', 54, 'pinctrl-bcm2835'],
      ['gpiochip512', 512, 58, 'pinctrl-bcm2711'],
    ]);
    mkdirSync(join(root, 'class', 'gpio', 'gpiochip600')); // no attributes at all
    expect(listGpioChips(root).map((c) => c.name)).toEqual(['gpiochip512']);
    expect(listGpioChips(join(root, 'nowhere'))).toEqual([]);
  });

  it('works over any directory reader (pure over listing and reads)', () => {
    const files: Record<string, string> = { '/s/class/gpio/gpiochip512/base': '512', '/s/class/gpio/gpiochip512/ngpio': '58', '/s/class/gpio/gpiochip512/label': 'pinctrl-bcm2711' };
    const chips = listGpioChips('/s', {
      list: (dir) => (dir === '/s/class/gpio' ? ['export', 'gpiochip512', 'unexport'] : []),
      read: (f) => {
        const v = files[f];
        if (v === undefined) throw new Error('ENOENT');
        return v;
      },
    });
    expect(chips).toEqual([{ name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' }]);
  });
});
