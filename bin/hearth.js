#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/ into dist/ by `npm run build` (run on install by "prepare").
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('hearth: not built yet; run `npm run build` (or `npm install`) first\n');
  process.exit(1);
}
// Everything the hub writes (database, WAL, key, backups) is for its own user only.
process.umask(0o077);
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
