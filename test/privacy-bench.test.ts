/**
 * `npm run bench:privacy` as a reader runs it: with a --truth file of their own homes, repeated runs
 * and a JSON file, the documented shape comes out (every metric's `<metric>_mean` with estimate,
 * interval, truth and half-width; `coverage` when repeated), and the truths are the file's
 * population means of the clamped values. A bad file is refused with the line and the reason.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/hub.js';

const BENCH = new URL('../bench/privacy.mjs', import.meta.url).pathname;
const METRIC_BOUNDS = { activations: 5, cameras: 16, scales: 4, connect_attempts: 50, connect_failures: 50, online_percent: 100, reboots: 10, weigh_ins: 20 };

describe('bench:privacy', () => {
  it('takes the homes from a truth file and writes the statistics, their truths and the coverage as JSON', () => {
    const dir = tempDir('hearth-bench-privacy-');
    try {
      const homes = Array.from({ length: 40 }, (_, i) => ({ cameras: i % 20, connect_attempts: 3 * (i % 7), connect_failures: i % 3, online_percent: 90, weigh_ins: i % 2 ? 4 : undefined }));
      writeFileSync(join(dir.path, 'homes.jsonl'), homes.map((h) => JSON.stringify(h)).join('\n') + '\n');
      const out = join(dir.path, 'out.json');
      const res = spawnSync(process.execPath, [BENCH, '--truth', join(dir.path, 'homes.jsonl'), '--homes', '400', '--days', '2', '--runs', '3', '--json', out, '--seed', 't'], { encoding: 'utf8' });
      expect(res.stderr).toBe('');
      expect(res.status).toBe(0);
      expect(res.stdout).toMatch(/coverage of the 95% intervals over 3 runs/);
      const json = JSON.parse(readFileSync(out, 'utf8'));
      expect(json).toMatchObject({ homes: 400, days: 2 });
      expect(json.coverage.runs).toBe(3);
      expect(json.coverage.overall).toBeGreaterThanOrEqual(0);
      for (const [metric, bound] of Object.entries(METRIC_BOUNDS)) {
        const s = json.statistics[`${metric}_mean`];
        expect(Object.keys(s)).toEqual(expect.arrayContaining(['estimate', 'ci_low', 'ci_high', 'truth', 'half_width_share_of_range']));
        expect(s.ci_low).toBeLessThanOrEqual(s.estimate);
        expect(s.ci_high).toBeGreaterThanOrEqual(s.estimate);
        expect(s.half_width_share_of_range).toBeCloseTo((s.ci_high - s.ci_low) / 2 / bound, 10);
        // The homes are taken in turn (400 = 10 × 40), so the truth is the file's mean of the clamped value.
        const truth = homes.reduce((t, h) => t + Math.min(bound, (h as Record<string, number | undefined>)[metric] ?? 0), 0) / homes.length;
        expect(s.truth).toBeCloseTo(truth, 10);
      }
      expect(json.statistics.has_scale_share.truth).toBe(0);
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a truth file it cannot read as homes, naming the line and the reason', () => {
    const dir = tempDir('hearth-bench-privacy-');
    try {
      writeFileSync(join(dir.path, 'bad.jsonl'), '{"cameras":2}\n{"cameras":-1}\n');
      const res = spawnSync(process.execPath, [BENCH, '--truth', join(dir.path, 'bad.jsonl'), '--homes', '10'], { encoding: 'utf8' });
      expect(res.status).toBe(2);
      expect(res.stderr.trim()).toMatch(/bad\.jsonl:2: cameras must be a number >= 0$/);
      writeFileSync(join(dir.path, 'bad.jsonl'), '{"weight_kg":80}\n');
      expect(spawnSync(process.execPath, [BENCH, '--truth', join(dir.path, 'bad.jsonl')], { encoding: 'utf8' }).stderr).toMatch(/unknown metric "weight_kg"/);
      expect(spawnSync(process.execPath, [BENCH, '--homes', 'many'], { encoding: 'utf8' }).status).toBe(2);
    } finally {
      dir.cleanup();
    }
  });
});
