/**
 * The daemon log's two settings, as the mount command takes them
 * (`--log-level`, `--log-format`, -o log_level= / log_format=,
 * MACHPAGER_LOG_LEVEL / MACHPAGER_LOG_FORMAT): their values, defaults and
 * checks. Plain data, so that --daemon can hand them to the daemon in its
 * plan; log.ts builds the logger from them.
 */

/** pino's levels, quietest last; `silent` logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** text: one human line a message; json: one JSON object a line (pino's), for journald and log shippers. */
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_LOG_FORMAT: LogFormat = 'text';

export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** Why a value is not a level or a format: the clause after "--log-level X: ". */
export class LogOptionError extends Error {
  readonly code = 'EINVAL';
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}

/** `value` as a level (any case: INFO is info), or a LogOptionError listing the levels. */
export function parseLogLevel(value: string): LogLevel {
  const v = value.trim().toLowerCase();
  // syslog's and journald's spellings of the same levels.
  const alias: Readonly<Record<string, LogLevel>> = { warning: 'warn', err: 'error', none: 'silent', off: 'silent' };
  const level = alias[v] ?? v;
  if (!isLogLevel(level)) throw new LogOptionError(`not a log level (one of ${LOG_LEVELS.join(', ')})`);
  return level;
}

/** `value` as a format, or a LogOptionError listing the formats. */
export function parseLogFormat(value: string): LogFormat {
  const v = value.trim().toLowerCase();
  if (!isLogFormat(v)) throw new LogOptionError(`not a log format (${LOG_FORMATS.join(' or ')})`);
  return v;
}
