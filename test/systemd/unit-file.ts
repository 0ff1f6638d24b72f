/**
 * Reading systemd unit files the way systemd 252 reads them, for tests that
 * run a unit's commands without systemd (PID 1 here is no systemd):
 *
 * - unit files: [Section] headers, Key=Value lines, # and ; comments, a
 *   trailing backslash continuing a line (systemd.syntax(7));
 * - specifiers in values: %i %I %n %N %p %P %% (systemd.unit(5));
 * - Environment=: space-separated KEY=VALUE words, quotes allowed;
 * - EnvironmentFile=: KEY=VALUE lines, # and ; comments, values single- or
 *   double-quoted or bare, backslash escapes, trailing backslash
 *   continuing a line (systemd.exec(5), parse_env_file);
 * - Exec lines: the prefixes - @ : + !, words split with C-style quoting and
 *   escapes, then "${VAR}" replaced within a word, "$VAR" as a word of its
 *   own replaced by the value split at white space (nothing when empty),
 *   "$$" a literal dollar (systemd.service(5), "Command lines").
 *
 * Strict: what systemd has and this does not (other specifiers,
 * ${VAR:-default}, several commands in one line) throws, so a unit that
 * starts using it fails its test instead of being run differently.
 */

export type Section = ReadonlyArray<readonly [key: string, value: string]>;

export interface UnitFile {
  readonly sections: ReadonlyMap<string, Section>;
}

/** Parse a unit file's text into sections of (key, value) pairs, in order. */
export function parseUnitFile(text: string): UnitFile {
  const sections = new Map<string, Array<readonly [string, string]>>();
  let current: Array<readonly [string, string]> | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    // A trailing backslash joins the next line (with a space); comment lines inside are skipped.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = (lines[++i] ?? '').trim();
      if (next.startsWith('#') || next.startsWith(';')) {
        line = line.slice(0, -1);
        continue;
      }
      line = `${line.slice(0, -1)} ${next}`;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1] ?? '') ?? [];
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || current === undefined) throw new Error(`unit file line ${i + 1}: not Key=Value in a section: ${line}`);
    current.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return { sections };
}

/** Every value of `key` in `section`, in order (an empty assignment resets the list, as in systemd). */
export function values(unit: UnitFile, section: string, key: string): string[] {
  const out: string[] = [];
  for (const [k, v] of unit.sections.get(section) ?? []) {
    if (k !== key) continue;
    if (v === '') out.length = 0;
    else out.push(v);
  }
  return out;
}

/** The one value of `key` (the last one, as systemd takes it); throws when there is none. */
export function value(unit: UnitFile, section: string, key: string): string {
  const all = values(unit, section, key);
  const last = all[all.length - 1];
  if (last === undefined) throw new Error(`[${section}] has no ${key}=`);
  return last;
}

// ---------------------------------------------------------------------------
// Specifiers

/** systemd's unit name unescaping (systemd-escape -u): \xNN is a byte, "-" is "/". */
function unescapeName(s: string): string {
  return s.replace(/-/g, '/').replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Replace the specifiers of `unitName` ("machpager@home.service") in `text`. */
export function expandSpecifiers(text: string, unitName: string): string {
  const m = /^([^@]+)@([^.]*)\.([a-z]+)$/.exec(unitName) ?? /^([^@.]+)()\.([a-z]+)$/.exec(unitName);
  if (!m) throw new Error(`not a unit name: ${unitName}`);
  const [, prefix = '', instance = '', suffix = ''] = m;
  const table: Record<string, string> = {
    i: instance,
    I: unescapeName(instance),
    n: unitName,
    N: unitName.slice(0, -(suffix.length + 1)),
    p: prefix,
    P: unescapeName(prefix),
    '%': '%',
  };
  return text.replace(/%(.)/g, (whole, c: string) => {
    const v = table[c];
    if (v === undefined) throw new Error(`specifier ${whole} is not handled by this test helper`);
    return v;
  });
}

// ---------------------------------------------------------------------------
// Words (Exec lines, Environment=)

const C_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'", s: ' ' };

/** Split into words as systemd does (extract_first_word with UNQUOTE and CUNESCAPE). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i] ?? '')) i++;
    if (i >= n) break;
    let word = '';
    let quote: '"' | "'" | undefined;
    for (; i < n; i++) {
      const c = text[i] ?? '';
      if (quote === undefined && /\s/.test(c)) break;
      if (quote === undefined && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (quote !== undefined && c === quote) {
        quote = undefined;
        continue;
      }
      if (c === '\\') {
        const e = text[++i];
        if (e === undefined) throw new Error(`a trailing backslash in: ${text}`);
        if (e === 'x') {
          word += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
          i += 2;
          continue;
        }
        const mapped = C_ESCAPES[e];
        if (mapped === undefined) throw new Error(`escape \\${e} is not handled by this test helper`);
        word += mapped;
        continue;
      }
      word += c;
    }
    if (quote !== undefined) throw new Error(`an unterminated quote in: ${text}`);
    words.push(word);
  }
  return words;
}

/** Environment= values: KEY=VALUE words. */
export function parseEnvironmentAssignments(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of splitWords(text)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`Environment=: not KEY=VALUE: ${word}`);
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return env;
}

