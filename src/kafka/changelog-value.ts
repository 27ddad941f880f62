/**
 * A changelog value of any restorable state version → the version-3 bytes the StateStore keeps.
 * Version 3 (binary, first byte STATE_MAGIC) is returned as is: a view of kafkajs' fetch buffer,
 * which the StateStore copies (keeping the view would pin the whole response); versions 1 and 2 (schema-registry framed Avro,
 * first byte 0x00) are decoded and re-encoded, so the upgrade happens on restore.
 */
import type { UserState as AvroUserState } from './avro-types.gen';
import { UserStateSchema } from './avro-types.gen';
import { fromAvro } from './avro-state-reader';
import type { AvroSerde } from './serde';
import { readerType } from './serde';
import { encodeState, isBinaryState } from '../state/state-codec';
import { ProcessorError } from '../shared/errors';

const avroReader = readerType<AvroUserState>(UserStateSchema);

export async function changelogValueToState(value: Buffer, serde: AvroSerde): Promise<Uint8Array> {
  // The StateStore (and decodeState) check the version of a binary value.
  if (isBinaryState(value)) return value;
  if (value[0] === 0) return encodeState(fromAvro(await serde.decode(value, avroReader)));
  throw new ProcessorError(
    'INVARIANT_VIOLATED',
    `changelog value of unknown format (first byte ${value[0]})`,
  );
}
