/**
 * A changelog value of any restorable state version → the version-3 bytes the StateStore keeps.
 * Version 4 (changelog-entry.ts) gives the state inside it, version 3 (binary, first byte
 * STATE_MAGIC) is returned as is: both are views of kafkajs' fetch buffer, which the StateStore
 * takes over (ValuePages.adopt: a response mostly of live values becomes a page, one under half
 * live is copied out and let go); versions 1 and 2 (schema-registry framed Avro, first byte 0x00)
 * are decoded and re-encoded, so the upgrade happens on restore.
 */
import type { UserState as AvroUserState } from './avro-types.gen';
import { UserStateSchema } from './avro-types.gen';
import { fromAvro } from './avro-state-reader';
import type { AvroSerde } from './serde';
import { readerType } from './serde';
import { encodeState, isBinaryState } from '../state/state-codec';
import type { RestoredPartition } from '../state/changelog-entry';
import { entryState, isEntry } from '../state/changelog-entry';
import { ProcessorError } from '../shared/errors';

const avroReader = readerType<AvroUserState>(UserStateSchema);

export async function changelogValueToState(value: Buffer, serde: AvroSerde): Promise<Uint8Array> {
  // The StateStore (and decodeState) check the version of a binary value.
  if (isEntry(value)) return entryState(value);
  if (isBinaryState(value)) return value;
  if (value[0] === 0) return encodeState(fromAvro(await serde.decode(value, avroReader)));
  throw new ProcessorError(
    'INVARIANT_VIOLATED',
    `changelog value of unknown format (first byte ${value[0]})`,
  );
}

/**
 * One user's changelog value into a restoring partition: versions 1 and 2 (registry-framed Avro,
 * first byte 0) through the registry, then a promise; any other value at once (no promise per
 * user: restore ≥ 100,000 users/s), where the partition takes versions 3 and 4 and refuses the rest.
 */
export function restoreValue(
  part: RestoredPartition,
  userId: string,
  value: Buffer,
  serde: AvroSerde,
): Promise<void> | undefined {
  if (value[0] === 0) return changelogValueToState(value, serde).then((v) => part.state(userId, v));
  part.state(userId, value);
  return undefined;
}
