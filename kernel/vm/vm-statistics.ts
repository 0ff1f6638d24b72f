/**
 * The kernel's figures as one record (host_statistics / vm_stat): the
 * counters VmStatistics keeps, and the state of the pool, the queues, the
 * laundry and the objects at this moment.
 */
import type { Kernel } from './kernel.js';
import type { VmStatisticsRecord } from './statistics.js';

export function vmStatistics(vm: Kernel): VmStatisticsRecord {
  let dirty = 0;
  for (const object of vm.objects.values()) dirty += object.dirtyCount;
  return vm.stats.snapshot({
    pagesize: vm.pageSize,
    free_count: vm.pages.freeFrameCount,
    active_count: vm.policy.activeCount,
    inactive_count: vm.policy.inactiveCount,
    wire_count: vm.wiredPages,
    laundry_count: vm.externalLaundry + vm.defaultLaundry,
    laundry_writing: vm.externalWriting,
    dirty_count: dirty,
    objects: vm.objects.size,
    objects_cached: vm.cachedObjects.size,
    policy: vm.policy.name,
    frames: vm.frameCount,
    frames_retiring: vm.pages.retireDebt,
    free_min: vm.freeMin,
    free_low: vm.freeLow,
    free_high: vm.freeHigh,
    reactivations: vm.policy.reactivations,
  });
}