// ---------------------------------------------------------------------------
// EnvironmentFile=

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parse an environment file as systemd's EnvironmentFile= does. */
export function parseEnvironmentFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  const atLineEnd = (): boolean => i >= n || text[i] === '\n';
  while (i < n) {
    // Key, after blanks; a line starting with # or ; is a comment.
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
    if (i >= n) break;
    if (text[i] === '#' || text[i] === ';') {
      while (!atLineEnd()) i++;
      continue;
    }
    let key = '';
    while (!atLineEnd() && text[i] !== '=') key += text[i++];
    if (atLineEnd()) throw new Error(`EnvironmentFile: not KEY=VALUE: ${key}`);
    i++; // '='
    key = key.trim();
    if (!ENV_NAME.test(key)) throw new Error(`EnvironmentFile: not a variable name: ${key}`);
    while (text[i] === ' ' || text[i] === '\t') i++;

    // The value: bare, '...' or "..." pieces, concatenated, up to the end of the line.
    let val = '';
    let trailingBlank = 0; // blanks at the end of a bare piece are dropped
    while (!atLineEnd()) {
      const c = text[i] ?? '';
      if (c === "'") {
        const end = text.indexOf("'", i + 1);
        if (end < 0) throw new Error(`EnvironmentFile: unterminated ' in ${key}`);
        val += text.slice(i + 1, end);
        i = end + 1;
        trailingBlank = 0;
      } else if (c === '"') {
        i++;
        for (; i < n && text[i] !== '"'; i++) {
          const d = text[i] ?? '';
          if (d === '\\') {
            const e = text[i + 1] ?? '';
            if (e === '\n') {
              i++;
            } else if ('"\\`$'.includes(e)) {
              val += e;
              i++;
            } else {
              val += d;
            }
          } else {
            val += d;
          }
        }
        if (i >= n) throw new Error(`EnvironmentFile: unterminated " in ${key}`);
        i++;
        trailingBlank = 0;
      } else if (c === '\\') {
        const e = text[i + 1];
        i += 2;
        if (e !== undefined && e !== '\n') val += e;
        trailingBlank = 0;
      } else {
        val += c;
        trailingBlank = c === ' ' || c === '\t' || c === '\r' ? trailingBlank + 1 : 0;
        i++;
      }
    }
    env[key] = trailingBlank > 0 ? val.slice(0, -trailingBlank) : val;
  }
  return env;
}

// ---------------------------------------------------------------------------
// Exec lines

export interface ExecCommand {
  /** The argument vector after expansion (argv[0] is the program). */
  readonly argv: string[];
  /** The "-" prefix: a failure is ignored. */
  readonly ignoreFailure: boolean;
}

/** Replace ${NAME} within a word and $$ by $; an unset variable is empty. */
function replaceInWord(word: string, env: Readonly<Record<string, string | undefined>>): string {
  let out = '';
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = word[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      const end = word.indexOf('}', i + 2);
      if (end < 0) throw new Error(`unterminated \${ in ${word}`);
      const name = word.slice(i + 2, end);
      if (!ENV_NAME.test(name)) throw new Error(`\${${name}} is not handled by this test helper`);
      out += env[name] ?? '';
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** Expand an Exec line (ExecStart= ...) of `unitName` with `env`, as systemd runs it. */
export function expandExecLine(line: string, unitName: string, env: Readonly<Record<string, string | undefined>>): ExecCommand {
  let rest = line;
  let ignoreFailure = false;
  for (;;) {
    const c = rest[0];
    if (c === '-') ignoreFailure = true;
    else if (c !== '@' && c !== ':' && c !== '+' && c !== '!') break;
    if (c === '@' || c === ':' || c === '+' || c === '!') throw new Error(`the Exec prefix ${c} is not handled by this test helper`);
    rest = rest.slice(1);
  }
  // Words first, then specifiers in each (as systemd's config_parse_exec does).
  const words = splitWords(rest).map((w) => expandSpecifiers(w, unitName));
  if (words.includes(';')) throw new Error('several commands in one Exec line are not handled by this test helper');
  const argv: string[] = [];
  for (const word of words) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) {
      // $NAME alone: the value split at white space (quotes in it unquoted); nothing when empty.
      argv.push(...splitWords(env[whole[1] ?? ''] ?? ''));
    } else {
      argv.push(replaceInWord(word, env));
    }
  }
  return { argv, ignoreFailure };
}

/**
 * The environment systemd gives a unit's commands: the manager's own
 * (`base`: PATH, NOTIFY_SOCKET ...), then Environment= in order, then the
 * EnvironmentFile= files in order (each overriding what came before);
 * `readFile` gives a file's text for its path, or undefined for a missing
 * file (allowed only with the "-" prefix).
 */
export function unitEnvironment(
  unit: UnitFile,
  unitName: string,
  base: Readonly<Record<string, string>>,
  readFile: (path: string) => string | undefined,
): Record<string, string> {
  const env: Record<string, string> = { ...base };
  for (const v of values(unit, 'Service', 'Environment')) Object.assign(env, parseEnvironmentAssignments(expandSpecifiers(v, unitName)));
  for (const v of values(unit, 'Service', 'EnvironmentFile')) {
    const optional = v.startsWith('-');
    const file = expandSpecifiers(optional ? v.slice(1) : v, unitName);
    const text = readFile(file);
    if (text === undefined) {
      if (optional) continue;
      throw new Error(`EnvironmentFile=${file} is missing: systemd would refuse to start the unit`);
    }
    Object.assign(env, parseEnvironmentFile(text));
  }
  return env;
}
