/**
 * The exit codes of every machpager command: documented in `--help` and in
 * the README, stable for scripts. 0, 1 and 2 are the usual ones (2 is what
 * commander gives a bad command line); the rest are sysexits(3) codes, so a
 * script can tell "fix the command" from "fix the machine" from "retry".
 */
export const EXIT = {
  /** Done: mounted (--daemon), or served and unmounted cleanly (foreground). */
  OK: 0,
  /** A failure while mounted (unmount failed, an internal error, a forced exit after a third signal). */
  FAILURE: 1,
  /** The command line is wrong: unknown command or option, missing argument, bad value. */
  USAGE: 2,
  /** EX_DATAERR: the store is not a machpager store, or is damaged. */
  DATAERR: 65,
  /** EX_NOINPUT: the mountpoint or the store does not exist (or the mountpoint is no directory). */
  NOINPUT: 66,
  /** EX_UNAVAILABLE: FUSE cannot be used here, or the mount (or the daemon) did not come up in time; no daemon serves the mount a command asked about, or it did not answer. */
  UNAVAILABLE: 69,
  /** EX_CANTCREAT: the store, its directory or the log file cannot be created; the mountpoint is not empty. */
  CANTCREAT: 73,
  /** EX_IOERR: reading or writing the store failed (also a failed sync at unmount). */
  IOERR: 74,
  /** EX_TEMPFAIL: busy: the mountpoint is already mounted, or the store is in use. */
  TEMPFAIL: 75,
  /** EX_PROTOCOL: the mount's daemon answered something that is not the control protocol. */
  PROTOCOL: 76,
  /** EX_NOPERM: permission denied on the store or the mountpoint; the mount belongs to another user. */
  NOPERM: 77,
  /** EX_CONFIG: the system's FUSE configuration forbids it (allow_other without user_allow_other). */
  CONFIG: 78,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The table printed by `--help` (and copied into the README). */
export const EXIT_CODES_HELP = `Exit codes:
  0   ok: mounted (--daemon), or served and unmounted cleanly (foreground)
  1   failure while mounted: unmount failed, internal error, forced exit (third signal)
  2   usage: unknown command or option, missing argument, bad option value
  65  the store is not a machpager store, or is damaged
  66  the mountpoint or the store does not exist (or the mountpoint is no directory)
  69  FUSE unavailable (no /dev/fuse, binding not built, no fusermount),
      or the mount or the daemon did not come up in time;
      no daemon serves the mount (stats, files ...), or it did not answer
  73  cannot create the store, its directory or the log file; mountpoint not empty
  74  I/O error on the store (reading, writing, syncing)
  75  busy: the mountpoint is already a live mount, or the store is in use
  76  the mount's daemon answered something that is not the control protocol
  77  permission denied (store or mountpoint; the mount belongs to another user)
  78  FUSE configuration: allow_other needs user_allow_other in /etc/fuse.conf`;
