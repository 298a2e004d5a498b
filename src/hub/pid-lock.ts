/**
 * One daemon per data dir: `hearth.pid` is created exclusively; a file left by a process that no
 * longer exists (after a power cut or SIGKILL) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE_NAME = 'hearth.pid';

export class AlreadyRunningError extends Error {
  constructor(readonly pid: number) {
    super(`another hearth daemon (pid ${pid}) is already running on this data dir`);
    this.name = 'AlreadyRunningError';
  }
}

export function runningDaemonPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILE_NAME), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive but not ours to signal, still running.
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return Number(readFileSync(join(dataDir, PID_FILE_NAME), 'utf8').trim());
    return undefined;
  }
}

export function acquirePidLock(dataDir: string): () => void {
  const path = join(dataDir, PID_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = runningDaemonPid(dataDir);
      if (pid !== undefined && pid !== process.pid) throw new AlreadyRunningError(pid);
      unlinkSync(path); // stale
    }
  }
  throw new Error('could not take the daemon lock');
}
