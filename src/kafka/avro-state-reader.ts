/**
 * The Avro UserState record that state versions 1 and 2 wrote to the changelog
 * (schemas/user-state.avsc) → core UserState. Read-only since version 3 (src/state/state-codec.ts):
 * kept so a changelog written before the upgrade still restores. Float vectors are float32
 * little-endian bytes; event ids become their dedup keys (eventKey), as the live code keeps them.
 */
import type { UserState as AvroUserState } from './avro-types.gen';
import type { DecayedHistogram } from '../core/decayed-histogram';
import { histogramOf } from '../core/decayed-histogram';
import type { WindowEntry } from '../core/event-window';
import { windowOf } from '../core/event-window';
import type { UserState } from '../core/user-state';
import { EVENT_KINDS } from '../core/types';
import { ProcessorError } from '../shared/errors';
import { eventKey } from '../core/ids';

/**
 * Avro versions restored: 1 (before 0.2.0: no churn.openAlertId, driftScore, lastMigration, which
 * the reader schema defaults to null, 0 and null: alerts raised before the upgrade are not
 * resolved by us, and the lookup API shows no last migration until the next one) and 2.
 */
export const AVRO_STATE_VERSIONS: readonly number[] = [1, 2];

function bytesToF32(b: Buffer): number[] | null {
  if (b.length === 0) return null;
  if (b.length % 4 !== 0) throw new ProcessorError('INVARIANT_VIOLATED', `float vector of ${b.length} bytes`);
  const v = new Array<number>(b.length / 4);
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return v;
}

function histFromAvro(a: AvroUserState['shortHorizon']): DecayedHistogram {
  return histogramOf(
    a.anchorTimeMs,
    a.categoryIds.map((k, i) => [k, a.weights[i] as number] as const),
  );
}

const PHASES = ['STABLE', 'SUSPECT', 'MIGRATED'] as const;

export function fromAvro(a: AvroUserState): UserState {
  if (!AVRO_STATE_VERSIONS.includes(a.stateVersion)) {
    throw new ProcessorError(
      'INVARIANT_VIOLATED',
      `changelog state version ${a.stateVersion} is not supported`,
    );
  }
  return {
    userId: a.userId,
    modelVersion: a.modelVersion,
    eventCount: a.eventCount,
    firstEventTimeMs: a.firstEventTimeMs,
    lastEventTimeMs: a.lastEventTimeMs,
    window: windowOf(
      a.window.map((w): WindowEntry => ({
        categoryId: w.categoryId,
        kind: EVENT_KINDS[w.eventTypeCode] ?? 'view',
        eventTimeMs: w.eventTimeMs,
      })),
    ),
    shortHorizon: histFromAvro(a.shortHorizon),
    longHorizon: histFromAvro(a.longHorizon),
    hidden: bytesToF32(a.hidden),
    shortEmbedding: bytesToF32(a.shortEmbedding),
    longEmbedding: bytesToF32(a.longEmbedding),
    drift: { ...a.drift, phase: PHASES.includes(a.drift.phase) ? a.drift.phase : 'STABLE' },
    churn: { ...a.churn },
    recentEventKeys: a.recentEventIds.map(eventKey),
    profileEmittedAtMs: a.profileEmittedAtMs,
    driftScore: a.driftScore,
    lastMigration: a.lastMigration
      ? {
          fromCategoryIds: [...a.lastMigration.fromCategoryIds],
          toCategoryIds: [...a.lastMigration.toCategoryIds],
          detectedAtMs: a.lastMigration.detectedAtTimeMs,
        }
      : null,
  };
}
