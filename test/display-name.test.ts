import { describe, expect, it } from 'vitest';
import { nicknameProblem } from '../src/devices/registry.js';
import { memberNameProblem } from '../src/members/store.js';

describe('display names (nicknames, member names)', () => {
  it('accepts ordinary names in any script', () => {
    for (const n of ['Front door', 'Küche', 'غرفة النوم', '子供部屋', 'Anna 🐈']) {
      expect(nicknameProblem(n)).toBeUndefined();
      expect(memberNameProblem(n)).toBeUndefined();
    }
  });

  it('refuses empty, oversized, control characters and text-direction overrides with a reason', () => {
    expect(nicknameProblem('  ')).toBe('the nickname is empty');
    expect(memberNameProblem('x'.repeat(65))).toMatch(/longer than 64 bytes/);
    expect(nicknameProblem('a\u0007b')).toMatch(/control characters/);
    expect(nicknameProblem('a\u0085b')).toMatch(/control characters/);
    // "Garage" shown as if it were another name: a right-to-left override.
    expect(nicknameProblem('Kids\u202Eegarag')).toMatch(/text-direction/);
    expect(memberNameProblem('Ann\u2066a')).toMatch(/text-direction/);
  });
});
