/** hearth's version from package.json (src/… and dist/… are both two levels below the root's parent). */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function hearthVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
