/**
 * The control protocol's framing: one JSON message a line. Chunks go in,
 * whole lines come out; what follows the last newline waits for the next
 * chunk. Blank lines carry nothing and are left out.
 */
export class LineBuffer {
  private pending = '';

  /** The lines `chunk` completes, in order. */
  push(chunk: string): string[] {
    const parts = (this.pending + chunk).split('\n');
    this.pending = parts.pop() ?? '';
    return parts.filter((line) => line.trim() !== '');
  }

  /** Characters waiting for their newline (a peer that never sends one is cut off by its caller). */
  get pendingLength(): number {
    return this.pending.length;
  }

  clear(): void {
    this.pending = '';
  }
}
