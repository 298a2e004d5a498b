import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    tallyDir: string;
  }
}

const root = fileURLToPath(new URL('..', import.meta.url));
// One folder per run, so two runs at once (or a leftover) cannot mix their totals.
const tallyDir = join(root, 'test-artifacts', 'robustness', `run-${process.pid}`);

// Tests that spawn the daemon or the CLI run the compiled output, exactly as a user would.
export default function setup(project: TestProject): () => void {
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  rmSync(tallyDir, { recursive: true, force: true });
  project.provide('tallyDir', tallyDir);
  return () => {
    printRobustnessTotals();
    rmSync(tallyDir, { recursive: true, force: true });
  };
}

/** Prints what the hostile-input tests tried, at the end of the run. */
function printRobustnessTotals(): void {
  if (!existsSync(tallyDir)) return;
  const rows = readdirSync(tallyDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(tallyDir, f), 'utf8')) as Record<string, number | string>);
  if (rows.length === 0) return;
  const sum = (k: string) => rows.reduce((n, r) => n + Number(r[k] ?? 0), 0);
  const lines = ['', 'Hostile input and fault totals:'];
  for (const r of rows) lines.push(`  ${String(r.surface).padEnd(22)} tried ${r.tried}, refused ${r.refused}, accepted ${r.accepted}, crashes ${r.crashes}, data lost ${r.dataLost}`);
  lines.push(`  ${'all'.padEnd(22)} tried ${sum('tried')}, refused ${sum('refused')}, accepted ${sum('accepted')}, crashes ${sum('crashes')}, data lost ${sum('dataLost')}`, '');
  process.stdout.write(lines.join('\n') + '\n');
}
