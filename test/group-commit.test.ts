import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../src/store/group-commit.js';

describe('group commit', () => {
  it('commits after maxItems in one batch and only then calls back', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<number>({ maxItems: 3, maxDelayMs: 1000, commit: (items) => batches.push([...items]) });
    const done: number[] = [];
    for (let i = 0; i < 3; i++) gc.add(i, () => done.push(i));
    expect(done).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[0, 1, 2]]);
    expect(done).toEqual([0, 1, 2]);
  });

  it('commits a partial batch after maxDelayMs', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<number>({ maxItems: 100, maxDelayMs: 5, commit: (items) => batches.push([...items]) });
    let called = false;
    gc.add(7, () => (called = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(batches).toEqual([[7]]);
    expect(called).toBe(true);
  });

  it('passes a failed commit to every callback of the batch and keeps working', () => {
    let fail = true;
    const errors: (Error | null)[] = [];
    const gc = new GroupCommitter<number>({
      maxItems: 10,
      maxDelayMs: 1000,
      commit: () => {
        if (fail) throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
      },
    });
    gc.add(1, (e) => errors.push(e));
    gc.add(2, (e) => errors.push(e));
    gc.flush();
    fail = false;
    gc.add(3, (e) => errors.push(e));
    gc.flush();
    expect(errors.map((e) => e?.message ?? null)).toEqual(['disk full', 'disk full', null]);
    expect(gc.stats).toMatchObject({ failedBatches: 1, batches: 1, items: 1 });
  });

  it('refuses writes after close, having committed what was pending', () => {
    const committed: number[] = [];
    const gc = new GroupCommitter<number>({ maxItems: 10, maxDelayMs: 1000, commit: (items) => committed.push(...items) });
    gc.add(1);
    gc.close();
    let err: Error | null = null;
    gc.add(2, (e) => (err = e));
    expect(committed).toEqual([1]);
    expect(err).toBeInstanceOf(Error);
  });
});
