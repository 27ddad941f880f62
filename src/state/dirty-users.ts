/**
 * The users of one partition whose committed state is newer than their changelog value, oldest
 * change first, and the checkpoint that this implies.
 *
 * A user becomes dirty at the position of the first change since its last write: the input offset
 * of the chunk (or timer run) that changed it and the partition's largest event time before that
 * chunk. Writing the oldest entries first, a few per transaction, keeps every transaction small
 * (a whole flush at once wrote 5,000–10,000 states in one transaction and stalled the loop for
 * 300–400 ms every flush interval); the checkpoint is then the oldest remaining entry's position:
 * everything below it is on the changelog, and a state written above it carries its own applied
 * offset (changelog-entry.ts). Pure: wall-clock times come from the caller.
 */
import type { Checkpoint } from './checkpoint';

export interface DirtyPosition {
  /** Input offset from which the user's changes are not on the changelog. */
  readonly offset: bigint;
  /** The partition's largest event time seen below `offset`, epoch ms. */
  readonly maxEventTimeMs: number;
}

interface Entry extends DirtyPosition {
  /** Wall-clock time of the change, ms (-Infinity: due at once). */
  readonly wallMs: number;
}

export interface DueLimits {
  /** Entries changed at or before this wall-clock time are due, ms. */
  readonly changedBefore: number;
  /** Entries from an offset below this are due (bounds the replay in records). */
  readonly offsetBelow: bigint;
  /** At most this many users. */
  readonly max: number;
}

export class DirtyUsers {
  /** Insertion order is the order of first change: the first entry is the oldest. */
  private readonly entries = new Map<string, Entry>();

  get size(): number {
    return this.entries.size;
  }

  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Marks a change at `at`; a user already dirty keeps its older position. */
  mark(userId: string, at: DirtyPosition, wallMs: number): void {
    if (!this.entries.has(userId)) this.entries.set(userId, { ...at, wallMs });
  }

  /** The oldest entries that are due under `limits`, oldest first. */
  due(limits: DueLimits): string[] {
    const out: string[] = [];
    for (const [u, e] of this.entries) {
      if (out.length >= limits.max) break;
      if (e.wallMs > limits.changedBefore && e.offset >= limits.offsetBelow) break;
      out.push(u);
    }
    return out;
  }

  /** Up to `max` of the oldest entries, due or not (an ordered stop writes them all). */
  oldest(max: number): string[] {
    const out: string[] = [];
    for (const u of this.entries.keys()) {
      if (out.length >= max) break;
      out.push(u);
    }
    return out;
  }

  /** Forgets users whose current state is now on the changelog. */
  written(userIds: Iterable<string>): void {
    for (const u of userIds) this.entries.delete(u);
  }

  /** Where a replay must start: the oldest change still unwritten, else `current`. */
  checkpoint(current: DirtyPosition): Checkpoint {
    const first = this.entries.values().next();
    const at = first.done ? current : first.value;
    return { offset: at.offset, maxEventTimeMs: at.maxEventTimeMs };
  }
}
