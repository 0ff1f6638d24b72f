/**
 * Durations as options take them: a number and a unit, `500ms`, `30s`,
 * `2m`, `1h` (fractions allowed: `1.5s`); a bare number is seconds, as for
 * the other timeouts; `0` means none.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** The longest a Node timer can wait (setTimeout's limit, about 24.8 days). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/**
 * Milliseconds, or throws an Error saying what a duration looks like. A
 * duration that is not 0 is at least 1 ms and at most MAX_DURATION_MS.
 */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new Error('not a duration (a number with a unit: 500ms, 30s, 2m; 0 for none)');
  const ms = Number(m[1]) * (UNIT_MS[(m[2] ?? 's').toLowerCase()] ?? 1000);
  if (ms === 0) return 0;
  const rounded = Math.round(ms);
  if (rounded < 1) throw new Error('shorter than 1ms (0 means none)');
  if (rounded > MAX_DURATION_MS) throw new Error('longer than 24 days');
  return rounded;
}

/** "30s", "500ms", "2m", "0" (for messages and --dry-run). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
