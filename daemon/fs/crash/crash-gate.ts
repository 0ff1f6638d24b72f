/**
 * The FUSE operations of a crash-tested mount, behind a gate: while the
 * power is off every operation answers EIO (release and releasedir answer
 * 0: a process that dies closes its files); a file handle opened before a
 * power loss answers EIO ever after (its process, in a real power loss,
 * died with the machine: it sees nothing of the rebooted mount); an armed
 * crash point fires on its Nth matching operation. The gate counts the
 * operations in flight so a power loss can wait until they are answered.
 *
 * Until `machpager crash --begin` the gate is open and adds one boolean
 * test per operation.
 */
import { FsError } from '../errors.js';
import type { FuseOperations } from '../fuse/contract.js';
import type { CrashPoint, CrashPointSpec } from './crash-point.js';

type Op = (...args: unknown[]) => void;
type Reply = (...result: unknown[]) => void;

/** Where each operation that takes a file handle has it. */
const FH_AT: Readonly<Record<string, number>> = { fgetattr: 2, releasedir: 2, fsyncdir: 3, read: 2, write: 2, flush: 2, fsync: 3, release: 2, ftruncate: 2 };
/** The operations whose second path argument is a file's path too. */
const SECOND_PATH: Readonly<Record<string, number>> = { rename: 2, link: 2, symlink: 2 };
const RELEASES = new Set(['release', 'releasedir']);

export type PowerState = 'up' | 'down';

export class CrashGate {
  /** Checking anything at all (after --begin). */
  active = false;
  state: PowerState = 'up';
  /** Handles opened before the last power loss. */
  readonly stale = new Set<number>();
  point: CrashPoint | undefined;
  /** A crash point fired (the operation has its EIO; the power is off). */
  onFire: (spec: CrashPointSpec) => void = () => undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  wrap(ops: FuseOperations): FuseOperations {
    const table = ops as unknown as Record<string, Op>;
    const wrapped: Record<string, Op> = {};
    for (const [name, fn] of Object.entries(table)) {
      if (typeof fn !== 'function') continue;
      wrapped[name] = (...args: unknown[]): void => {
        if (!this.active) {
          fn.apply(ops, args);
          return;
        }
        this.call(name, fn.bind(ops), args);
      };
    }
    return wrapped as unknown as FuseOperations;
  }

  /** Resolves once no operation is in flight, or rejects after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new FsError('EBUSY', `${this.inFlight} file operation(s) still in flight after ${timeoutMs / 1000} s`)), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private call(name: string, fn: Op, args: unknown[]): void {
    const reply = args[args.length - 1] as Reply;
    const fhAt = FH_AT[name];
    const fh = fhAt === undefined ? undefined : (args[fhAt] as number);
    if (fh !== undefined && this.stale.has(fh)) {
      if (RELEASES.has(name)) {
        this.stale.delete(fh);
        reply(null);
      } else reply(new FsError('EIO', 'opened before the power loss'));
      return;
    }
    if (this.state === 'down') {
      if (RELEASES.has(name)) reply(null);
      else reply(new FsError('EIO', 'the power is off (machpager crash)'));
      return;
    }
    let after = false;
    const point = this.point;
    if (point) {
      const second = SECOND_PATH[name];
      const paths = [args[1], ...(second === undefined ? [] : [args[second]])].filter((p): p is string => typeof p === 'string');
      const datasync = name === 'fsync' || name === 'fsyncdir' ? (args[2] as boolean) : undefined;
      if (point.fires(name, paths, datasync)) {
        this.point = undefined;
        if (!point.spec.after) {
          this.state = 'down';
          reply(new FsError('EIO', `crash point ${point.spec.op}:${point.spec.glob}`));
          this.onFire(point.spec);
          return;
        }
        after = true;
      }
    }
    let answered = false;
    const done = (): boolean => {
      if (answered) return false;
      answered = true;
      if (--this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      return true;
    };
    this.inFlight++;
    args[args.length - 1] = (...result: unknown[]): void => {
      if (!done()) return;
      if (!after || !point) {
        reply(...result);
        return;
      }
      this.state = 'down';
      reply(new FsError('EIO', `crash point ${point.spec.op}:${point.spec.glob}:after`));
      this.onFire(point.spec);
    };
    try {
      fn(...args);
    } catch (err) {
      // Thrown instead of replied: the mount answers it; this operation is over.
      if (!done() || !after || !point) throw err;
      this.state = 'down';
      this.onFire(point.spec);
      throw new FsError('EIO', `crash point ${point.spec.op}:${point.spec.glob}:after`, { cause: err });
    }
  }
}
