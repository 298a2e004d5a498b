/**
 * The settings page: the uplink URL, the report window, the daily epsilon budget and how many
 * questions share it. Changes are
 * validated by the same rules as the config file and written to <data dir>/hearth.json
 * (atomically, mode 0600); the running hub keeps its current values until it restarts, and an
 * environment variable or flag for the same setting still wins — the response says so.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSetting, CONFIG_FIELDS, CONFIG_FILE_NAME, readConfigFileOf, type HearthConfig } from '../../config/config.js';

const EDITABLE = ['url', 'windowSeconds', 'questionsPerDay', 'dailyEpsilonBudget'] as const;

/** The editable settings saved in hearth.json; a value the config rules refuse is left out. */
export interface SavedUplink {
  url?: string | null;
  windowSeconds?: number;
  questionsPerDay?: number;
  dailyEpsilonBudget?: number;
}

function savedEditable(uplink: Record<string, unknown>): SavedUplink {
  const saved: Record<string, unknown> = {};
  for (const k of EDITABLE) {
    if (uplink[k] === undefined) continue;
    const checked = checkSetting(`uplink.${k}`, uplink[k]);
    if ('value' in checked) saved[k] = checked.value;
  }
  return saved as SavedUplink;
}

export function readSettings(config: HearthConfig) {
  const file = readConfigFileOf(config.dataDir);
  const saved = savedEditable((file.uplink ?? {}) as Record<string, unknown>);
  const pending = EDITABLE.some((k) => saved[k] !== undefined && saved[k] !== config.uplink[k]);
  return {
    uplink: { url: config.uplink.url, windowSeconds: config.uplink.windowSeconds, questionsPerDay: config.uplink.questionsPerDay, dailyEpsilonBudget: config.uplink.dailyEpsilonBudget },
    saved,
    note: pending ? 'Saved changes apply when the hub restarts.' : 'Epsilon is how much the reports of one day may reveal about this home: smaller means more randomness and more privacy. The daily budget is shared by every consented category; it is split over the questions answered each day (one by default, which gives the maker the most accurate figures).',
  };
}

export function writeUplinkSettings(config: HearthConfig, body: unknown): { problems: string[] } | { saved: SavedUplink; note: string } {
  const input = (body as { uplink?: unknown } | undefined)?.uplink;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { problems: ['send { "uplink": { ... } }'] };
  const problems: string[] = [];
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!(EDITABLE as readonly string[]).includes(key)) {
      problems.push(`uplink.${key} cannot be changed here`);
      continue;
    }
    const checked = checkSetting(`uplink.${key}`, value);
    if ('problems' in checked) problems.push(...checked.problems);
    else changes[key] = checked.value;
  }
  if (problems.length > 0) return { problems };
  const file = readConfigFileOf(config.dataDir);
  const uplink = { ...((file.uplink as Record<string, unknown> | undefined) ?? {}), ...changes };
  const next = { ...file, uplink };
  const path = join(config.dataDir, CONFIG_FILE_NAME);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
  const overridden = Object.keys(changes)
    .map((k) => CONFIG_FIELDS.find((f) => f.path === `uplink.${k}`)?.env)
    .filter((env): env is string => env !== undefined && process.env[env] !== undefined);
  const note = `Saved to ${CONFIG_FILE_NAME}; the hub uses the new values after a restart.${overridden.length ? ` Note: ${overridden.join(', ')} set in the environment still win.` : ''}`;
  return { saved: savedEditable(uplink), note };
}
