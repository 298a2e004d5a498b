/**
 * The hub's GPIO: the privacy switch and the CLI/web flag combined into the one PrivacyGate the
 * uplink obeys (paused if either says so), and the activity LED as uplink send hooks. On a machine
 * without usable GPIO (a PC, CI, a container, a user outside the gpio group) it says so once in
 * the log and runs with the flag alone; a GPIO problem never stops the hub.
 */
import type { HearthConfig } from '../../config/config.js';
import type { Logger } from '../../log/logger.js';
import type { DomainBus } from '../../bus/bus.js';
import type { Db } from '../../store/database.js';
import type { SendHooks } from '../../uplink/client.js';
import { anyPaused, openGate, type PrivacyGate } from '../../uplink/privacy-gate.js';
import { GpioResolveError, listGpioChips, pickHeaderChip, sysfsGpioNumber, realSysfs, type SysfsReader } from './chips.js';
import { ActivityLed } from './led.js';
import { onoffPins, type GpioPins } from './pins.js';
import { PrivacyFlagGate } from '../../uplink/privacy-flag.js';
import { PrivacySwitch } from './privacy-switch.js';

export interface PrivacyStatus {
  paused: boolean;
  /** The hardware switch is on ("paused by switch" in the UI). */
  bySwitch: boolean;
  /** `hearth privacy pause` (or the web UI) set the flag. */
  byCommand: boolean;
  switchPresent: boolean;
}

export interface HubPrivacyGate extends PrivacyGate {
  status(): PrivacyStatus;
  /** The software flag, for the web UI; the CLI writes the database directly. */
  setPausedByCommand(paused: boolean): void;
}

export interface HubGpio {
  gate: HubPrivacyGate;
  /** Lights the LED while a report is sent; no-ops without an LED. */
  led: SendHooks & { lightWhile<T>(work: Promise<T>): Promise<T> };
  /** Sysfs GPIO numbers in use, for the startup log and tests. */
  pins: { switch?: number; led?: number };
  stop(): void;
}

export interface HubGpioOptions {
  config: HearthConfig['gpio'];
  db: Db;
  logger: Logger;
  /** Where sysfs is mounted (tests point it at a throwaway tree). */
  sysfsRoot?: string;
  sysfs?: SysfsReader;
  pins?: GpioPins;
  /**
   * The daemon's bus: the flag is re-read on `store.external-change`, every change of the combined
   * gate is emitted as `privacy.changed`, and the LED follows `report.sending` / `report.sent`.
   * Without it (standalone use) the flag polls the database every flagPollMs.
   */
  bus?: DomainBus;
  flagPollMs?: number;
}

const OWNER = 'privacy';

const NO_GPIO_HINT = 'the privacy switch and LED are off; pause uploads with `hearth privacy pause`';

export function startHubGpio(opts: HubGpioOptions): HubGpio {
  const log = opts.logger.child({ component: 'gpio' });
  const cfg = opts.config;
  const bus = opts.bus;
  const flag = new PrivacyFlagGate(opts.db, bus ? undefined : (opts.flagPollMs ?? 1000));
  flag.start();

  let privacySwitch: PrivacySwitch | undefined;
  let led: ActivityLed | undefined;
  const used: HubGpio['pins'] = {};

  const wanted = cfg.enabled && (cfg.switchPin >= 0 || cfg.ledPin >= 0);
  if (!cfg.enabled) log.info(`GPIO disabled by configuration; ${NO_GPIO_HINT}`);
  else if (wanted) {
    const pins = opts.pins ?? onoffPins();
    const chips = listGpioChips(opts.sysfsRoot ?? '/sys', opts.sysfs ?? realSysfs);
    if (chips.length === 0 || !pins.available()) {
      log.info(`no usable GPIO on this machine (no writable sysfs GPIO interface); ${NO_GPIO_HINT}`);
    } else {
      try {
        const chip = pickHeaderChip(chips, cfg.chipLabel);
        if (cfg.switchPin >= 0) {
          const n = sysfsGpioNumber(chip, cfg.switchPin);
          const input = pins.openInput(n, { activeLow: cfg.switchActiveLow });
          privacySwitch = new PrivacySwitch({ pin: input, mode: cfg.switchMode, debounceMs: cfg.debounceMs, pollMs: cfg.pollMs, logger: log });
          privacySwitch.start();
          used.switch = n;
          log.info('privacy switch ready', { pin: cfg.switchPin, chip: chip.label, offset: n, type: cfg.switchMode });
        }
        if (cfg.ledPin >= 0) {
          const n = sysfsGpioNumber(chip, cfg.ledPin);
          led = new ActivityLed(pins.openOutput(n), log);
          used.led = n;
          log.info('activity LED ready', { pin: cfg.ledPin, chip: chip.label, offset: n });
        }
      } catch (err) {
        const reason = err instanceof GpioResolveError ? err.message : `${(err as NodeJS.ErrnoException).code ?? 'error'} opening a GPIO pin (is the service user in the gpio group?)`;
        log.error(`GPIO unavailable: ${reason}; ${NO_GPIO_HINT}`);
      }
    }
  }

  const switchGate: PrivacyGate = privacySwitch ?? openGate;
  const combined = anyPaused(switchGate, flag);
  const gate: HubPrivacyGate = {
    isPaused: combined.isPaused,
    onChange: combined.onChange,
    status: () => ({ paused: combined.isPaused(), bySwitch: switchGate.isPaused(), byCommand: flag.isPaused(), switchPresent: privacySwitch !== undefined }),
    setPausedByCommand: (paused) => flag.setPaused(paused),
  };

  const ledHooks: HubGpio['led'] = led ?? { lightWhile: (work) => work };
  const unsubscribe: (() => void)[] = [];
  if (bus) {
    bus.on('store.external-change', OWNER, () => flag.check());
    // Each source on its own: a switch flipped while paused by command changes what the page shows.
    const announce = () => {
      const s = gate.status();
      bus.emit('privacy.changed', { paused: s.paused, bySwitch: s.bySwitch, byCommand: s.byCommand });
    };
    unsubscribe.push(switchGate.onChange(announce), flag.onChange(announce));
    if (led) {
      const lit = led;
      bus.on('report.sending', OWNER, () => lit.onSendStart());
      bus.on('report.sent', OWNER, () => lit.onSendEnd());
    }
  }
  return {
    gate,
    led: ledHooks,
    pins: used,
    stop() {
      bus?.removeOwner(OWNER);
      for (const off of unsubscribe) off();
      flag.stop();
      privacySwitch?.close();
      led?.close();
    },
  };
}
