/**
 * The daemon log, one place: every line a serving mount writes goes through
 * here (pino underneath), at a level, in one of two formats.
 *
 *   text  one human line a message, as machpager has always written them:
 *         "machpager: mounted ..." in the foreground, and with the time and
 *         the pid ("2026-12-05T13:00:00.000Z machpager[4242]: ...") from a
 *         daemon, whose lines go to a file; a level other than info is said
 *         after the prefix ("machpager: warning: sync failed: ...").
 *   json  pino's lines, one JSON object each, for journald and log
 *         shippers: {"level":"info","time":"2026-...","pid":4242,
 *         "name":"machpager","msg":"...", ...fields}. The fields of a message
 *         (a control change's from, to and caller, a component) are keys.
 *
 * Levels are pino's: trace, debug, info, warn, error, and silent for none.
 * What the parts of the daemon that take a `(line) => void` say (the kernel,
 * the pagers, the filesystem, the store lock) comes in through at(): a line
 * at a level.
 */
import { pino, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel, LogSettings } from './log-options.js';

export type { LogFormat, LogLevel, LogSettings } from './log-options.js';

/** The levels a message can have (silent is only a threshold). */
export type MessageLevel = Exclude<LogLevel, 'silent'>;

/** A message's fields: plain JSON values. */
export type LogFields = Readonly<Record<string, unknown>>;

export interface DaemonLog {
  readonly level: LogLevel;
  readonly format: LogFormat;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Would a message at `level` be written? */
  enabled(level: MessageLevel): boolean;
  /** A `(line) => void` for the parts that take one: each line a message at `level` (with `fields`). */
  at(level: MessageLevel, fields?: LogFields): (line: string) => void;
}

export interface DaemonLogOptions extends LogSettings {
  /** Where the lines go, whole lines with their newline (stderr, or a test's array). */
  readonly write: (text: string) => void;
  /**
   * The text prefix: `plain` "machpager: " (a foreground mount, on a
   * terminal or under systemd, which adds the time itself); `stamped` the
   * time and the pid first (a --daemon's log file).
   */
  readonly text?: 'plain' | 'stamped';
}

/** How a level other than info is said in a text line. */
const TEXT_TAG: Readonly<Record<string, string>> = { trace: 'trace: ', debug: 'debug: ', warn: 'warning: ', error: 'error: ', fatal: 'error: ' };

/** A pino destination that turns its JSON lines into text lines. */
function textDestination(write: (text: string) => void, stamped: boolean): DestinationStream {
  return {
    write(json: string): void {
      const entry = JSON.parse(json) as { level?: string; time?: string; pid?: number; msg?: string };
      const prefix = stamped ? `${entry.time ?? new Date().toISOString()} machpager[${entry.pid ?? process.pid}]: ` : 'machpager: ';
      write(`${prefix}${TEXT_TAG[entry.level ?? 'info'] ?? ''}${entry.msg ?? ''}\n`);
    },
  };
}

/** The daemon log with these settings. */
export function createDaemonLog(options: DaemonLogOptions): DaemonLog {
  const destination: DestinationStream = options.format === 'json' ? { write: (line: string) => options.write(line) } : textDestination(options.write, options.text === 'stamped');
  const logger: Logger = pino(
    {
      name: 'machpager',
      level: options.level,
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      // "level":"warn" rather than 40: what journald's and shippers' users read.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const log = (level: MessageLevel, msg: string, fields?: LogFields): void => {
    if (fields === undefined) logger[level](msg);
    else logger[level](fields, msg);
  };
  return {
    level: options.level,
    format: options.format,
    trace: (msg, fields) => log('trace', msg, fields),
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    enabled: (level) => logger.isLevelEnabled(level),
    at: (level, fields) => (line) => log(level, line, fields),
  };
}
