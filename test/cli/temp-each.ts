/**
 * A fresh temporary directory for each test of a describe block, for CLI
 * tests that run commands in it.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { removeTemp, tempDir } from './harness.js';

/** Registers the hooks (call it in the describe block): each test gets a new directory with an empty `sub` in it; the function returned gives it. */
export function tempDirEach(label: string, sub: string): () => string {
  let dir = '';
  beforeEach(async () => {
    dir = await tempDir(label);
    await mkdir(path.join(dir, sub));
  });
  afterEach(async () => {
    await removeTemp(dir);
  });
  return () => dir;
}
