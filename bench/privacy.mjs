/**
 * `npm run bench:privacy`: how useful the private reports are to the maker. Simulates N homes for D
 * days through the hub's own answering code (question choice, encoding, memoization, the home's
 * daily budget), pools the D days with the collector's estimators and prints, per statistic, the
 * truth, the estimate, the 95 % interval, its half-width as a share of the statistic's range and
 * whether the truth lies inside; with --runs R, the empirical coverage of the intervals. Format 1
 * (discrete Laplace per metric) is shown alongside from its variance formula. See docs/privacy.md.
 */
import { writeFileSync } from 'node:fs';
import { formatOneHalfWidths, homesFromFile, warmupDays, populationVariance, simulate, STATISTICS, syntheticHome } from './lib/privacy-sim.mjs';

const USAGE = `usage: npm run bench:privacy -- [--homes N] [--days D] [--truth FILE] [--json FILE] [--runs R]
  --homes N            homes (default 100000; with --truth, the file's homes are taken in turn)
  --days D             days pooled by the maker (default 7)
  --truth FILE         JSON lines, one object of metric values per home (missing keys = 0), the same every day
  --json FILE          also write the results as JSON
  --runs R             repeat R times (fresh randomness) and report the empirical coverage of the intervals
  --daily-epsilon E    the home's daily cap (default 1)
  --per-day K          fresh questions a day, each with E/K (default 1)
  --warmup W           days answered before the pooled ones (default: enough for every memo)
  --seed S             seed of the simulation (default: a random one)
  --homes-table LIST   instead: the largest half-width per statistic for each number of homes (e.g. 1000,10000,100000)
  --allocations LIST   instead: compare fresh questions per day (e.g. 1,2,4,8) at --homes`;

