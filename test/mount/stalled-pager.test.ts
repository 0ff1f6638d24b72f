/**
 * Stalled pager on a real mount: a read returns EIO after --pager-timeout;
 * other files keep working.
 *
 * A store that stops answering, made without any hook in the daemon: mount
 * A keeps its page data in raw files (file: store), and the data file of
 * one of its files is a symbolic link to a file on a second mount, B. With
 * B's daemon stopped (SIGSTOP), A's store reads of that file block in the
 * kernel, so A's pager never answers the data_request: what a wedged disk
 * looks like. B's daemon is continued before anything is unmounted.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanupMounts, machpagerJson, mount, removeDir, shOk, tempDir } from '../helpers/mounted.js';

let dir: string;
let stopped: number | undefined;

beforeAll(async () => {
  dir = await tempDir('stalled');
});

afterEach(async () => {
  // Never leave B stopped: A's unmount syncs through it.
  if (stopped !== undefined) process.kill(stopped, 'SIGCONT');
  stopped = undefined;
  await cleanupMounts();
});

afterAll(async () => {
  await removeDir(dir);
});

describe('stalled pager on a real mount', () => {
  it('a read returns EIO after --pager-timeout; other files keep working', async () => {
    const ref = path.join(dir, 'ref');
    const storeA = path.join(dir, 'a');
    const mntA = path.join(dir, 'mnt-a');
    const mntB = path.join(dir, 'mnt-b');
    await shOk(`mkdir -p ${ref} && head -c 65536 /dev/urandom > ${ref}/stalled && head -c 65536 /dev/urandom > ${ref}/ok`);

    const b = await mount({ store: `sqlite:${dir}/b.db`, mnt: mntB });
    let a = await mount({ store: `file:${storeA}`, mnt: mntA });
    await a.shOk(`cp ${ref}/stalled ${ref}/ok . && sync -f .`);
    const ino = (await a.shOk('stat -c %i stalled')).trim();
    expect(await a.stop()).toBe(0);
    // The stalled file's page data moves to mount B; A reaches it through a link.
    await shOk(`cp ${storeA}/data/${ino} ${mntB}/blob && rm ${storeA}/data/${ino} && ln -s ${mntB}/blob ${storeA}/data/${ino}`);

    a = await mount({ store: `file:${storeA}`, mnt: mntA, options: ['allow_other', 'default_permissions', 'pager_timeout=1s'] });
    const pid = b.child.pid;
    if (pid === undefined) throw new Error('mount B has no pid');
    // The file is opened (its store opened through the link) while B answers; then B stops.
    const out = await a.shOk(
      [
        'exec 3< stalled',
        `kill -STOP ${pid}`,
        'start=$(date +%s%N)',
        `if timeout 30 dd bs=4096 count=1 status=none of=/dev/null <&3 2> ${dir}/dd.err; then echo "read: ok"; else echo "read: failed: $(cat ${dir}/dd.err)"; fi`,
        'echo "waited_ms: $(( ($(date +%s%N) - start) / 1000000 ))"',
        `cmp ok ${ref}/ok && echo "other: ok"`,
        'exec 3<&-',
      ].join('\n'),
      { timeoutMs: 60_000 },
    );
    stopped = pid;
    expect(out).toMatch(/^read: failed: .*Input\/output error$/m);
    expect(out).toMatch(/^other: ok$/m);
    const waited = Number(/^waited_ms: (\d+)$/m.exec(out)?.[1]);
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(15_000);
    expect(a.log).toMatch(/pager timeout: object \d+: no answer to data_request/);

    // B comes back: the late answer is harmless, and the file reads whole.
    process.kill(pid, 'SIGCONT');
    stopped = undefined;
    await a.shOk(`cmp stalled ${ref}/stalled && cmp ok ${ref}/ok`);
    const stats = await machpagerJson<{ pager_timeouts: number; protocol_errors: number }>(['stats', mntA]);
    expect(stats).toMatchObject({ pager_timeouts: 1, protocol_errors: 0 });
  });
});
