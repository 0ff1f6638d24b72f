/**
 * The filesystem store name (stores/fs-store.ts): the one parser the CLI,
 * the daemon's lock and the filesystem share, and the one layout of a
 * file:DIR store.
 */
import { describe, expect, it } from 'vitest';
import { fileStoreLayout, fsStoreDataFile, fsStoreLayout, fsStoreName, parseFsStoreName, sqliteFiles, StoreError } from '../../stores/index.js';

describe('parseFsStoreName', () => {
  it('reads typed names and bare paths', () => {
    const cases: [string, string, string][] = [
      ['sqlite:/srv/a.db', 'sqlite', '/srv/a.db'],
      ['sqlite:rel/a', 'sqlite', 'rel/a'],
      ['file:/srv/pages', 'file', '/srv/pages'],
      ['home.db', 'sqlite', 'home.db'],
      ['/srv/pages', 'file', '/srv/pages'],
      ['pages', 'file', 'pages'],
      // ./ and ../ start a path, even with a ':' inside; so does anything that is no TYPE: in front.
      ['./a:b', 'file', './a:b'],
      ['../x.db', 'sqlite', '../x.db'],
      ['/a:b', 'file', '/a:b'],
      [':x', 'file', ':x'],
      ['a-b:c', 'file', 'a-b:c'],
    ];
    for (const [name, kind, path] of cases) {
      expect(parseFsStoreName(name), name).toEqual({ kind, path });
      expect(fsStoreName(parseFsStoreName(name))).toBe(`${kind}:${path}`);
    }
  });

  it('keeps a postgres: URI whole (postgresql: spelt postgres:)', () => {
    for (const [name, uri] of [
      ['postgres://me@db.example/files', 'postgres://me@db.example/files'],
      ['postgresql:///files?host=/run/postgresql&user=me', 'postgres:///files?host=/run/postgresql&user=me'],
    ]) {
      expect(parseFsStoreName(name), name).toEqual({ kind: 'postgres', path: uri });
      expect(fsStoreName(parseFsStoreName(name))).toBe(uri);
    }
  });

  it('refuses other types, no path and NUL bytes with EINVAL', () => {
    const bad: [string, RegExp][] = [
      ['memory:64M', /a filesystem keeps its data in sqlite:PATH, file:DIR or postgres:\/\/USER@HOST\/DB, not memory:$/],
      ['sqlite:', /names no path$/],
      ['file:', /names no path$/],
      ['', /names no path$/],
      ['file:/a\0b', /NUL/],
      ['postgres:db', /takes a libpq URI/],
      ['postgres://host/', /names no database$/],
      ['postgres://host/db#3', /no space number/],
    ];
    for (const [name, message] of bad) {
      const err = (() => {
        try {
          parseFsStoreName(name);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, name).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('EINVAL');
      expect((err as StoreError).message).toMatch(message);
    }
  });
});

describe('the layout of a store', () => {
  it('sqlite:PATH is its own catalog, locked beside it', () => {
    expect(fsStoreLayout({ kind: 'sqlite', path: '/s/a.db' })).toEqual({ catalog: '/s/a.db', lock: '/s/a.db.lock' });
    expect(sqliteFiles('/s/a.db')).toEqual(['/s/a.db', '/s/a.db-wal', '/s/a.db-shm', '/s/a.db-journal']);
  });

  it('file:DIR has DIR/catalog.db, its lock, and one raw file per inode under DIR/data', () => {
    const layout = fileStoreLayout('/s/d');
    expect(layout).toEqual({ catalog: '/s/d/catalog.db', lock: '/s/d/catalog.db.lock', data: '/s/d/data' });
    expect(fsStoreLayout({ kind: 'file', path: '/s/d' })).toEqual(layout);
    expect(fsStoreDataFile(layout.data, 42)).toBe('/s/d/data/42');
  });

  it('postgres: keeps its catalog in the database, and its lock on this machine, named after the URI', () => {
    const a = fsStoreLayout({ kind: 'postgres', path: 'postgres://h/a' });
    expect(a.catalog).toBe('postgres://h/a');
    expect(a.lock).toMatch(/\/machpager-postgres-[0-9a-f]{16}\.lock$/);
    expect(fsStoreLayout({ kind: 'postgres', path: 'postgres://h/b' }).lock).not.toBe(a.lock);
  });
});
