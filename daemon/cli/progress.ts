/**
 * Progress of long work on a terminal (cli-progress): `sim` over a big
 * trace, `vmtouch -t` over a big tree. Drawn on stderr only when stderr is
 * a terminal, so that pipes, files, scripts and tests get the output alone;
 * the bar is cleared when the work is done, leaving the screen as the
 * command's own output expects it.
 */
import cliProgress from 'cli-progress';
import type { CliDeps } from './deps.js';

export interface Progress {
  /** `done` of the total so far. */
  update(done: number): void;
  /** Take the bar off the screen (also after a failure). */
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/** A bar for `total` units of `what` ("replays", "pages") on `deps.progressStream`, or nothing when that is no terminal. */
export function startProgress(deps: Pick<CliDeps, 'progressStream'>, what: string, total: number): Progress {
  const stream = deps.progressStream;
  if (!stream || stream.isTTY !== true || total <= 0) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `{bar} {percentage}% | {value}/{total} ${what} | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      // The command handles its own signals (vmtouch -l, top): the bar must not take SIGINT.
      gracefulExit: false,
      // The work may hold the event loop (a replay is one synchronous loop): redraw from update().
      synchronousUpdate: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let stopped = false;
  return {
    update: (done) => {
      if (!stopped) bar.update(Math.min(done, total));
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
