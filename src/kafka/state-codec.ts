/**
 * core UserState ⇄ the Avro UserState record of the changelog (schemas/user-state.avsc).
 * Float vectors travel as float32 little-endian bytes; histograms as parallel arrays in
 * category-id order, so a restored state iterates exactly like a live one.
 */
import type { UserState as AvroUserState } from './avro-types.gen';
import type { DecayedHistogram } from '../core/decayed-histogram';
import type { UserState, WindowEntry } from '../core/user-state';
import { EVENT_KINDS } from '../core/types';
import { ProcessorError } from '../shared/errors';

/**
 * Layout version written now. Versions restored: 1 (before 0.2.0: no churn.openAlertId,
 * driftScore, lastMigration, which the reader schema defaults to null, 0 and null: alerts raised
 * before the upgrade are not resolved by us, and the lookup API shows no last migration until the
 * next one) and 2.
 */
export const STATE_VERSION = 2;
const RESTORABLE_VERSIONS: readonly number[] = [1, 2];

function f32ToBytes(v: Float32Array | null): Buffer {
  if (!v) return Buffer.alloc(0);
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i] as number, i * 4);
  return b;
}

function bytesToF32(b: Buffer): Float32Array | null {
  if (b.length === 0) return null;
  if (b.length % 4 !== 0) throw new ProcessorError('INVARIANT_VIOLATED', `float vector of ${b.length} bytes`);
  const v = new Float32Array(b.length / 4);
  for (let i = 0; i < v.length; i++) v[i] = b.readFloatLE(i * 4);
  return v;
}

function histToAvro(h: DecayedHistogram): AvroUserState['shortHorizon'] {
  const ids = [...h.weights.keys()].sort();
  return {
    anchorTimeMs: h.anchorTimeMs,
    categoryIds: ids,
    weights: ids.map((k) => h.weights.get(k) as number),
  };
}

function histFromAvro(a: AvroUserState['shortHorizon']): DecayedHistogram {
  return {
    anchorTimeMs: a.anchorTimeMs,
    weights: new Map(a.categoryIds.map((k, i) => [k, a.weights[i] as number])),
  };
}

const PHASES = ['STABLE', 'SUSPECT', 'MIGRATED'] as const;

export function toAvro(s: UserState): AvroUserState {
  return {
    stateVersion: STATE_VERSION,
    userId: s.userId,
    modelVersion: s.modelVersion,
    eventCount: s.eventCount,
    firstEventTimeMs: s.firstEventTimeMs,
    lastEventTimeMs: s.lastEventTimeMs,
    window: s.window.map((w) => ({
      categoryId: w.categoryId,
      eventTypeCode: EVENT_KINDS.indexOf(w.kind),
      eventTimeMs: w.eventTimeMs,
    })),
    shortHorizon: histToAvro(s.shortHorizon),
    longHorizon: histToAvro(s.longHorizon),
    hidden: f32ToBytes(s.hidden),
    shortEmbedding: f32ToBytes(s.shortEmbedding),
    longEmbedding: f32ToBytes(s.longEmbedding),
    drift: { ...s.drift },
    churn: { ...s.churn },
    recentEventIds: [...s.recentEventIds],
    profileEmittedAtMs: s.profileEmittedAtMs,
    driftScore: s.driftScore,
    lastMigration: s.lastMigration
      ? {
          fromCategoryIds: [...s.lastMigration.fromCategoryIds],
          toCategoryIds: [...s.lastMigration.toCategoryIds],
          detectedAtTimeMs: s.lastMigration.detectedAtMs,
        }
      : null,
  };
}

export function fromAvro(a: AvroUserState): UserState {
  if (!RESTORABLE_VERSIONS.includes(a.stateVersion)) {
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
    window: a.window.map((w): WindowEntry => ({
      categoryId: w.categoryId,
      kind: EVENT_KINDS[w.eventTypeCode] ?? 'view',
      eventTimeMs: w.eventTimeMs,
    })),
    shortHorizon: histFromAvro(a.shortHorizon),
    longHorizon: histFromAvro(a.longHorizon),
    hidden: bytesToF32(a.hidden),
    shortEmbedding: bytesToF32(a.shortEmbedding),
    longEmbedding: bytesToF32(a.longEmbedding),
    drift: { ...a.drift, phase: PHASES.includes(a.drift.phase) ? a.drift.phase : 'STABLE' },
    churn: { ...a.churn },
    recentEventIds: [...a.recentEventIds],
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
