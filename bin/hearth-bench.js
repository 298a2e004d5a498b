#!/usr/bin/env node
// `npm run bench`: the hub's ingest path measured against a bare aedes broker in the same run (bench/run.mjs).
const { main } = await import(new URL('../bench/run.mjs', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
