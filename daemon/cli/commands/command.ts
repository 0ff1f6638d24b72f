/**
 * What a command file exports: its name and a `register` that adds the
 * command (its options, help and action) to the program. commands/index.ts
 * lists them; a new command is a new file here plus one line there.
 */
import type { Command } from 'commander';
import type { CliDeps } from '../deps.js';

export interface CommandContext {
  readonly deps: CliDeps;
  /** One message line on stderr: "machpager: LINE". */
  readonly log: (line: string) => void;
  /** What the process exits with once the action is done (actions set it; default 0). */
  exitCode: number;
}

export interface CliCommand {
  readonly name: string;
  register(program: Command, ctx: CommandContext): void;
}
