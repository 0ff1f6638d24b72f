/**
 * How the pagers of several mounts reach each other: a broadcast channel
 * that delivers every message to every mount (the sender too) in one total
 * order, and the set of mounts alive. PostgreSQL's LISTEN/NOTIFY is one
 * (stores/postgres-peers.ts); the coherence layer knows only this.
 */
export interface PeerLink {
  /** This mount's id (unique among the mounts, alive or dead). */
  readonly id: number;
  /** The other mounts alive now. */
  readonly live: ReadonlySet<number>;
  /** Broadcast (at most ~7900 bytes); resolves when the channel took it. */
  send(payload: string): Promise<void>;
  onMessage(handler: (payload: string) => void): void;
  onLiveChange(handler: (live: ReadonlySet<number>) => void): void;
  /** A message came from mount `id`: count it alive now. */
  noteAlive(id: number): void;
}

/** recall (r): the sender will read pages; invalidate (i): it will write them; ack (a); names (n): catalog rows changed. */
export interface PeerMessage {
  k: 'r' | 'i' | 'a' | 'n';
  /** From (a mount id). */
  f: number;
  /** To (acks only). */
  t?: number;
  /** The sender's sequence number of the request (acks: of the request acknowledged). */
  s: number;
  /** The file (inode number). */
  o?: number;
  /** Pages [a, b). */
  a?: number;
  b?: number;
  /** An ack whose recall failed (the dirty pages could not be stored). */
  e?: 1;
  /** names: the catalog keys changed (JSON), absent when too many to say. */
  n?: string;
}

export function parsePeerMessage(payload: string): PeerMessage | undefined {
  try {
    const m = JSON.parse(payload) as Partial<PeerMessage>;
    if (typeof m.k !== 'string' || !'riaN'.toLowerCase().includes(m.k) || typeof m.f !== 'number' || typeof m.s !== 'number') return undefined;
    return m as PeerMessage;
  } catch {
    return undefined;
  }
}
