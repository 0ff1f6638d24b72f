/**
 * What a bench file does when it is run as a program rather than imported:
 * the check that it is the program, the --quick bench entry, and, for the
 * FUSE fixtures that serve a mount, the JSON event lines and the unmount
 * that SIGTERM and SIGINT start.
 */
import { pathToFileURL } from 'node:url';

/** true when the module at `moduleUrl` (its import.meta.url) is the program node was started with. */
export function isProgram(moduleUrl: string): boolean {
  return process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** Runs a bench entry as a program (`--quick` from the command line); a failure is printed and exits 1. */
export function runBenchProgram(moduleUrl: string, bench: (options: { quick: boolean }) => Promise<unknown>): void {
  if (!isProgram(moduleUrl)) return;
  bench({ quick: process.argv.includes('--quick') }).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

/** One event of a serving fixture: one JSON object on a line of stdout. */
export function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/**
 * Serves a fixture's `main` as a program: a failure is emitted as a
 * {"type":"failed"} event (with the error's code, if any) and exits 1.
 */
export function serveProgram(moduleUrl: string, main: () => Promise<void>): void {
  if (!isProgram(moduleUrl)) return;
  main().catch((err: unknown) => {
    emit({ type: 'failed', message: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code });
    process.exitCode = 1;
  });
}

/**
 * Unmounts `mount` once, on SIGTERM or SIGINT or when the returned stop is
 * called; a failed unmount is reported as `program: unmount failed` and exits 1.
 */
export function unmountOnSignals(program: string, mount: { unmount(): Promise<void> }): () => void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    mount.unmount().catch((err: unknown) => {
      process.stderr.write(`${program}: unmount failed: ${String(err)}\n`);
      process.exitCode = 1;
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return stop;
}
