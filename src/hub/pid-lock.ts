/**
 * One daemon per data dir: `hearth.pid` is created exclusively; a file left by a process that no
 * longer exists (after a power cut or SIGKILL) is taken over. After a power cut the pid in it may
 * since have gone to an unrelated process, so the file also records the process's start time
 * (Linux: /proc/<pid>/stat); a live process with that pid but another start time is not the
 * daemon. A file without a start time (from an older version, or where /proc is missing) counts
 * while its pid is alive, as before.
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

/** A process's start time in clock ticks since boot, or undefined where /proc cannot tell. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces; fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19]; // field 22, starttime
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runningDaemonPid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE_NAME), 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  if (started !== undefined) {
    const now = processStartTime(pid);
    if (now !== undefined && now !== started) return undefined; // the pid was reused
  }
  return pid;
}

/** What the pid file holds for this process: its pid and, where known, its start time. */
function pidFileText(): string {
  const started = processStartTime(process.pid);
  return started === undefined ? `${process.pid}\n` : `${process.pid} ${started}\n`;
}

export function acquirePidLock(dataDir: string): () => void {
  const path = join(dataDir, PID_FILE_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, pidFileText());
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim().split(/\s+/)[0] === String(process.pid)) unlinkSync(path);
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
