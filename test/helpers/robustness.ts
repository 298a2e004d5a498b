/**
 * Hostile-input tallies. Each fuzz test records what it tried; the global teardown prints the
 * totals at the end of the suite run (test/global-setup.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './hub.js';

export const TALLY_DIR = join(ROOT, 'test-artifacts', 'robustness');

export interface Tally {
  surface: string;
  tried: number;
  refused: number;
  accepted: number;
  crashes: number;
  dataLost: number;
}

export function recordTally(t: Tally): void {
  mkdirSync(TALLY_DIR, { recursive: true });
  writeFileSync(join(TALLY_DIR, `${t.surface}.json`), JSON.stringify(t));
}

/** Small deterministic PRNG (mulberry32) so a failing fuzz run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
