/** One process serves a store: the lock file beside its catalog. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../daemon/cli/cli-error.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { lockPath, lockStore } from '../../daemon/service/store-lock.js';
import type { StoreLocation } from '../../daemon/cli/store-location.js';

let dir: string;
let store: StoreLocation;
let logged: string[];
const log = (line: string): void => void logged.push(line);

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'machpager-lock-'));
  store = { name: `sqlite:${dir}/fs.db`, kind: 'sqlite', path: `${dir}/fs.db`, isDefault: false };
  logged = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that has just exited (and so is free). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 0;
}

describe('store lock', () => {
  it('holds "PID STARTTIME" while held and is gone after release', async () => {
    const lock = await lockStore(store, { readOnly: false, log });
    expect(lock?.path).toBe(`${dir}/fs.db.lock`);
    expect(await readFile(lockPath(store), 'utf8')).toMatch(new RegExp(`^${process.pid} \\d+\\n$`));
    await lock?.release();
    await expect(readFile(lockPath(store))).rejects.toMatchObject({ code: 'ENOENT' });
    await lock?.release(); // twice: nothing happens, nothing said
    expect(logged).toEqual([]);
  });

  it('a live holder is waited for, then the store is busy (exit 75)', async () => {
    const first = await lockStore(store, { readOnly: false, log });
    const err = await lockStore(store, { readOnly: false, log, waitMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.TEMPFAIL);
    expect((err as CliError).message).toContain(`in use by process ${process.pid}`);
    expect(logged).toEqual([`waiting for process ${process.pid} to let go of ${store.name} (still syncing?)`]);
    await first?.release();
  });

  it('a lock whose holder is gone is taken over, and said so', async () => {
    const pid = await deadPid();
    await writeFile(lockPath(store), `${pid} 1\n`);
    const lock = await lockStore(store, { readOnly: false, log });
    expect(logged).toEqual([`taking over the lock of ${store.name} from pid ${pid}, which is gone`]);
    expect(await readFile(lockPath(store), 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await lock?.release();
  });

  it('a lock file someone removed meanwhile is not an error at release', async () => {
    const lock = await lockStore(store, { readOnly: false, log });
    await rm(lockPath(store));
    await lock?.release();
    expect(logged).toEqual([]);
  });
});
