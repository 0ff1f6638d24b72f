/**
 * The control verb `crash` (machpager crash): begin crash testing on a
 * mount, lose power now (or say what would be lost, dry_run), arm or disarm
 * a crash point, power a mount on after a crash point fired, or show the
 * state. Every power loss is reported to the daemon log with what it
 * dropped: the files and their page ranges, the names.
 */
import { fusermount } from '../fs/fuse/mount-table.js';
import type { MachFilesystem } from '../fs/filesystem.js';
import { parseCrashPoint } from '../fs/crash/crash-point.js';
import type { CrashChoice } from '../fs/crash/loss-plan.js';
import type { CrashReport } from '../fs/crash/power-loss.js';
import type { CrashTest } from '../fs/crash/crash-test.js';
import type { ControlCaller, ControlChange } from './change.js';
import { ControlError } from './control-error.js';
import { optionalBoolean, optionalString } from './params.js';
import type { CrashAction, CrashResult } from './protocol.js';

const ACTIONS: readonly CrashAction[] = ['crash', 'begin', 'arm', 'disarm', 'power-on', 'status'];
/** Files and names a log line lists at most (the answer has them all). */
const LOGGED = 50;

/** `random:SEED:P` → seed and probability. */
export function parseKeep(text: string): { seed: number; probability: number } {
  const m = /^random:(\d+):(0|1|0?\.\d+|1\.0*)$/.exec(text);
  if (!m) throw new ControlError('EINVAL', `keep '${text}': expected random:SEED:P (SEED a whole number, P from 0 to 1), e.g. random:7:0.5`);
  return { seed: Number(m[1]), probability: Number(m[2]) };
}

function optionalCount(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ControlError('EINVAL', `${name} must be a whole number`);
  return value;
}

export class CrashControl {
  constructor(
    private readonly fs: MachFilesystem,
    private readonly mountpoint: string,
    private readonly report: (change: ControlChange, caller: ControlCaller | undefined) => void,
  ) {
    const crash = fs.crash;
    if (crash) crash.sink = (what, r) => this.report(logged(what, r), undefined);
  }

  async crash(params: Record<string, unknown>, caller?: ControlCaller): Promise<CrashResult> {
    const action = (optionalString(params.action, 'action') ?? 'crash') as CrashAction;
    if (!ACTIONS.includes(action)) throw new ControlError('EINVAL', `action must be one of ${ACTIONS.join(', ')}`);
    const test = this.fs.crash;
    if (!test) throw new ControlError('EROFS', 'a read-only mount has nothing to crash');
    const unmount = optionalBoolean(params.unmount, 'unmount') ?? false;
    try {
      switch (action) {
        case 'begin':
          await test.begin();
          this.report({ change: 'crash', msg: 'crash test begun: synced; every fsync, fsync of a directory and sync is a durable point from now on' }, caller);
          return { action, status: test.status() };
        case 'status':
          return { action, status: test.status() };
        case 'disarm':
          test.disarm();
          this.report({ change: 'crash', msg: 'crash point disarmed' }, caller);
          return { action, status: test.status() };
        case 'power-on':
          test.powerOn();
          this.report({ change: 'crash', msg: 'power on: the mount serves its durable state' }, caller);
          return { action, status: test.status() };
        case 'arm':
          return this.arm(test, params, unmount, caller);
        case 'crash':
          return await this.powerLoss(test, params, unmount, caller);
      }
    } catch (err) {
      if (err instanceof ControlError) throw err;
      const code = (err as { code?: unknown }).code;
      throw new ControlError(typeof code === 'string' ? code : 'EIO', err instanceof Error ? err.message.replace(/^E[A-Z]+: /, '') : String(err));
    }
  }

  private arm(test: CrashTest, params: Record<string, unknown>, unmount: boolean, caller?: ControlCaller): CrashResult {
    const at = optionalString(params.at, 'at');
    if (at === undefined) throw new ControlError('EINVAL', 'arm needs at: OP:GLOB[:after]');
    const spec = parseCrashPoint(at, optionalCount(params.nth, 'nth') ?? 1);
    test.arm(spec, unmount ? () => this.unmount() : undefined);
    const status = test.status();
    this.report({ change: 'crash', msg: `crash point armed: ${status.armed?.point ?? at}${unmount ? ' (then unmount)' : ''}` }, caller);
    return { action: 'arm', status };
  }

  private async powerLoss(test: CrashTest, params: Record<string, unknown>, unmount: boolean, caller?: ControlCaller): Promise<CrashResult> {
    const dryRun = optionalBoolean(params.dry_run, 'dry_run') ?? false;
    const keep = optionalString(params.keep, 'keep');
    const torn = optionalBoolean(params.torn, 'torn') ?? false;
    const seed = optionalCount(params.seed, 'seed') ?? 1;
    const choice: CrashChoice = { ...(keep !== undefined ? { keep: parseKeep(keep) } : {}), ...(torn ? { torn: { seed } } : {}) };
    const report = await test.crash(choice, { dryRun, stayDown: unmount });
    const how = [keep !== undefined ? `keep ${keep}` : '', torn ? `torn (seed ${choice.keep?.seed ?? seed})` : ''].filter((s) => s !== '').join(', ');
    this.report(logged(`${dryRun ? 'crash --dry-run' : 'power loss'}${how === '' ? '' : ` (${how})`}`, report), caller);
    // After the answer: the mount goes (the daemon then stops, as after fusermount -u).
    if (unmount && !dryRun) setImmediate(() => void this.unmount());
    return { action: 'crash', status: test.status(), report };
  }

  private async unmount(): Promise<void> {
    await fusermount(this.mountpoint, { lazy: true }).catch((err: unknown) => this.fs.log(`crash: unmounting ${this.mountpoint}: ${String(err)}`));
  }
}

/** The log line of a power loss: what it took, in a clause and in detail. */
function logged(what: string, r: CrashReport): ControlChange {
  const gone = r.files.filter((f) => f.gone).length;
  const msg = `${what}: ${r.dry_run ? 'would drop' : 'dropped'} ${r.lost_pages} page(s) of ${r.files.length} file(s)${gone > 0 ? ` (${gone} gone)` : ''}, ${r.names.length} name change(s)${r.kept_pages > 0 ? `, kept ${r.kept_pages} page(s)` : ''} in ${r.took_ms} ms`;
  return {
    change: 'crash',
    msg,
    detail: {
      dry_run: r.dry_run,
      lost_pages: r.lost_pages,
      lost_bytes: r.lost_bytes,
      kept_pages: r.kept_pages,
      files: r.files.slice(0, LOGGED),
      names: r.names.slice(0, LOGGED),
      ...(r.files.length > LOGGED || r.names.length > LOGGED ? { truncated: true } : {}),
    },
  };
}
