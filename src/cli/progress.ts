/**
 * A text progress bar for the command line and the demo: redrawn in place on a terminal (at
 * most every 100 ms), one line per tenth of the work otherwise (CI logs, pipes).
 *
 * ```
 * lstm  [██████████░░░░░░░░░░]  50%  1000/2000  loss 0.0123  14.8 ms/step  ETA 15s
 * ```
 */

/** Where a bar writes, and whether that is a terminal. @since 0.1.0 @category model */
export interface ProgressSink {
  readonly write: (text: string) => void;
  readonly isTTY: boolean;
}

/** A running bar. @since 0.1.0 @category model */
export interface Progress {
  /** `done` units of the total are complete; `note` (e.g. the loss) follows the counts. */
  readonly update: (done: number, note?: string) => void;
  /** Ends the bar's line with a final note. */
  readonly finish: (note?: string) => void;
}

const WIDTH = 20;

const duration = (ms: number): string => {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
};

/**
 * A progress bar over `total` units (steps), labelled.
 * @since 0.1.0
 * @category constructors
 */
export const progressBar = (total: number, label: string, sink: ProgressSink, now: () => number = () => performance.now()): Progress => {
  const start = now();
  let lastDraw = -Infinity, lastTenth = -1, lastLine = '';
  const line = (done: number, note: string): string => {
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const full = Math.round(frac * WIDTH);
    const elapsed = now() - start;
    const perStep = done > 0 ? elapsed / done : 0;
    const eta = done > 0 && done < total ? `  ETA ${duration(perStep * (total - done))}` : '';
    return `${label}  [${'█'.repeat(full)}${'░'.repeat(WIDTH - full)}] ${String(Math.round(frac * 100)).padStart(3)}%  ${done}/${total}${note ? `  ${note}` : ''}${done > 0 ? `  ${perStep.toFixed(1)} ms/step` : ''}${eta}`;
  };
  return {
    update: (done, note = '') => {
      if (sink.isTTY) {
        const t = now();
        if (t - lastDraw < 100 && done < total) return;
        lastDraw = t;
        lastLine = line(done, note);
        sink.write(`\r${lastLine}\u001b[K`);
      } else {
        const tenth = total > 0 ? Math.floor((10 * done) / total) : 10;
        if (tenth > lastTenth) {
          lastTenth = tenth;
          sink.write(`${line(done, note)}\n`);
        }
      }
    },
    finish: (note = '') => {
      const elapsed = duration(now() - start);
      if (sink.isTTY) sink.write(`\r${lastLine.replace(/  ETA .*$/, '')}${note ? `  ${note}` : ''}  (${elapsed})\u001b[K\n`);
      else sink.write(`${label}  done${note ? `: ${note}` : ''} (${elapsed})\n`);
    },
  };
};