function parse(argv) {
  const o = { homes: undefined, days: 7, runs: 1, dailyEpsilon: 1, perDay: 1, warmup: undefined, seed: String(Date.now() ^ (Math.random() * 2 ** 31)) };
  const num = (v, name, min) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}`);
    return n;
  };
  const list = (v, name) => String(v).split(',').map((x) => Math.round(num(x, name, 1)));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--homes': o.homes = Math.round(num(v, a, 2)); i++; break;
      case '--days': o.days = Math.round(num(v, a, 1)); i++; break;
      case '--truth': o.truth = v; i++; break;
      case '--json': o.json = v; i++; break;
      case '--runs': o.runs = Math.round(num(v, a, 1)); i++; break;
      case '--daily-epsilon': o.dailyEpsilon = num(v, a, 0.01); i++; break;
      case '--per-day': o.perDay = Math.round(num(v, a, 1)); i++; break;
      case '--warmup': o.warmup = Math.round(num(v, a, 0)); i++; break;
      case '--seed': o.seed = String(v); i++; break;
      case '--homes-table': o.homesTable = list(v, a); i++; break;
      case '--allocations': o.allocations = list(v, a); i++; break;
      case '--help': case '-h': o.help = true; break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

const pct = (x) => (x === null || x === undefined ? '   –  ' : `${(100 * x).toFixed(2).padStart(5)}%`);
const fmt = (x) => (x === null ? '–' : x.toFixed(4));

export async function main(argv) {
  let o;
  try {
    o = parse(argv);
  } catch (e) {
    console.error(`${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  let fileHomes;
  try {
    fileHomes = o.truth ? homesFromFile(o.truth) : undefined;
  } catch (e) {
    console.error(e.code === 'ENOENT' ? `${o.truth}: no such file` : e.message);
    return 2;
  }
  const homes = o.homes ?? (fileHomes ? fileHomes.length : 100_000);
  const makeHome = fileHomes ? (h) => fileHomes[h % fileHomes.length] : (_h, rng) => syntheticHome(rng);
  const warmup = o.warmup ?? warmupDays(o.perDay);
  const base = { homes, makeHome, days: o.days, warmup, dailyEpsilon: o.dailyEpsilon, questionsPerDay: o.perDay };
  const population = fileHomes ? `file ${o.truth} (${fileHomes.length} homes)` : 'synthetic (bench/lib/privacy-sim.mjs)';
  console.log(`privacy benchmark: ${homes} homes, ${o.days} days pooled after ${warmup} warm-up days, daily epsilon ${o.dailyEpsilon} in ${o.perDay} question(s), population ${population}`);

  if (o.homesTable || o.allocations) {
    const rows = [];
    const variants = o.homesTable ? o.homesTable.map((n) => ({ ...base, homes: n, label: `${n} homes` })) : o.allocations.map((k) => ({ ...base, questionsPerDay: k, warmup: o.warmup ?? warmupDays(k), label: `${k}/day` }));
    for (const v of variants) {
      const stats = simulate({ ...v, seed: `${o.seed}:${v.label}` });
      rows.push({ label: v.label, homes: v.homes, questions_per_day: v.questionsPerDay, statistics: stats });
      console.log(`  ${v.label.padEnd(14)} largest half-width ${pct(Math.max(...Object.values(stats).map((s) => s.half_width_share_of_range ?? Infinity)))}`);
    }
    console.log(`\n${'statistic'.padEnd(30)}${rows.map((r) => r.label.padStart(14)).join('')}`);
    for (const s of STATISTICS) console.log(`${s.name.padEnd(30)}${rows.map((r) => pct(r.statistics[s.name].half_width_share_of_range).padStart(14)).join('')}`);
    if (o.json) writeFileSync(o.json, JSON.stringify({ homes, days: o.days, daily_epsilon: o.dailyEpsilon, population, rows }, null, 2) + '\n');
    return 0;
  }

  const started = Date.now();
  const runs = [];
  for (let r = 0; r < o.runs; r++) runs.push(simulate({ ...base, seed: `${o.seed}:${r}` }));
  const first = runs[0];
  const v1 = formatOneHalfWidths({ homes, days: o.days, populationVariance: populationVariance({ ...base, seed: o.seed }) });

  console.log(`\n${'statistic'.padEnd(30)}${'truth'.padStart(10)}${'estimate'.padStart(10)}${'95% interval'.padStart(22)}  half-width  inside  format 1`);
  for (const s of STATISTICS) {
    const x = first[s.name];
    const ci = x.ci_low === null ? '–' : `[${fmt(x.ci_low)}, ${fmt(x.ci_high)}]`;
    console.log(`${s.name.padEnd(30)}${fmt(x.truth).padStart(10)}${fmt(x.estimate).padStart(10)}${ci.padStart(22)}  ${pct(x.half_width_share_of_range).padStart(10)}  ${(x.inside ? 'yes' : 'NO').padStart(6)}  ${v1[s.name] === undefined ? '' : pct(v1[s.name]).padStart(8)}`);
  }
  const worst = Math.max(...Object.values(first).map((s) => s.half_width_share_of_range ?? Infinity));
  console.log(`\nlargest half-width: ${pct(worst)} of the range (format 1, means only: ${pct(Math.max(...Object.values(v1)))})`);

  const result = {
    homes,
    days: o.days,
    warmup_days: warmup,
    daily_epsilon: o.dailyEpsilon,
    questions_per_day: o.perDay,
    population,
    seed: o.seed,
    statistics: first,
    largest_half_width_share_of_range: worst,
    format_1: { daily_epsilon: 1.5, half_width_share_of_range: v1 },
  };
  if (o.runs > 1) {
    const per = {};
    let inside = 0;
    let total = 0;
    for (const s of STATISTICS) {
      const hits = runs.filter((r) => r[s.name].inside).length;
      per[s.name] = hits / runs.length;
      inside += hits;
      total += runs.length;
    }
    result.coverage = { runs: o.runs, overall: inside / total, per_statistic: per };
    console.log(`coverage of the 95% intervals over ${o.runs} runs: ${pct(inside / total)} overall; per statistic ${pct(Math.min(...Object.values(per)))} to ${pct(Math.max(...Object.values(per)))}`);
  }
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
  if (o.json) writeFileSync(o.json, JSON.stringify(result, null, 2) + '\n');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
