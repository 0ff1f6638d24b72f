/** Sets of page ranges [first, end), kept sorted and disjoint: the pages another mount may hold writable. */
export type Ranges = [number, number][];

export function overlaps(ranges: Ranges, first: number, end: number): boolean {
  return ranges.some(([a, b]) => a < end && first < b);
}

/** Add [first, end), merging with what it touches. */
export function addRange(ranges: Ranges, first: number, end: number): void {
  let a = first;
  let b = end;
  const kept: Ranges = [];
  for (const r of ranges) {
    if (r[1] < a || r[0] > b) kept.push(r);
    else {
      a = Math.min(a, r[0]);
      b = Math.max(b, r[1]);
    }
  }
  kept.push([a, b]);
  kept.sort((x, y) => x[0] - y[0]);
  ranges.splice(0, ranges.length, ...kept);
}

/** Remove [first, end). */
export function removeRange(ranges: Ranges, first: number, end: number): void {
  const kept: Ranges = [];
  for (const [a, b] of ranges) {
    if (b <= first || a >= end) kept.push([a, b]);
    else {
      if (a < first) kept.push([a, first]);
      if (b > end) kept.push([end, b]);
    }
  }
  ranges.splice(0, ranges.length, ...kept);
}
