/**
 * Shell completion for bash, zsh and fish, written from the command tree
 * (command-tree.ts): commands, each command's options, the values an
 * option or argument takes (policy names, cache modes, trace actions,
 * paths). The same rules in each shell: the first word is a command (or a
 * store, for the `machpager STORE MOUNTPOINT` shorthand); after it, `-`
 * completes options, a word after an option that takes a value completes
 * that value, anything else completes the command's arguments.
 */
import type { CommandSpec, OptionSpec, ValueKind } from './command-tree.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

export interface CompletionInput {
  readonly commands: readonly CommandSpec[];
  readonly programOptions: readonly OptionSpec[];
}

export function completionScript(shell: Shell, input: CompletionInput): string {
  switch (shell) {
    case 'bash':
      return bashScript(input);
    case 'zsh':
      return zshScript(input);
    case 'fish':
      return fishScript(input);
  }
}

function flags(option: OptionSpec): string[] {
  return [option.short, option.long].filter((f): f is string => f !== undefined);
}

/** The kinds a command's arguments take, merged: the words any of them may be, and whether any is a path. */
function argumentKinds(command: CommandSpec): { words: string[]; files: boolean } {
  const words = new Set<string>();
  let files = false;
  for (const argument of command.arguments) {
    if (argument.value.kind === 'words') for (const w of argument.value.words) words.add(w);
    if (argument.value.kind === 'file') files = true;
  }
  return { words: [...words], files };
}

/** `help`'s argument is a command name. */
function helpCommand(commands: readonly CommandSpec[]): { name: string; summary: string; args: string[] } {
  return { name: 'help', summary: 'display help for command', args: commands.map((c) => c.name) };
}

// ---------------------------------------------------------------------------
// bash

function bashValue(value: ValueKind): string {
  switch (value.kind) {
    case 'file':
      return 'COMPREPLY=($(compgen -f -- "$cur")); return ;;';
    case 'words':
      return `COMPREPLY=($(compgen -W '${value.words.join(' ')}' -- "$cur")); return ;;`;
    case 'none':
      return 'return ;;';
  }
}

function bashScript({ commands, programOptions }: CompletionInput): string {
  const help = helpCommand(commands);
  const names = [...commands.map((c) => c.name), help.name];
  const cases = commands.map((command) => {
    const valued = command.options.filter((o) => o.value !== undefined);
    const prevCases = valued.map((o) => `        ${flags(o).join('|')}) ${bashValue(o.value ?? { kind: 'none' })}`);
    const args = argumentKinds(command);
    const argLines = [
      ...(args.words.length > 0 ? [`      COMPREPLY=($(compgen -W '${args.words.join(' ')}' -- "$cur"))`] : []),
      ...(args.files ? ['      COMPREPLY+=($(compgen -f -- "$cur"))'] : []),
    ];
    return [
      `    ${command.name})`,
      ...(prevCases.length > 0 ? ['      case $prev in', ...prevCases, '      esac'] : []),
      `      if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W '${command.options.flatMap(flags).join(' ')}' -- "$cur")); return; fi`,
      ...argLines,
      '      ;;',
    ].join('\n');
  });
  return `# bash completion for machpager (machpager completion bash).
# Load it now:  source <(machpager completion bash)
# For good:     machpager completion bash > /etc/bash_completion.d/machpager
_machpager() {
  local cur prev cmd i
  COMPREPLY=()
  cur=\${COMP_WORDS[COMP_CWORD]}
  prev=\${COMP_WORDS[COMP_CWORD-1]}
  cmd=
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      -*) ;;
      *) cmd=\${COMP_WORDS[i]}; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W '${programOptions.flatMap(flags).join(' ')}' -- "$cur"))
    else
      # A command, or the STORE of the "machpager STORE MOUNTPOINT" shorthand.
      COMPREPLY=($(compgen -W '${names.join(' ')}' -- "$cur") $(compgen -f -- "$cur"))
    fi
    return
  fi
  case $cmd in
${cases.join('\n')}
    help)
      COMPREPLY=($(compgen -W '${help.args.join(' ')}' -- "$cur"))
      ;;
    *)
      COMPREPLY=($(compgen -f -- "$cur"))
      ;;
  esac
}
complete -o filenames -o bashdefault -F _machpager machpager
`;
}

// ---------------------------------------------------------------------------
// zsh

/** Text inside an _arguments spec's [description] or a _describe entry, inside single quotes. */
function zshText(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/([[\]:\\])/g, '\\$1').replace(/'/g, "'\\''");
}

