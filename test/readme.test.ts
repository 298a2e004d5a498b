/**
 * The README is the user's reference: every configuration field and every command must be in it,
 * so a setting or command added without documentation fails the suite.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands/index.js';
import { CONFIG_FIELDS } from '../src/config/config.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('documents every configuration field with its environment variable', () => {
    const missing = CONFIG_FIELDS.filter((f) => !readme.includes(`\`${f.path}\``) || (f.env !== undefined && !readme.includes(f.env))).map((f) => f.path);
    expect(missing).toEqual([]);
  });

  it('names every command', () => {
    const missing = COMMANDS.filter((c) => !readme.includes(`hearth ${c.name}`)).map((c) => c.name);
    expect(missing).toEqual([]);
  });

  it('shows how to start the hub and run the tests', () => {
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});
