/**
 * Coreutils round trips on a real mount, for both data stores, with a page
 * cache (2 MiB) much smaller than the data, so that eviction and
 * data_return really happen. Checked with sha256sum and cmp against the
 * same files on the local disk.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mount, shOk, STORE_KINDS, type Mounted } from '../helpers/mounted.js';
import { mountsDir } from '../helpers/mount-dir.js';

describe.each(STORE_KINDS)('coreutils on a mount with the $kind store', ({ store }) => {
  const dir = mountsDir('coreutils');
  let ref: string;
  let m: Mounted;

  beforeAll(async () => {
    ref = path.join(dir(), 'ref');
    await shOk(`mkdir -p ${ref} && head -c 24000000 /dev/urandom > ${ref}/big && head -c 777777 /dev/urandom > ${ref}/odd`);
    m = await mount({ store: store(dir()), mnt: path.join(dir(), 'mnt'), cacheSize: '2M' });
  });

  it('cp and cat: a 24 MB file comes back identical through a 2 MiB cache', async () => {
    await m.shOk(`cp ${ref}/big big && cat big > ${ref}/big.back && cmp big ${ref}/big && cmp ${ref}/big.back ${ref}/big`);
    const [a, b] = (await m.shOk(`sha256sum big ${ref}/big`)).trim().split('\n').map((l) => l.split(' ')[0]);
    expect(a).toBe(b);
    const st = await m.shOk('stat -c %s big');
    expect(Number(st)).toBe(24000000);
  });

  it('dd with odd block sizes and offsets writes and reads back exactly', async () => {
    await m.shOk(`dd if=${ref}/odd of=odd bs=1237 status=none && cmp odd ${ref}/odd`);
    // Overwrite a stretch in the middle at an odd offset, in both copies, and compare.
    await m.shOk(
      `dd if=/dev/urandom of=${ref}/patch bs=333 count=41 status=none && ` +
        `dd if=${ref}/patch of=odd bs=1 seek=123457 conv=notrunc status=none && ` +
        `dd if=${ref}/patch of=${ref}/odd bs=1 seek=123457 conv=notrunc status=none && ` +
        `cmp odd ${ref}/odd && ` +
        `dd if=odd bs=4097 skip=7 count=13 status=none | cmp - <(dd if=${ref}/odd bs=4097 skip=7 count=13 status=none)`,
    );
  });

  it('truncate up and down keeps the prefix and reads zeros past the old end', async () => {
    await m.shOk(`cp ${ref}/odd t && truncate -s 100001 t && truncate -s 300000 t && cp ${ref}/odd ${ref}/t && truncate -s 100001 ${ref}/t && truncate -s 300000 ${ref}/t && cmp t ${ref}/t`);
    expect(Number(await m.shOk('stat -c %s t'))).toBe(300000);
    await m.shOk('truncate -s 0 t && test ! -s t');
  });

  it('sparse files: truncate -s 10G, then writes far out', async () => {
    await m.shOk(
      'truncate -s 10G sparse && ' +
        `dd if=${ref}/odd of=sparse bs=4096 seek=2000000 count=20 conv=notrunc status=none && ` +
        `dd if=${ref}/odd of=sparse bs=1 seek=10737418000 count=200 conv=notrunc status=none`,
    );
    expect(Number(await m.shOk('stat -c %s sparse'))).toBe(10737418240);
    await m.shOk(`dd if=sparse bs=4096 skip=2000000 count=20 status=none | cmp - <(head -c 81920 ${ref}/odd)`);
    await m.shOk(`dd if=sparse bs=1 skip=10737418000 count=200 status=none | cmp - <(head -c 200 ${ref}/odd)`);
    // A hole in the middle reads as zeros.
    await m.shOk('dd if=sparse bs=4096 skip=1000000 count=4 status=none | cmp - <(head -c 16384 /dev/zero)');
  });

  it('appends from two processes at once lose nothing', async () => {
    await m.shOk(
      'rm -f log; (for i in $(seq 1 300); do echo "a $i" >> log; done) & (for i in $(seq 1 300); do echo "b $i" >> log; done) & wait',
    );
    const lines = (await m.shOk('cat log')).trim().split('\n');
    expect(lines.length).toBe(600);
    expect(lines.filter((l) => l.startsWith('a ')).length).toBe(300);
    expect(new Set(lines).size).toBe(600);
  });
});
