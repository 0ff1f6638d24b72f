/** The control FIFO: its lines as control calls, LazyFS's spellings, and a real FIFO read line by line. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ControlFifo, parseFifoCommand } from '../../daemon/control/control-fifo.js';

describe('control FIFO commands', () => {
  it('become control calls; LazyFS commands map to ours; mistakes are EINVAL', () => {
    expect(parseFifoCommand('  ')).toBeUndefined();
    expect(parseFifoCommand('# a note')).toBeUndefined();
    expect(parseFifoCommand('lazyfs::clear-cache')).toEqual({ method: 'crash', params: {} });
    expect(parseFifoCommand('lazyfs::cache-checkpoint')).toEqual({ method: 'sync', params: {} });
    expect(parseFifoCommand('lazyfs::display-cache-usage')).toEqual({ method: 'stats', params: {} });
    expect(parseFifoCommand('crash --keep random:3:0.5 --torn --seed 4 --dry-run --unmount')).toEqual({
      method: 'crash',
      params: { keep: 'random:3:0.5', torn: true, seed: 4, dry_run: true, unmount: true },
    });
    expect(parseFifoCommand('crash --at rename:*.wal --nth 2')).toEqual({ method: 'crash', params: { action: 'arm', at: 'rename:*.wal', nth: 2 } });
    expect(parseFifoCommand('crash --begin')).toEqual({ method: 'crash', params: { action: 'begin' } });
    expect(() => parseFifoCommand('crash --nth two')).toThrow(/whole number/);
    expect(parseFifoCommand('inject read(*.db)%0.5=EIO,seed=3')).toEqual({ method: 'inject', params: { spec: 'read(*.db)%0.5=EIO,seed=3' } });
    expect(parseFifoCommand('inject --clear')).toEqual({ method: 'inject', params: { clear: true } });
    expect(parseFifoCommand('inject --off')).toEqual({ method: 'inject', params: { enabled: false } });
    expect(parseFifoCommand('freeze')).toEqual({ method: 'inject', params: { freeze: true } });
    expect(parseFifoCommand('thaw')).toEqual({ method: 'inject', params: { freeze: false } });
    expect(parseFifoCommand('sync /a/b')).toEqual({ method: 'sync', params: { path: '/a/b' } });
    expect(parseFifoCommand('evict')).toEqual({ method: 'evict', params: { all: true } });
    expect(parseFifoCommand('evict /d --recursive')).toEqual({ method: 'evict', params: { path: '/d', recursive: true } });
    expect(() => parseFifoCommand('reboot')).toThrow(/unknown command 'reboot'/);
    expect(() => parseFifoCommand('crash --keep')).toThrow(/--keep needs a value/);
    expect(() => parseFifoCommand('sync /a /b')).toThrow(/too many arguments/);
  });

  it('reads a FIFO it makes, one command a line in order, through writers that come and go; logs each answer; removes it at close', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mp-fifo-'));
    const at = path.join(dir, 'control.fifo');
    const calls: string[] = [];
    const lines: string[] = [];
    const fifo = await ControlFifo.open({
      path: at,
      call: (method, params) => {
        calls.push(`${method} ${JSON.stringify(params)}`);
        return method === 'evict' ? Promise.reject(Object.assign(new Error('/x: no such file or directory'), { code: 'ENOENT' })) : Promise.resolve({ done: true });
      },
      log: { info: (l) => lines.push(`info ${l}`), warn: (l) => lines.push(`warn ${l}`) },
    });
    try {
      expect((await stat(at)).isFIFO()).toBe(true);
      // Two writers, one after the other, as two `echo ... > fifo` would be.
      await promisify(execFile)('bash', ['-c', `echo sync > ${at}; printf 'evict /x\\nbogus\\n' > ${at}`]);
      for (let i = 0; i < 200 && lines.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 10));
        await fifo.idle();
      }
      expect(calls).toEqual(['sync {}', 'evict {"path":"/x"}']);
      expect(lines).toEqual([
        'info fifo: sync: ok {"done":true}',
        'warn fifo: evict /x: failed ENOENT: /x: no such file or directory',
        expect.stringMatching(/^warn fifo: bogus: failed EINVAL: unknown command 'bogus'/),
      ]);
    } finally {
      await fifo.close();
    }
    await expect(stat(at)).rejects.toMatchObject({ code: 'ENOENT' });
    // Something else at the path is refused.
    await writeFile(at, 'x');
    await expect(ControlFifo.open({ path: at, call: () => Promise.resolve(null), log: { info: () => undefined, warn: () => undefined } })).rejects.toMatchObject({ code: 'ENOTSUP' });
    await rm(dir, { recursive: true });
  });
});
