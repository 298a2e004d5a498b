/**
 * A progress indicator for long commands (key rotation): on a terminal one line redrawn in place
 * with a bar; otherwise (a pipe, a log, a test) a plain line at each tenth, so a journal is not
 * flooded. The text is the command's own words and counts, never a stored value.
 */
export interface Progress {
  /** `done` of `total` steps of `label` are done. */
  update(label: string, done: number, total: number): void;
  /** Ends the indicator (the terminal line is finished). */
  end(): void;
}

const BAR_WIDTH = 24;

/** `[#########...............]  37 %`: pure, for the terminal line. */
export function progressBar(done: number, total: number, width = BAR_WIDTH): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)} %`;
}

export function createProgress(write: (text: string) => void, isTerminal: boolean): Progress {
  let drawn = false;
  const lastTenth = new Map<string, number>();
  return {
    update(label, done, total) {
      if (isTerminal) {
        write(`\r${progressBar(done, total)} ${label} ${done}/${total}\x1b[K`);
        drawn = true;
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (lastTenth.get(label) === tenth) return;
      lastTenth.set(label, tenth);
      write(`${label}: ${done}/${total} (${tenth * 10} %)\n`);
    },
    end() {
      if (drawn) write('\n');
      drawn = false;
    },
  };
}
