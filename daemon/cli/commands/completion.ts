/**
 * `machpager completion bash|zsh|fish`: print a completion script for the
 * shell, made from the program's own commands and options.
 */
import { Argument, type Command } from 'commander';
import { commandTree, programOptions } from '../command-tree.js';
import { SHELLS, completionScript, type Shell } from '../completion-scripts.js';
import type { CliCommand } from './command.js';

const HELP_AFTER = `
Load it in the running shell, or install it for good:
  bash:  source <(machpager completion bash)
         machpager completion bash > /etc/bash_completion.d/machpager
  zsh:   source <(machpager completion zsh)
         machpager completion zsh > "\${fpath[1]}/_machpager"
  fish:  machpager completion fish | source
         machpager completion fish > ~/.config/fish/completions/machpager.fish
`;

export const completionCommand: CliCommand = {
  name: 'completion',
  register(program, ctx) {
    program
      .command('completion')
      .summary('print a shell completion script (bash, zsh, fish)')
      .description('Print a script that completes machpager commands, options, policy names and paths in SHELL.')
      .usage('bash|zsh|fish')
      .addArgument(new Argument('<SHELL>', 'bash, zsh or fish').choices(SHELLS))
      .addHelpText('after', HELP_AFTER)
      .action((shell: Shell, _opts: unknown, _command: Command) => {
        ctx.deps.stdout(completionScript(shell, { commands: commandTree(program), programOptions: programOptions(program) }));
      });
  },
};
