/**
 * The frame map as it travels (the control socket's `frames`, the web
 * feed): the kernel's per-frame states as one letter each, and the file
 * each frame holds, run-length coded (neighbouring frames often hold pages
 * of the same file). A 64 MiB cache of 4 KiB pages is 16 Ki letters.
 *
 * States (kernel/vm/frame-map.ts): f free, a active, i inactive, d dirty,
 * b busy, w wired. Active and inactive are the policy's own split, page by
 * page (ReplacementPolicy.isInactive), so the grid's counts are the
 * statistics' counts.
 */
import { FRAME_STATES, type FrameMap } from '../../kernel/index.js';
import type { FramesResult } from '../control/protocol.js';

/** The letter of each FRAME_* state, in FRAME_STATES order. */
export const STATE_LETTERS = 'faidbw';

/** The path shown for the default pager's anonymous memory. */
export const ANONYMOUS = '(anonymous)';

/** `map` coded for the wire; `fileOf` names the file of an object by its control port (undefined: not a file). */
export function encodeFrameMap(map: FrameMap, pageSize: number, fileOf: ReadonlyMap<number, { path: string; ino: number }>): FramesResult {
  let states = '';
  for (const state of map.states) states += STATE_LETTERS[state] ?? 'b';
  const files: { path: string; ino: number }[] = [];
  const indexOfObject = new Map<number, number>();
  const indexOf = (objectId: number): number => {
    if (objectId < 0) return -1;
    let index = indexOfObject.get(objectId);
    if (index !== undefined) return index;
    const owner = map.owners.get(objectId);
    const file = owner === undefined ? undefined : owner.internal ? { path: ANONYMOUS, ino: 0 } : fileOf.get(owner.control);
    if (file === undefined) index = -1;
    else {
      // One entry per file: two objects of one file (an old one being terminated) share it.
      const same = files.findIndex((f) => f.ino === file.ino && f.path === file.path);
      index = same >= 0 ? same : files.push(file) - 1;
    }
    indexOfObject.set(objectId, index);
    return index;
  };
  const owners: number[] = [];
  for (const objectId of map.objects) {
    const index = indexOf(objectId);
    const last = owners.length - 2;
    if (last >= 0 && owners[last] === index) owners[last + 1] = (owners[last + 1] ?? 0) + 1;
    else owners.push(index, 1);
  }
  return { page_size: pageSize, states, files, owners };
}

/** The number of frames in each state, from the coded states (FRAME_STATES' names). */
export function countStates(states: string): Record<(typeof FRAME_STATES)[number], number> {
  const out = Object.fromEntries(FRAME_STATES.map((name) => [name, 0])) as Record<(typeof FRAME_STATES)[number], number>;
  for (const letter of states) {
    const name = FRAME_STATES[STATE_LETTERS.indexOf(letter)];
    if (name !== undefined) out[name]++;
  }
  return out;
}
