/**
 * stdout as a terminal, for the commands that refresh (`top`, `stats -w`):
 * whether it is one, its size, whether to colour, and the keys typed on
 * stdin. Injected (CliDeps.terminal) so that tests can be a terminal.
 *
 * Colour follows Node's rules (tty.WriteStream#getColorDepth): NO_COLOR and
 * NODE_DISABLE_COLORS turn it off, FORCE_COLOR on (also when stdout is not a
 * terminal), TERM=dumb off; otherwise colour only on a terminal.
 */
import tty from 'node:tty';

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

export interface Terminal {
  /** stdout is a terminal. */
  readonly isTTY: boolean;
  /** Its size now (undefined when it is not a terminal). */
  size(): TerminalSize | undefined;
  /**
   * Deliver SIGINT / SIGTERM as '\x03', and with `keys` the keys typed
   * (stdin in raw mode, when stdin is a terminal), to `handler` until the
   * returned function is called, which gives the terminal back as it was.
   */
  listen(handler: (key: string) => void, options?: { keys?: boolean }): () => void;
}

/** Whether to emit colour, given whether stdout is a terminal and the environment. */
export function colorsWanted(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  const depth = tty.WriteStream.prototype.getColorDepth(env);
  if (!isTTY) return env.FORCE_COLOR !== undefined && depth > 1;
  return depth > 1;
}

/** This process's stdout and stdin. */
export function processTerminal(): Terminal {
  const out = process.stdout;
  return {
    get isTTY() {
      return out.isTTY === true;
    },
    size() {
      if (out.isTTY !== true) return undefined;
      return { columns: out.columns || 80, rows: out.rows || 24 };
    },
    listen(handler, options = {}) {
      const onSignal = (): void => handler('\x03');
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const input = process.stdin;
      let raw = false;
      const onData = (data: Buffer | string): void => {
        for (const ch of typeof data === 'string' ? data : data.toString('utf8')) handler(ch);
      };
      if (options.keys === true && input.isTTY === true) {
        input.setRawMode(true);
        raw = true;
        input.on('data', onData);
        input.resume();
      }
      return () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (raw) {
          input.off('data', onData);
          input.setRawMode(false);
          input.pause();
        }
      };
    },
  };
}
