/** The `files` table: the HELD column shows pages a failed write-back left held, only when there are some. */
import { describe, expect, it } from 'vitest';
import { renderFiles, type ShownFile } from '../../daemon/cli/commands/files.js';
import type { FileRecord } from '../../daemon/control/protocol.js';

function shown(over: Partial<FileRecord>, name: string): ShownFile {
  const record: FileRecord = {
    path: `/${name}`,
    ino: 2,
    size: 8192,
    pages: 2,
    resident_pages: 2,
    dirty_pages: 1,
    shared_pages: 0,
    resident_fraction: 1,
    faults: 2,
    hits: 0,
    pageins: 0,
    zero_fills: 2,
    pageouts: 0,
    evictions: 0,
    write_errors: 0,
    held_pages: 0,
    checksum_errors: 0,
    cached: false,
    open: true,
    ...over,
  };
  return { record, mountpoint: '/mnt', pageSize: 4096, name: `/mnt/${name}` };
}

describe('files table', () => {
  it('has no HELD column when no page is held', () => {
    const lines = renderFiles([shown({}, 'a')]);
    expect(lines[0]).not.toContain('HELD');
  });

  it('shows HELD per file and in the total when a write-back failed', () => {
    const lines = renderFiles([shown({ held_pages: 3, write_errors: 3 }, 'a'), shown({}, 'b')], { bytes: true, total: true });
    expect(lines[0]).toMatch(/DIRTY\s+HELD\s+SIZE/);
    expect(lines[1]).toMatch(/4096\s+12288\s+8192/);
    expect(lines[3]).toMatch(/^.*12288.*total$/);
  });
});
