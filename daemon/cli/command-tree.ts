/**
 * The program's commands, options and arguments as plain data, read from
 * commander itself: what shell completion and the man page are made from,
 * so that neither can drift from --help.
 */
import type { Argument, Command, Option } from 'commander';
import { policyNames } from '../../kernel/index.js';

/** What a value is completed from. */
export type ValueKind = { readonly kind: 'file' } | { readonly kind: 'words'; readonly words: readonly string[] } | { readonly kind: 'none' };

export interface OptionSpec {
  readonly short?: string;
  readonly long?: string;
  readonly description: string;
  /** Undefined for a flag that takes no value. */
  readonly value?: ValueKind;
}

export interface ArgumentSpec {
  readonly name: string;
  readonly description: string;
  readonly variadic: boolean;
  readonly value: ValueKind;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly options: readonly OptionSpec[];
  readonly arguments: readonly ArgumentSpec[];
  /** The commander command itself (its full help, for the man page). */
  readonly command: Command;
}

const FILE: ValueKind = { kind: 'file' };
const NONE: ValueKind = { kind: 'none' };
// Placeholders and argument names that name a path (a store's path, a mount, a trace file).
const PATH_WORDS = new Set(['path', 'file', 'newfile', 'store', 'mountpoint', 'trace', 'dir', 'args', 'spec-or-store', 'png', 'svg']);

function words(list: readonly string[]): ValueKind {
  return { kind: 'words', words: list };
}

function optionValue(option: Option): ValueKind | undefined {
  if (!option.required && !option.optional) return undefined;
  if (option.argChoices) return words(option.argChoices);
  if (option.long === '--policy') return words(policyNames());
  if (option.long === '--cache-mode') return words(['direct', 'kernel']);
  const placeholder = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.toLowerCase() ?? '';
  return PATH_WORDS.has(placeholder.replace(/\.\.\.$/, '')) ? FILE : NONE;
}

function argumentValue(command: Command, argument: Argument): ValueKind {
  if (argument.argChoices) return words(argument.argChoices);
  const name = argument.name().toLowerCase();
  if (command.name() === 'policy' && name === 'name') return words(policyNames());
  return PATH_WORDS.has(name) ? FILE : NONE;
}

/** The visible commands of `program`, `help` last. */
export function commandTree(program: Command): CommandSpec[] {
  const specs: CommandSpec[] = [];
  for (const command of program.commands) {
    const options: OptionSpec[] = [];
    for (const option of command.options) {
      if (option.hidden) continue;
      const value = optionValue(option);
      options.push({ short: option.short, long: option.long, description: option.description, ...(value === undefined ? {} : { value }) });
    }
    options.push({ short: '-h', long: '--help', description: 'print help' });
    const args = command.registeredArguments.map((a) => ({ name: a.name(), description: a.description, variadic: a.variadic, value: argumentValue(command, a) }));
    specs.push({ name: command.name(), summary: command.summary() || command.description(), options, arguments: args, command });
  }
  return specs;
}

/** Program-level options (--help, --version). */
export function programOptions(program: Command): OptionSpec[] {
  return [...program.options.map((o) => ({ short: o.short, long: o.long, description: o.description })), { short: '-h', long: '--help', description: 'print help' }];
}
