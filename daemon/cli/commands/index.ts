/**
 * The commands of `machpager`, in the order --help lists them.
 */
import { cacheSizeCommand } from './cache-size.js';
import type { CliCommand } from './command.js';
import { completionCommand } from './completion.js';
import { evictCommand } from './evict.js';
import { filesCommand } from './files.js';
import { injectCommand } from './inject.js';
import { crashCommand } from './crash.js';
import { fsckCommand } from './fsck.js';
import { mountCommand } from './mount.js';
import { policyCommand } from './policy.js';
import { regionsCommand } from './regions.js';
import { requestsCommand } from './requests.js';
import { simCommand } from './sim.js';
import { snapshotCommand } from './snapshot.js';
import { statsCommand } from './stats.js';
import { syncCommand } from './sync.js';
import { topCommand } from './top.js';
import { traceCommand } from './trace.js';
import { vmtouchCommand } from './vmtouch.js';
import { webCommand } from './web.js';

export const COMMANDS: readonly CliCommand[] = [mountCommand, statsCommand, filesCommand, vmtouchCommand, regionsCommand, requestsCommand, topCommand, webCommand, syncCommand, evictCommand, snapshotCommand, policyCommand, cacheSizeCommand, injectCommand, crashCommand, simCommand, traceCommand, fsckCommand, completionCommand];

export type { CliCommand, CommandContext } from './command.js';
