/**
 * The mount command's input (MountInput) as daemon/cli/commands/mount.ts
 * builds it from flags, -o and the environment, for tests that resolve a
 * mount plan without running the command: every option at its default,
 * then the test's changes.
 */
import type { Given, MountInput } from '../../daemon/cli/mount-plan.js';

/** One option as the command read it: its value, where it came from, its flag and environment variable. */
export function given(value: string | undefined, source: Given['source'], flag: string, envVar?: string): Given {
  return { value, source, flag, ...(envVar !== undefined ? { envVar } : {}) };
}

/** `machpager mount mnt` with nothing else given; `over` replaces what a test sets. */
export function mountInput(over: Partial<MountInput> = {}): MountInput {
  return {
    args: ['mnt'],
    cacheSize: given('64M', 'default', '--cache-size', 'MACHPAGER_CACHE_SIZE'),
    pageSize: given('4K', 'default', '--page-size', 'MACHPAGER_PAGE_SIZE'),
    policy: given('mach', 'default', '--policy', 'MACHPAGER_POLICY'),
    cacheMode: given('direct', 'default', '--cache-mode', 'MACHPAGER_CACHE_MODE'),
    store: given(undefined, undefined, '--store', 'MACHPAGER_STORE'),
    logFile: given(undefined, undefined, '--log-file'),
    daemonTimeout: given('30', 'default', '--daemon-timeout'),
    options: [],
    daemon: false,
    foreground: false,
    debug: false,
    dryRun: false,
    ...over,
  };
}