function zshAction(value: ValueKind): string {
  switch (value.kind) {
    case 'file':
      return '_files';
    case 'words':
      return `(${value.words.join(' ')})`;
    case 'none':
      return ' ';
  }
}

function zshOption(option: OptionSpec): string[] {
  const action = option.value === undefined ? '' : `:value:${zshAction(option.value)}`;
  return flags(option).map((f) => `'${f}[${zshText(option.description)}]${action}'`);
}

function zshArguments(command: CommandSpec): string {
  const args = argumentKinds(command);
  const actions = [...(args.words.length > 0 ? [`"words:word:(${args.words.join(' ')})"`] : []), ...(args.files ? ['"files:file:_files"'] : [])];
  const rest = actions.length === 0 ? [] : [`'*:argument:_alternative ${actions.join(' ')}'`];
  return ['_arguments -S', ...command.options.flatMap(zshOption), ...rest].join(' \\\n        ');
}

function zshScript({ commands, programOptions }: CompletionInput): string {
  const help = helpCommand(commands);
  const described = [...commands.map((c) => `    '${c.name}:${zshText(c.summary)}'`), `    'help:${zshText(help.summary)}'`];
  const cases = commands.map((command) => `    ${command.name})\n      ${zshArguments(command)}\n      ;;`);
  return `#compdef machpager
# zsh completion for machpager (machpager completion zsh).
# Load it now:  source <(machpager completion zsh)
# For good:     machpager completion zsh > "\${fpath[1]}/_machpager"
_machpager() {
  local -a commands
  commands=(
${described.join('\n')}
  )
  if (( CURRENT == 2 )); then
    if [[ $words[CURRENT] == -* ]]; then
      _arguments ${programOptions.flatMap(zshOption).join(' ')}
    else
      # A command, or the STORE of the "machpager STORE MOUNTPOINT" shorthand.
      _alternative 'commands:command:_describe -t commands command commands' 'files:store:_files'
    fi
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases.join('\n')}
    help)
      _arguments '1:command:(${help.args.join(' ')})'
      ;;
    *)
      _files
      ;;
  esac
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _machpager "$@"
else
  compdef _machpager machpager
fi
`;
}

// ---------------------------------------------------------------------------
// fish

function fishText(text: string): string {
  return `'${text.replace(/\s+/g, ' ').replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function fishOption(condition: string, option: OptionSpec): string {
  const parts = ['complete -c machpager', `-n ${condition}`];
  if (option.short !== undefined) parts.push(`-s ${option.short.slice(1)}`);
  if (option.long !== undefined) parts.push(`-l ${option.long.slice(2)}`);
  if (option.value?.kind === 'file') parts.push('-r -F');
  else if (option.value?.kind === 'words') parts.push(`-x -a ${fishText(option.value.words.join(' '))}`);
  else if (option.value?.kind === 'none') parts.push('-x');
  parts.push(`-d ${fishText(option.description)}`);
  return parts.join(' ');
}

function fishScript({ commands, programOptions }: CompletionInput): string {
  const help = helpCommand(commands);
  const lines = [
    '# fish completion for machpager (machpager completion fish).',
    '# Load it now:  machpager completion fish | source',
    '# For good:     machpager completion fish > ~/.config/fish/completions/machpager.fish',
    'complete -c machpager -e',
    // No file names by default: a command's arguments say where paths go.
    'complete -c machpager -f',
    ...programOptions.map((o) => fishOption('__fish_use_subcommand', o)),
    ...commands.map((c) => `complete -c machpager -n __fish_use_subcommand -a ${c.name} -d ${fishText(c.summary)}`),
    `complete -c machpager -n __fish_use_subcommand -a help -d ${fishText(help.summary)}`,
    // The STORE of the "machpager STORE MOUNTPOINT" shorthand.
    'complete -c machpager -n __fish_use_subcommand -F',
  ];
  for (const command of commands) {
    const condition = fishText(`__fish_seen_subcommand_from ${command.name}`);
    lines.push(...command.options.map((o) => fishOption(condition, o)));
    const args = argumentKinds(command);
    if (args.words.length > 0) lines.push(`complete -c machpager -n ${condition} -a ${fishText(args.words.join(' '))}`);
    if (args.files) lines.push(`complete -c machpager -n ${condition} -F`);
  }
  lines.push(`complete -c machpager -n ${fishText('__fish_seen_subcommand_from help')} -a ${fishText(help.args.join(' '))}`);
  return `${lines.join('\n')}\n`;
}
