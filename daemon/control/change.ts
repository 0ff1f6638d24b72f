/**
 * What a control request changed while the mount runs (a policy switch, a
 * resize, an evict, a sync, a trace started or stopped, new fault rules),
 * from what to what, and who asked: MountControl says it, the daemon log
 * writes it (one info line each; service/serve.ts).
 */

/**
 * Who sent a request: its connection to the control socket (numbered from
 * 1 as they come), and the peer's credentials when the server knows them
 * (SO_PEERCRED; Node's net does not give them, so for now only a server
 * that is told them has them).
 */
export interface ControlCaller {
  readonly connection: number;
  readonly pid?: number;
  readonly uid?: number;
}

export type ChangeKind = 'policy' | 'cache-size' | 'evict' | 'sync' | 'trace' | 'inject' | 'crash';

export interface ControlChange {
  readonly change: ChangeKind;
  /** One clause that says it all: "policy mach -> lru". */
  readonly msg: string;
  /** The setting before and after (policy names, bytes, SPECs, resident pages ...). */
  readonly old?: unknown;
  readonly new?: unknown;
  /** What else a reader of the log wants: the path, the files, the trace file. */
  readonly detail?: Readonly<Record<string, unknown>>;
  readonly caller?: ControlCaller;
}

/** Where MountControl reports its changes. */
export type ChangeSink = (change: ControlChange) => void;

/** "pid 4242, uid 1000", or "" when the caller's credentials are not known. */
export function describeCaller(caller: ControlCaller | undefined): string {
  if (caller?.pid === undefined && caller?.uid === undefined) return '';
  return [caller.pid === undefined ? '' : `pid ${caller.pid}`, caller.uid === undefined ? '' : `uid ${caller.uid}`].filter((s) => s !== '').join(', ');
}
