/**
 * The changelog records of one transaction: the chosen dirty users' values and, when they move
 * it, the checkpoint (dirty-users.ts). The Kafka shell (stream-processor.ts) and the brokerless
 * restart test build their changelogs with this same function.
 */
import type { UserState } from '../core/user-state';
import type { Checkpoint } from './checkpoint';
import { encodeEntry } from './changelog-entry';
import type { DirtyPosition, DirtyUsers } from './dirty-users';
import { encodeState } from './state-codec';

export interface ChangelogWrites {
  /** Version-4 values by user; null = a tombstone (the user was erased or evicted). */
  readonly changelog: Map<string, Uint8Array | null>;
  readonly checkpoint: Checkpoint | null;
}

/**
 * Takes `users` off `dirty` and returns their values as of input offset `end.offset` (this
 * transaction's end): each this plan's new state if it has one, else the committed one from
 * `committedBytes` (none: a tombstone); and the checkpoint when states are written or
 * `needCheckpoint`. If the transaction then fails, the caller drops `dirty` with its task.
 */
export function takeChangelogWrites(
  dirty: DirtyUsers,
  users: readonly string[],
  planned: ReadonlyMap<string, UserState | null>,
  committedBytes: (userId: string) => Uint8Array | undefined,
  end: DirtyPosition,
  needCheckpoint: boolean,
): ChangelogWrites {
  const changelog = new Map<string, Uint8Array | null>();
  for (const userId of users) {
    const st = planned.get(userId);
    const bytes = planned.has(userId) ? (st ? encodeState(st) : null) : committedBytes(userId);
    changelog.set(userId, bytes ? encodeEntry(bytes, end.offset) : null);
  }
  dirty.written(users);
  const checkpoint = users.length > 0 || needCheckpoint ? dirty.checkpoint(end) : null;
  return { changelog, checkpoint };
}
