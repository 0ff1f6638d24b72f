/**
 * The default pager's own backing store ("swap"): page-sized slots. The
 * kernel cannot use stores/ (it knows no files or databases), so it has
 * this minimal interface; the daemon may hand it any implementation.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SwapStore {
  readonly pageSize: number;
  /** Fill `into` (one page) with the slot's data. */
  read(slot: number, into: Buffer): Promise<void>;
  /** Store one page in the slot. */
  write(slot: number, data: Buffer): Promise<void>;
  /** The slot's data is no longer needed. */
  discard(slot: number): Promise<void>;
  close(): Promise<void>;
}

/** Swap in memory: for tests, and for machines where page data may stay in RAM. */
export class MemorySwap implements SwapStore {
  private readonly slots = new Map<number, Buffer>();

  constructor(readonly pageSize: number) {}

  read(slot: number, into: Buffer): Promise<void> {
    const data = this.slots.get(slot);
    if (data) data.copy(into);
    else into.fill(0);
    return Promise.resolve();
  }

  write(slot: number, data: Buffer): Promise<void> {
    this.slots.set(slot, Buffer.from(data));
    return Promise.resolve();
  }

  discard(slot: number): Promise<void> {
    this.slots.delete(slot);
    return Promise.resolve();
  }

  get slotsInUse(): number {
    return this.slots.size;
  }

  close(): Promise<void> {
    this.slots.clear();
    return Promise.resolve();
  }
}

/**
 * Swap in an anonymous temporary file: created, opened and unlinked at once,
 * so nothing is left behind whatever happens to the process.
 */
export class FileSwap implements SwapStore {
  private handle: Promise<FileHandle> | undefined;

  constructor(
    readonly pageSize: number,
    private readonly directory = tmpdir(),
  ) {}

  private file(): Promise<FileHandle> {
    this.handle ??= (async () => {
      const path = join(this.directory, `machpager-swap-${process.pid}-${Date.now()}`);
      const handle = await open(path, 'w+', 0o600);
      unlinkSync(path);
      return handle;
    })();
    return this.handle;
  }

  async read(slot: number, into: Buffer): Promise<void> {
    const fh = await this.file();
    const { bytesRead } = await fh.read(into, 0, this.pageSize, slot * this.pageSize);
    if (bytesRead < this.pageSize) into.fill(0, bytesRead);
  }

  async write(slot: number, data: Buffer): Promise<void> {
    const fh = await this.file();
    let done = 0;
    while (done < this.pageSize) {
      const { bytesWritten } = await fh.write(data, done, this.pageSize - done, slot * this.pageSize + done);
      done += bytesWritten;
    }
  }

  discard(_slot: number): Promise<void> {
    // Slots are reused by the pager; nothing to give back to the file.
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (!this.handle) return;
    const fh = await this.handle;
    this.handle = undefined;
    await fh.close();
  }
}
