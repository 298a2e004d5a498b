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

  it('gives a failed batch\'s callbacks the error callbackError makes, once per batch, told how many wait', () => {
    const made: number[] = [];
    const got: (Error | null)[] = [];
    const gc = new GroupCommitter<number>({
      maxItems: 10,
      maxDelayMs: 1000,
      commit: () => {
        throw new Error('SQLITE_FULL: database or disk is full');
      },
      callbackError: (_err, waiting) => (made.push(waiting), new Error('not stored')),
    });
    gc.add(1, (e) => got.push(e));
    gc.add(2); // no callback (QoS 0): not counted as waiting
    gc.add(3, (e) => got.push(e));
    gc.flush();
    expect(made).toEqual([2]);
    expect(got.map((e) => e?.message)).toEqual(['not stored', 'not stored']);
    expect(got[0]).toBe(got[1]);
  });

  it('hands every batch to settled after its callbacks, committed, failed, or with a callback that threw', () => {
    const order: string[] = [];
    let fail = false;
    const gc = new GroupCommitter<number>({
      maxItems: 10,
      maxDelayMs: 1000,
      commit: () => {
        if (fail) throw new Error('disk trouble');
      },
      settled: (items) => order.push(`settled ${items.join(',')}`),
    });
    gc.add(1, () => order.push('cb 1'));
    gc.flush();
    fail = true;
    gc.add(2, () => order.push('cb 2'));
    gc.flush();
    fail = false;
    gc.add(3, () => {
      throw new Error('callback bug');
    });
    expect(() => gc.flush()).toThrow(/callback bug/);
    expect(order).toEqual(['cb 1', 'settled 1', 'cb 2', 'settled 2', 'settled 3']);
  });
});
