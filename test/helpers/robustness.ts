/**
 * Hostile-input tallies. Each fuzz test records what it tried; the global teardown prints the
 * totals at the end of the suite run (test/global-setup.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface Tally {
  surface: string;
  tried: number;
  refused: number;
  accepted: number;
  crashes: number;
  dataLost: number;
}

export function recordTally(t: Tally): void {
  const dir = inject('tallyDir');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${t.surface}.json`), JSON.stringify(t));
}

// The same seeded generator the soak script uses (a failing run replays from its seed).
// @ts-expect-error: a plain ES module without type declarations
export { prng } from '../../scripts/lib/prng.mjs';
