/**
 * The temporary directory a mount test file keeps its stores and
 * mountpoints in: made before its tests, removed after them once every
 * mount is stopped.
 */
import { afterAll, beforeAll } from 'vitest';
import { cleanupMounts, removeDir, tempDir } from './mounted.js';

/** Registers the hooks (call it at the top of the file); the function it returns gives the directory. */
export function mountsDir(label: string): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await tempDir(label);
  });
  afterAll(async () => {
    await cleanupMounts();
    if (dir) await removeDir(dir);
  });
  return () => dir;
}
