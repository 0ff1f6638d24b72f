/**
 * Where a mount's control socket lives, computed from the mountpoint, so
 * that any command given a path inside a mount can find it:
 * `<runtime dir>/machpager/<hash of the mountpoint's real path>.sock`, the
 * runtime directory being /run for root and $XDG_RUNTIME_DIR (else
 * /tmp/machpager-<uid>) for other users. The directory is 0700: only the
 * mounting user can reach the socket.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

export interface RuntimeEnv {
  uid: number;
  env: NodeJS.ProcessEnv;
}

/** The directory holding the control sockets of one user's mounts. */
export function controlDir(runtime: RuntimeEnv = { uid: process.getuid?.() ?? 0, env: process.env }): string {
  if (runtime.uid === 0) return '/run/machpager';
  const xdg = runtime.env.XDG_RUNTIME_DIR;
  return xdg ? path.join(xdg, 'machpager') : path.join(os.tmpdir(), `machpager-${runtime.uid}`);
}

/** The socket's file name for a mountpoint (its real, absolute path). */
export function socketName(mountpoint: string): string {
  return `${createHash('sha256').update(mountpoint).digest('hex').slice(0, 24)}.sock`;
}

/** Candidate socket paths for a mountpoint: the caller's own directory first, then root's. */
export function socketCandidates(mountpoint: string, runtime?: RuntimeEnv): string[] {
  const name = socketName(mountpoint);
  const own = path.join(controlDir(runtime), name);
  const root = path.join('/run/machpager', name);
  return own === root ? [own] : [own, root];
}
