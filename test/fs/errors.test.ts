import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import { FsError, LINUX_ERRNO, codeOf, errnoOf, toFsError, type FsErrorCode } from '../../daemon/fs/errors.js';

describe('FsError', () => {
  it('carries the code and the Linux errno, with a message like Node\'s', () => {
    const e = new FsError('ENOENT', undefined, { path: '/a/b', syscall: 'open' });
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.path).toBe('/a/b');
    expect(e.message).toBe("ENOENT: no such file or directory, open '/a/b'");
    expect(new FsError('EDQUOT', 'quota').message).toBe('EDQUOT: quota');
  });

  it("numbers every code as the platform (Linux) does", () => {
    for (const [code, errno] of Object.entries(LINUX_ERRNO)) {
      expect([code, constants.errno[code as keyof typeof constants.errno]]).toEqual([code, errno]);
    }
  });

  it('maps codes and numbers both ways', () => {
    expect(errnoOf('EIO')).toBe(5);
    expect(errnoOf('ECONNREFUSED')).toBe(constants.errno.ECONNREFUSED);
    expect(errnoOf('NOPE')).toBeUndefined();
    expect(codeOf(-2)).toBe('ENOENT');
    expect(codeOf(11)).toBe('EAGAIN');
    expect(codeOf(95)).toBe('ENOTSUP');
  });

  it('turns Node system errors, errnos and anything else into FsErrors', () => {
    const nodeErr = Object.assign(new Error('x'), { code: 'EACCES', errno: -13, path: '/p', syscall: 'open' });
    const a = toFsError(nodeErr);
    expect([a.code, a.errno, a.path, a.syscall, a.cause]).toEqual(['EACCES', 13, '/p', 'open', nodeErr]);
    expect(toFsError({ errno: -28 }).code).toBe('ENOSPC');
    expect(toFsError(new Error('boom')).code).toBe('EIO');
    expect(toFsError('text', 'EINVAL').code).toBe('EINVAL');
    const same = new FsError('EROFS');
    expect(toFsError(same)).toBe(same);
    const codes: FsErrorCode[] = ['EIO', 'ENOSPC', 'EDQUOT'];
    expect(codes.map((c) => toFsError({ code: c }).errno)).toEqual([5, 28, 122]);
  });
});
