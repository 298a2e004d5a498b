/**
 * The narrow interface the hub needs from GPIO: read one input, drive one output, release them.
 * onoff (the sysfs GPIO interface) implements it on a Pi; tests and hubs without GPIO use others.
 */
import { createRequire } from 'node:module';
import type { Level } from './debounce.js';

export interface InputPin {
  read(): Level;
  close(): void;
}

export interface OutputPin {
  write(level: Level): void;
  close(): void;
}

export interface GpioPins {
  /** True when the sysfs GPIO interface can be used by this process. */
  available(): boolean;
  openInput(sysfsNumber: number, opts: { activeLow: boolean }): InputPin;
  openOutput(sysfsNumber: number): OutputPin;
}

interface OnoffGpio {
  readSync(): number;
  writeSync(value: number): void;
  unexport(): void;
}

interface OnoffModule {
  Gpio: {
    new (gpio: number, direction: 'in' | 'out' | 'high' | 'low', edge?: 'none' | 'rising' | 'falling' | 'both', options?: { activeLow?: boolean; reconfigureDirection?: boolean }): OnoffGpio;
    readonly accessible: boolean;
  };
}

/**
 * onoff, loaded lazily: its native epoll addon is only needed on a board that has GPIO. Inputs are
 * opened with edge "none" and sampled by the caller (see privacy-switch.ts), so no interrupt
 * plumbing is involved. Outputs start low.
 */
export function onoffPins(): GpioPins {
  let mod: OnoffModule | undefined;
  const load = (): OnoffModule => (mod ??= createRequire(import.meta.url)('onoff') as OnoffModule);
  return {
    available() {
      try {
        return load().Gpio.accessible;
      } catch {
        return false;
      }
    },
    openInput(n, opts) {
      const gpio = new (load().Gpio)(n, 'in', 'none', { activeLow: opts.activeLow });
      return { read: () => (gpio.readSync() === 1 ? 1 : 0), close: () => gpio.unexport() };
    },
    openOutput(n) {
      const gpio = new (load().Gpio)(n, 'low');
      return {
        write: (level) => gpio.writeSync(level),
        close: () => {
          gpio.writeSync(0);
          gpio.unexport();
        },
      };
    },
  };
}
