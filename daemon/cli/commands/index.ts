/**
 * The commands of `machpager`, in the order --help lists them. Coming
 * with later issues: stats, files, sync, evict, policy, cache-size, top,
 * sim, trace, fsck.
 */
import type { CliCommand } from './command.js';
import { mountCommand } from './mount.js';

export const COMMANDS: readonly CliCommand[] = [mountCommand];

export type { CliCommand, CommandContext } from './command.js';
