/**
 * A MachFilesystem in this process, driven through its FUSE operations table
 * without a mount (no kernel in front: each operation is called as libfuse
 * would call it, with the context we choose).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FsError } from '../../daemon/fs/errors.js';
import { MachFilesystem } from '../../daemon/fs/filesystem.js';
import type { FuseContext, FuseOperations } from '../../daemon/fs/fuse/contract.js';

export const ROOT: FuseContext = { uid: 0, gid: 0, pid: 1 };

export interface InProcessFs {
  readonly fs: MachFilesystem;
  readonly ops: FuseOperations;
  close(): Promise<void>;
}

/** A new filesystem in a temporary directory; close() closes it and removes the directory. */
export async function openInProcessFs(label: string): Promise<InProcessFs> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `machpager-${label}-`));
  try {
    const fs = await MachFilesystem.open({ store: `sqlite:${dir}/fs.db`, cacheSize: 1 << 20, pageSize: 4096, policy: 'lru', readOnly: false, cacheMode: 'direct', create: true, log: () => undefined });
    return {
      fs,
      ops: fs.operations(),
      close: async () => {
        try {
          await fs.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Call one operation; resolves with its value, rejects with its FsError (thrown or replied). */
export function call<T = unknown>(op: (reply: (err: FsError | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    try {
      op((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
