/** The `files` table: the HELD column shows pages a failed write-back left held, and RA / RAHITS pages read ahead, only when there are some. */
import { describe, expect, it } from 'vitest';
import { renderFiles, type ShownFile } from '../../daemon/cli/commands/files.js';
import { parseColumns } from '../../daemon/cli/files-table.js';
import { CliError } from '../../daemon/cli/cli-error.js';
import { EXIT } from '../../daemon/cli/exit-codes.js';
import { runInProcess } from './harness.js';
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
    readahead_pages: 0,
    readahead_hits: 0,
    readahead_unused: 0,
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
  it('shows read-ahead pages and their hits apart from demand hits, per file and in the total, when some file has some', () => {
    expect(renderFiles([shown({}, 'a')])[0]).not.toContain('RA');
    const lines = renderFiles([shown({ hits: 1, readahead_pages: 48, readahead_hits: 40, readahead_unused: 8 }, 'a'), shown({}, 'b')], { total: true });
    expect(lines[0]).toMatch(/FAULTS\s+HITS\s+RA\s+RAHITS\s+FILE$/);
    expect(lines[1]).toMatch(/\s2\s+1\s+48\s+40 \/mnt\/a$/);
    expect(lines[2]).toMatch(/\s2\s+0\s+0\s+0 \/mnt\/b$/);
    expect(lines[3]).toMatch(/\s4\s+1\s+48\s+40 total$/);
  });

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

describe("files table: fincore's -o, -n and --raw", () => {
  const two = [shown({ size: 3 * 1024 * 1024, pages: 768, resident_pages: 512, pageins: 700 }, 'big'), shown({}, 'small')];

  it('-o picks the columns and their order, in any case', () => {
    const lines = renderFiles(two, { columns: parseColumns('res,pages,size,file') });
    expect(lines).toEqual(['RES PAGES SIZE FILE', ' 2M   512   3M /mnt/big', ' 8K     2   8K /mnt/small']);
  });

  it('-o +COL adds to the default columns, before FILE', () => {
    const [head] = renderFiles(two, { columns: parseColumns('+PAGEINS,INODE') });
    expect(head.split(/\s+/)).toEqual(['RES', 'PAGES', 'DIRTY', 'SIZE', 'RES%', 'FAULTS', 'HITS', 'PAGEINS', 'INODE', 'FILE']);
  });

  it('-n drops the header; --raw is unaligned, one space apart, sizes in bytes', () => {
    expect(renderFiles(two, { noHeadings: true, columns: parseColumns('PAGES,FILE') })).toEqual(['512 /mnt/big', '  2 /mnt/small']);
    expect(renderFiles(two, { raw: true, columns: parseColumns('RES,SIZE,FILE') })).toEqual(['RES SIZE FILE', '2097152 3145728 /mnt/big', '8192 8192 /mnt/small']);
    expect(renderFiles(two, { raw: true, noHeadings: true, total: true, columns: parseColumns('PAGES,FILE') })).toEqual(['512 /mnt/big', '2 /mnt/small', '514 total']);
  });

  it('an unknown column is a usage error naming it and the known ones', () => {
    expect(() => parseColumns('RES,BOGUS')).toThrow(CliError);
    expect(() => parseColumns('RES,BOGUS')).toThrow(/no column BOGUS \(known: RES, PAGES, /);
    expect(() => parseColumns('RES,,FILE')).toThrow(/comma-separated list/);
  });

  it('the command refuses a bad -o before it looks for a mount, and -o with --json', async () => {
    const bad = await runInProcess(['files', '-o', 'RES,NOPE', '/nowhere'], { cwd: '/' });
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.lines).toEqual([expect.stringMatching(/^machpager: -o RES,NOPE: no column NOPE/)]);
    const json = await runInProcess(['files', '--json', '-n', '/nowhere'], { cwd: '/' });
    expect(json.code).toBe(EXIT.USAGE);
  });
});
