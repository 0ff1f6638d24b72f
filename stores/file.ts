/**
 * file:PATH — a regular file or a block device (libstore file.c / device.c)
 * through a node:fs FileHandle with positioned reads (asynchronous) and
 * writes (synchronous, on its descriptor).
 *
 * The store's size is the file's size rounded up to a whole block; the bytes
 * between the true end of file and the end of that block read as zeros.
 * Sparse files stay sparse: nothing here writes zeros to fill a gap, and
 * setSize is ftruncate. Node cannot ask for holes (no SEEK_DATA), so isHole
 * is true only past the end of the store (the generic layer answers that). A file that cannot be opened for
 * writing is opened read-only and is HARD_READONLY. The store is one run over
 * the whole file (or device), so it is ENFORCED.
 */
import { ftruncateSync, writeSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BaseStore } from './base.js';
import { checkBlockSize, checkStoreSize, roundUp } from './size.js';
import { STORE_ENFORCED, STORE_HARD_READONLY, StoreError } from './store.js';
import { diskClass } from './store-class.js';

export const FILE_BLOCK_SIZE = 512;

export interface FileStoreOptions {
  path: string;
  /** Default 512. Not part of the typed name: reopen with the same option. */
  blockSize?: number;
  flags?: number;
  /** Create the file if it is missing, `size` bytes long (sparse). An existing file is opened as it is. */
  create?: boolean;
  size?: number;
}

type Kind = 'file' | 'device';

export class FileStore extends BaseStore {
  /** A newly created file's directory entry is made durable by the first sync. */
  private directoryToSync: string | undefined;

  private constructor(
    private readonly handle: FileHandle,
    private readonly kind: Kind,
    readonly path: string,
    fileSize: number,
    blockSize: number,
    flags: number,
    createdIn: string | undefined,
  ) {
    super({ className: 'file', name: `file:${path}`, blockSize, size: roundUp(fileSize, blockSize), flags });
    this.directoryToSync = createdIn;
  }

  static async open(options: FileStoreOptions): Promise<FileStore> {
    const path = resolve(options.path);
    const blockSize = checkBlockSize(options.blockSize ?? FILE_BLOCK_SIZE);
    let flags = options.flags ?? 0;
    let created = false;
    if (options.create) created = await createFile(path, checkStoreSize(options.size ?? 0, blockSize));
    let handle: FileHandle;
    if (flags & STORE_HARD_READONLY) {
      handle = await open(path, 'r');
    } else {
      try {
        handle = await open(path, 'r+');
      } catch (err) {
        if (!isPermissionError(err)) throw err;
        handle = await open(path, 'r');
        flags |= STORE_HARD_READONLY;
      }
    }
    try {
      const st = await handle.stat({ bigint: true });
      let kind: Kind;
      let size: number;
      if (st.isFile()) {
        kind = 'file';
        size = Number(st.size);
      } else if (st.isBlockDevice()) {
        kind = 'device';
        size = await blockDeviceSize(st.rdev);
      } else {
        throw new StoreError(st.isDirectory() ? 'EISDIR' : 'EINVAL', `${path} is not a regular file or a block device`);
      }
      return new FileStore(handle, kind, path, size, blockSize, flags | STORE_ENFORCED, created ? dirname(path) : undefined);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  protected override async backendRead(offset: number, into: Buffer): Promise<number> {
    let done = 0;
    while (done < into.length) {
      const { bytesRead } = await this.handle.read(into, done, into.length - done, offset + done);
      if (bytesRead === 0) break; // end of file: the rest of the last block is zeros
      done += bytesRead;
    }
    if (done < into.length) into.fill(0, done);
    return into.length;
  }

  // Writes and size changes are synchronous calls, as SQLite's are: a buffered pwrite costs less
  // than the thread-pool round trip of an asynchronous one (docs/performance.md). Reads stay
  // asynchronous: a cold one waits for the disk, and other requests go on meanwhile.
  protected override backendWrite(offset: number, data: Buffer): Promise<number> {
    let done = 0;
    while (done < data.length) {
      const written = writeSync(this.handle.fd, data, done, data.length - done, offset + done);
      if (written === 0) return Promise.reject(new StoreError('EIO', `write to ${this.path} made no progress at ${offset + done}`));
      done += written;
    }
    return Promise.resolve(done);
  }

  protected override backendSetSize(size: number): Promise<void> {
    if (this.kind === 'device') return Promise.reject(new StoreError('EOPNOTSUPP', `${this.path} is a device: its size is fixed`));
    ftruncateSync(this.handle.fd, size);
    return Promise.resolve();
  }

  protected override async backendSync(): Promise<void> {
    await this.handle.sync();
    if (this.directoryToSync !== undefined) {
      const dir = await open(this.directoryToSync, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.directoryToSync = undefined;
    }
  }

  protected override backendClose(): Promise<void> {
    return this.handle.close();
  }
}

/** Create PATH, `size` bytes and sparse, unless it exists; true when this call made it. */
async function createFile(path: string, size: number): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    if (size > 0) await handle.truncate(size);
  } finally {
    await handle.close();
  }
  return true;
}

function isPermissionError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/** A block device's size in bytes, from sysfs (Node has no BLKGETSIZE64). */
async function blockDeviceSize(rdev: bigint): Promise<number> {
  // glibc's gnu_dev_major / gnu_dev_minor.
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  const sectors = await readFile(`/sys/dev/block/${major}:${minor}/size`, 'utf8');
  return Number(sectors.trim()) * 512;
}

export const fileClass = diskClass({
  name: 'file',
  syntax: 'file:PATH',
  summary: 'a regular file (sparse) or a block device',
  open(rest, options) {
    if (rest === '') return Promise.reject(new StoreError('EINVAL', 'file: needs a path'));
    return FileStore.open({ path: rest, ...options });
  },
});
