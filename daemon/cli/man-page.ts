/**
 * The man page, machpager(1), written from the program itself (as help2man
 * does): every command's whole --help, the environment variables the
 * options read, the files, the exit codes. `npm run build` writes it to
 * dist/man/machpager.1 (write-man.ts); package.json's "man" installs it.
 */
import type { Command } from 'commander';
import { commandTree } from './command-tree.js';

export interface ManPageInput {
  readonly program: Command;
  /** The whole help of a command as --help prints it (with its text after the options). */
  readonly helpOf: (command: Command) => string;
  readonly version: string;
  /** YYYY-MM-DD. */
  readonly date: string;
}

/** Text for a roff line: backslashes and hyphens escaped, other than ASCII as \[uXXXX], a leading . or ' neutralised. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/[^ -~\n\t]/gu, (c) => `\\[u${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`)
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function preformatted(text: string): string {
  return ['.nf', roff(text.replace(/\s+$/, '')), '.fi'].join('\n');
}

/** Environment variables the options read, with the option each sets. */
function environment(program: Command): string[] {
  const lines: string[] = [];
  for (const command of [program, ...program.commands]) {
    for (const option of command.options) {
      if (option.envVar === undefined || option.hidden) continue;
      lines.push('.TP', `.B ${option.envVar}`, `${roff(option.description)} (\\fBmachpager ${command.name()} ${roff(option.long ?? option.flags)}\\fR).`);
    }
  }
  return lines;
}

export function manPage({ program, helpOf, version, date }: ManPageInput): string {
  const commands = commandTree(program);
  const lines = [
    `.TH MACHPAGER 1 "${date}" "machpager ${version}" "User Commands"`,
    '.SH NAME',
    'machpager \\- a FUSE filesystem whose file contents live in a simulated Mach page cache',
    '.SH SYNOPSIS',
    '.B machpager',
    '.I command',
    '[\\fIoptions\\fR] [\\fIarguments\\fR]',
    '.br',
    '.B machpager',
    '.I STORE MOUNTPOINT',
    '[\\fB\\-f\\fR] [\\fB\\-o\\fR \\fIOPTIONS\\fR]',
    '.SH DESCRIPTION',
    roff(program.description()),
    'Every read and write goes through Mach\\-style memory objects; misses are resolved by an external pager built like',
    "the Hurd's libpager, and a pageout daemon with a pluggable replacement policy hands victims back with",
    '.BR memory_object_data_return .',
    'The inspection commands show the page cache at work: residency, faults, pageins, pageouts and hit ratios, per file and in total, live.',
    '.PP',
    preformatted(helpOf(program)),
    '.SH COMMANDS',
    ...commands.flatMap((c) => [`.SS "machpager ${roff(c.name)}"`, roff(c.summary), '.PP', preformatted(helpOf(c.command))]),
    '.SH ENVIRONMENT',
    ...environment(program),
    '.SH FILES',
    '.TP',
    '.I ~/.local/share/machpager/machpager.db',
    'the default store (under \\fB$XDG_DATA_HOME\\fR when it is set).',
    '.TP',
    '.I /etc/fuse.conf',
    '\\fBuser_allow_other\\fR there lets a user mount with \\fB\\-o allow_other\\fR.',
    '.SH SEE ALSO',
    '.BR fusermount (1),',
    '.BR mount.fuse (8),',
    '.BR vmstat (8),',
    '.BR fincore (1),',
    '.BR vmtouch (8).',
    'The README and docs/ of the package hold the design and the failure contract.',
  ];
  return `${lines.join('\n')}\n`;
}
