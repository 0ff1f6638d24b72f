/**
 * The simulated Mach kernel: what the rest of machpager may use. Pagers
 * speak to it only with the messages of vm/memory-object-defs.ts.
 */
export * from './ipc/kern-return.js';
export * from './ipc/message.js';
export * from './ipc/notify.js';
export { IpcSystem, IpcSpace, type RightsInfo, type SendOptions, type RightKind } from './ipc/space.js';
export { serve } from './ipc/receive-loop.js';
export { OolMemory } from './ipc/ool-memory.js';
export * from './vm/prot.js';
export * from './vm/errno.js';
export * from './vm/memory-object-defs.js';
export { Kernel, type KernelOptions, type ObjectRecord } from './vm/kernel.js';
export type { VmMapOptions } from './vm/vm-map-options.js';
export * from './vm/inherit.js';
export type { VmRegionInfo } from './vm/region.js';
export type { MapEntry } from './vm/address-map.js';
export { FaultWait, FAULT_WAIT_REASONS, type FaultWaitReason } from './vm/fault-wait.js';
export { LatencyHistogram } from './vm/latency.js';
export { ABSENT_MAX, DEFAULT_MAX_CLUSTER_PAGES, DEFAULT_PAGER_TIMEOUT_MS, MAX_DEFAULT_LAUNDRY, MIN_FRAMES } from './vm/vm-param.js';
export { VmWindow } from './vm/map.js';
export { MINCORE_INCORE, MINCORE_MODIFIED, MINCORE_WIRED } from './vm/mincore.js';
export { DATA_WRITE_MAX } from './vm/data-return.js';
export type { MemcpyResult } from './vm/memcpy.js';
export type { VmObject, ObjectStatistics } from './vm/object.js';
export type { VmStatisticsRecord } from './vm/statistics.js';
export { LATENCY_BOUNDS_US, type LatencyBound, type LatencyBucket, type LatencySummary } from './vm/latency.js';
export { FRAME_STATES, type FrameMap, type FrameMapObject, type FrameState } from './vm/frame-map.js';
export { MemorySwap, FileSwap, type SwapStore } from './default-pager/swap.js';
export type { ReplacementPolicy, PolicyFactory } from './policy/policy.js';
export { createPolicy, policyNames, policyFactories, allPolicyFactories, policyFactory, hasPolicy, DEFAULT_POLICY } from './policy/registry.js';
export { replay, nextAccesses, type Trace, type ReplayResult } from './policy/replay.js';
export { parseTrace, parseTraceLine, TraceBuilder, TraceFormatError } from './policy/trace.js';
export { StackDistances, DistanceHistogram, lruHistogram } from './policy/stack-distance.js';
export { Shards, spatialHash, type ShardsOptions } from './policy/shards.js';
export { SampledTrace, miniSimulation, miniCapacity } from './policy/mini-sim.js';
export { MiniCache } from './policy/mini-cache.js';
export { MiniatureSimulations } from './policy/miniatures.js';
export { replayBytes } from './policy/replay-bytes.js';
export { SerialQueues } from './util/serial-queues.js';
