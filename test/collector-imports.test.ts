/**
 * The collector is the maker's program: it may share the report schema, canonical JSON, signature
 * check and estimators with the hub, but must never load the hub's daemon code. This walks the
 * compiled collector's runtime import graph (what Node actually loads, type-only imports erased)
 * from its entry point and fails if it reaches the hub, broker, store, web or device code.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/hub.js';

const DIST = join(ROOT, 'dist');
const FORBIDDEN = ['hub', 'broker', 'store', 'web', 'devices', 'cli'];
const IMPORT = /(?:^|[;\s])(?:import|export)\s*(?:[\w*${}\s,]+from\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2]!;
    if (spec.startsWith('.')) out.push(resolve(dirname(file), spec));
  }
  return out;
}

function graph(entry: string): Map<string, string> {
  const seen = new Map<string, string>([[entry, '(entry)']]);
  const queue = [entry];
  while (queue.length) {
    const file = queue.shift()!;
    for (const dep of localImports(file)) {
      if (!seen.has(dep)) {
        seen.set(dep, file);
        queue.push(dep);
      }
    }
  }
  return seen;
}

describe('the collector’s imports', () => {
  it('never reach the hub’s daemon code', () => {
    const entry = join(DIST, 'collector', 'main.js');
    expect(existsSync(entry)).toBe(true);
    const files = graph(entry);
    const modules = [...files.keys()].map((f) => relative(DIST, f));
    // It does load the shared parts (so the walk sees through to them)...
    expect(modules).toEqual(expect.arrayContaining(['uplink/report.js', 'uplink/canonical.js', 'collector/store.js']));
    // ...and nothing of the daemon.
    const bad = modules.filter((m) => FORBIDDEN.includes(m.split('/')[0]!)).map((m) => `${m} (from ${relative(DIST, files.get(join(DIST, m))!)})`);
    expect(bad).toEqual([]);
  });

  it('the walk itself finds daemon code where it is loaded', () => {
    const modules = [...graph(join(DIST, 'cli', 'main.js')).keys()].map((f) => relative(DIST, f));
    expect(modules.some((m) => m.startsWith('hub/'))).toBe(true);
    expect(modules.some((m) => m.startsWith('store/'))).toBe(true);
  });
});
