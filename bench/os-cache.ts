/** The OS page cache, for cold-cache figures. */
import { writeFileSync } from 'node:fs';

/** Ask the OS to drop its page cache (root only); false when it cannot. */
export function dropOsCaches(): boolean {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}
