/**
 * Shell-style globs on paths in a filesystem ('/a/b.wal'), for fault rules
 * that name files: `*` and `?` stay inside one name, `**` crosses '/',
 * `[abc]` is a class. A glob without '/' matches the last name alone
 * (`*.wal` is every .wal file in any directory); one with '/' matches the
 * whole path from the root ('/db/*.wal').
 */
export function globMatcher(glob: string): (path: string) => boolean {
  const source = globSource(glob);
  const re = new RegExp(`^${source}$`);
  if (glob.includes('/')) {
    const rooted = glob.startsWith('/');
    return (p) => re.test(rooted ? p : p.replace(/^\//, ''));
  }
  return (p) => re.test(p.slice(p.lastIndexOf('/') + 1));
}

function globSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        out += `[${body}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return out;
}
