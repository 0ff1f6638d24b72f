/** Temporary directories for store tests, removed when the file's tests end. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh directory under os.tmpdir(), removed after all tests of the calling file. */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `machpager-${label}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
