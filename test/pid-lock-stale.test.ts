/**
 * After a power cut the pid in a leftover `hearth.pid` may belong to an unrelated process by the
 * next boot: that must not block the start. A live daemon's file still does.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquirePidLock, AlreadyRunningError, processStartTime, runningDaemonPid } from '../src/hub/pid-lock.js';
import { tempDir } from './helpers/hub.js';
import { recordTally } from './helpers/robustness.js';

describe('stale pid file', () => {
  const dir = tempDir();
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  afterAll(() => {
    other.kill();
    dir.cleanup();
  });

  it('takes over a file whose pid now belongs to another process, and refuses one of a live daemon', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const pid = other.pid!;
    const started = processStartTime(pid);
    expect(started).toMatch(/^\d+$/);
    const file = join(dir.path, 'hearth.pid');
    // The daemon that wrote it started at another time: the pid was reused.
    writeFileSync(file, `${pid} ${Number(started) - 12345}\n`);
    expect(runningDaemonPid(dir.path)).toBeUndefined();
    const release = acquirePidLock(dir.path);
    expect(readFileSync(file, 'utf8')).toBe(`${process.pid} ${processStartTime(process.pid)}\n`);
    release();
    // The same pid and start time: that process is the daemon.
    writeFileSync(file, `${pid} ${started}\n`);
    expect(runningDaemonPid(dir.path)).toBe(pid);
    expect(() => acquirePidLock(dir.path)).toThrow(AlreadyRunningError);
    recordTally({ surface: 'pid-file', tried: 2, refused: 1, accepted: 1, crashes: 0, dataLost: 0 });
  });
});
