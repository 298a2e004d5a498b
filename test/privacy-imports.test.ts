/**
 * The estimators and the report format 2 are loaded by the collector as they are: their import
 * graph (including type-only imports) must not reach hub, store, web, broker or device code.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
const ENTRY_POINTS = ['metrics/ldp/estimators.ts', 'metrics/ldp/daily.ts', 'uplink/report-v2.ts', 'uplink/report.ts'];
const FORBIDDEN = /^(hub|store|web|broker|devices)\//;

function importGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      visit(relative(SRC, resolve(dirname(join(SRC, file)), m[1]!.replace(/\.js$/, '.ts'))));
    }
  };
  visit(entry);
  return seen;
}

describe('the modules a collector imports', () => {
  it.each(ENTRY_POINTS)('%s reaches no hub, store, web, broker or device code', (entry) => {
    const graph = [...importGraph(entry)];
    expect(graph.length).toBeGreaterThan(1);
    expect(graph.filter((f) => FORBIDDEN.test(f))).toEqual([]);
  });
});
