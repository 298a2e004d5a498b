/**
 * The CLI's progress indicator (src/cli/progress.ts): a bar redrawn in place on a terminal, a
 * line per tenth elsewhere, and the bar itself.
 */
import { describe, expect, it } from 'vitest';
import { createProgress, progressBar } from '../src/cli/progress.js';

describe('progress indicator', () => {
  it('draws the bar by fraction, bounded', () => {
    expect(progressBar(0, 10, 10)).toBe('[..........]   0 %');
    expect(progressBar(37, 100, 10)).toBe('[####......]  37 %');
    expect(progressBar(10, 10, 10)).toBe('[##########] 100 %');
    expect(progressBar(20, 10, 10)).toBe('[##########] 100 %');
    expect(progressBar(0, 0, 4)).toBe('[####] 100 %');
  });

  it('on a terminal redraws one line in place and finishes it', () => {
    const out: string[] = [];
    const p = createProgress((t) => out.push(t), true);
    for (let i = 0; i <= 4; i++) p.update('re-sealing events.detail', i, 4);
    p.end();
    expect(out).toHaveLength(6);
    expect(out.slice(0, 5).every((t) => t.startsWith('\r') && !t.includes('\n'))).toBe(true);
    expect(out[4]).toContain('[########################] 100 % re-sealing events.detail 4/4');
    expect(out[5]).toBe('\n');
  });

  it('elsewhere writes a line only when a new tenth is reached, per label', () => {
    const out: string[] = [];
    const p = createProgress((t) => out.push(t), false);
    for (let i = 0; i <= 1000; i++) p.update('a', i, 1000);
    p.update('b', 1, 1);
    p.end();
    expect(out).toHaveLength(12);
    expect(out[0]).toBe('a: 0/1000 (0 %)\n');
    expect(out[10]).toBe('a: 1000/1000 (100 %)\n');
    expect(out[11]).toBe('b: 1/1 (100 %)\n');
  });
});
