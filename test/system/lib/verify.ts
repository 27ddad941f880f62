/**
 * The verifier: reads every output topic back with read_committed and compares it with a
 * reference run WITHOUT faults — the pure partition topology (PartitionProcessor, the same
 * code the service runs) over the input read back per partition in offset order, classified by
 * the same record decoder. Counts duplicates, missing records and mismatches per topic, checks
 * per-user order, the final changelog state (floats within 1e-6), and hanging transactions.
 */
import type { Kafka } from 'kafkajs';
import type { Config } from '../../../src/shared/config';
import { coreParams, validationLimits } from '../../../src/pipeline/params';
import { createLogger } from '../../../src/shared/logger';
import type { ReadMessage } from '../../../src/kafka/output-reader';
import { churnReader, migrationReader, profileReader, readCommitted } from '../../../src/kafka/output-reader';
import type { UserState } from '../../../src/core/user-state';
import { EVENT_KEY_BASE, eventKey, legacyEventKey } from '../../../src/core/ids';
import { decodeRecord } from '../../../src/kafka/record-decoder';
import type { AvroSerde } from '../../../src/kafka/serde';
import type { readerType } from '../../../src/kafka/serde';
import { DeadLetterHeaders } from '../../../src/kafka/avro-types.gen';
import { restoreValue } from '../../../src/kafka/changelog-value';
import { CHECKPOINT_KEY } from '../../../src/state/checkpoint';
import { RestoredPartition } from '../../../src/state/changelog-entry';
import { StateStore } from '../../../src/state/state-store';
import { createOnnxEncoder } from '../../../src/model/onnx-encoder';
import type { PipelineRecord, PlannedOutput } from '../../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../../src/pipeline/partition-processor';
import { objectStateView } from '../../../src/state/state-view';
import { findHangingTransactions } from './cluster';
import { committedOffsets } from '../../support/committed-progress';

export interface TopicCheck {
  readonly expected: number;
  readonly actual: number;
  readonly duplicates: number;
  readonly missing: number;
  readonly mismatches: number;
}

export interface Verdict {
  readonly input: ReadMessage[];
  readonly topics: Record<string, TopicCheck>;
  readonly duplicates: number;
  readonly missing: number;
  readonly mismatches: number;
  readonly hangingTransactions: string[];
  /** Dead letters read back: source partition:offset → code. */
  readonly deadLetters: Map<string, { code: string; headers: Record<string, string> }>;
  readonly expectedDeadLetters: Map<string, string>;
  /** Per-user final state of the reference (null = erased). */
  readonly referenceStates: Map<string, UserState | null>;
  readonly referenceDuplicates: number;
  readonly notes: string[];
}

/** Deep equality; byte arrays of equal length are compared as float32 within `tol` when unequal. */
export function nearlyEqual(a: unknown, b: unknown, tol = 1e-6): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number')
    return Math.abs(a - b) <= tol * Math.max(1, Math.abs(a));
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) {
    if (a.equals(b)) return true;
    if (a.length !== b.length || a.length % 4 !== 0) return false;
    for (let i = 0; i < a.length; i += 4)
      if (Math.abs(a.readFloatLE(i) - b.readFloatLE(i)) > tol) return false;
    return true;
  }
  if (a instanceof Map && b instanceof Map) {
    return a.size === b.size && [...a].every(([k, v]) => b.has(k) && nearlyEqual(v, b.get(k), tol));
  }
  if (a instanceof Map || b instanceof Map) return false;
  if (a instanceof Float32Array && b instanceof Float32Array) {
    return a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] as number)) <= tol);
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => nearlyEqual(x, b[i], tol));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    if (!nearlyEqual(ka, kb)) return false;
    return ka.every((k) =>
      nearlyEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], tol),
    );
  }
  return false;
}

/**
 * Compares keyed sequences (per user, in topic order). Within a key, an actual item equal to the
 * previous one that the reference does not repeat is a duplicate; items the reference has and
 * the actual lacks are missing; anything else that differs is a mismatch.
 */
function compareSequences(expected: Map<string, unknown[]>, actual: Map<string, unknown[]>): TopicCheck {
  let duplicates = 0;
  let missing = 0;
  let mismatches = 0;
  let e = 0;
  let a = 0;
  for (const k of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(k) ?? [];
    const got = actual.get(k) ?? [];
    e += want.length;
    a += got.length;
    let i = 0;
    let j = 0;
    const inRest = (x: unknown, list: unknown[], from: number): boolean =>
      list.slice(from).some((y) => nearlyEqual(x, y));
    while (i < want.length || j < got.length) {
      if (i < want.length && j < got.length && nearlyEqual(want[i], got[j])) {
        i++;
        j++;
      } else if (j < got.length && j > 0 && nearlyEqual(got[j], got[j - 1])) {
        duplicates++;
        j++;
      } else if (i < want.length && !inRest(want[i], got, j)) {
        missing++;
        i++;
      } else if (j < got.length && !inRest(got[j], want, i)) {
        mismatches++; // an output the reference never produced
        j++;
      } else {
        mismatches++; // both present, out of order
        i++;
        j++;
      }
    }
  }
  return { expected: e, actual: a, duplicates, missing, mismatches };
}

/**
 * Compares a compacted topic (interest.profiles): the cleaner may remove any record that a later
 * record with the same key supersedes, so per key the actual sequence must be an in-order
 * subsequence of the reference that ends with the reference's last record. Reference records
 * before a surviving one count as compacted away; those after the last surviving one are
 * missing; a repeat the reference does not have is a duplicate.
 */
export function compareCompacted(
  expected: Map<string, unknown[]>,
  actual: Map<string, unknown[]>,
): TopicCheck & { compactedAway: number } {
  let duplicates = 0;
  let missing = 0;
  let mismatches = 0;
  let compactedAway = 0;
  let e = 0;
  let a = 0;
  for (const k of new Set([...expected.keys(), ...actual.keys()])) {
    const want = expected.get(k) ?? [];
    const got = actual.get(k) ?? [];
    e += want.length;
    a += got.length;
    let i = 0;
    for (let j = 0; j < got.length; j++) {
      let next = i;
      while (next < want.length && !nearlyEqual(want[next], got[j])) next++;
      if (next < want.length) {
        compactedAway += next - i;
        i = next + 1;
      } else if (j > 0 && nearlyEqual(got[j], got[j - 1])) duplicates++;
      else mismatches++;
    }
    missing += want.length - i;
  }
  return { expected: e, actual: a, duplicates, missing, mismatches, compactedAway };
}

/** How one user's final state differs from the reference's: for a failure's diagnosis. */
interface StateDivergence {
  readonly partition: number;
  /** Actual minus expected eventCount (NaN when either side is erased). */
  readonly eventCountDiff: number;
  /** Top-level fields that differ. */
  readonly fields: string[];
}

function divergenceOf(partition: number, want: unknown, got: unknown): StateDivergence {
  const w = want as Record<string, unknown> | null;
  const g = got as Record<string, unknown> | null;
  if (!w || !g) return { partition, eventCountDiff: Number.NaN, fields: [w ? 'erased' : 'not erased'] };
  const fields = Object.keys(w).filter((k) => !nearlyEqual(w[k], g[k]));
  return { partition, eventCountDiff: Number(g.eventCount) - Number(w.eventCount), fields };
}

/** One line: diverged users per changelog partition, eventCount differences, fields that differ. */
export function summariseDivergence(d: readonly StateDivergence[]): string {
  const tally = (keys: string[]): string => {
    const m = new Map<string, number>();
    for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
    return [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ');
  };
  return (
    `final states that differ from the reference: ${d.length}; by partition: ${tally(d.map((x) => `p${x.partition}`))}; ` +
    `eventCount actual − expected: ${tally(d.map((x) => String(x.eventCountDiff)))}; ` +
    `fields: ${tally(d.flatMap((x) => x.fields))}`
  );
}

/** `s` with each legacy (SHA-256) dedup key replaced by the current key of the same event id. */
function withCurrentKeys(s: UserState | null, currentKeyOf: ReadonlyMap<number, number>): UserState | null {
  if (!s || s.recentEventKeys.every((k) => k >= EVENT_KEY_BASE)) return s;
  return {
    ...s,
    recentEventKeys: s.recentEventKeys.map((k) => (k < EVENT_KEY_BASE ? (currentKeyOf.get(k) ?? k) : k)),
  };
}

function groupByKey<T>(items: { key: string; value: T }[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const { key, value } of items) {
    const l = m.get(key);
    if (l) l.push(value);
    else m.set(key, [value]);
  }
  return m;
}

export async function verify(kafka: Kafka, serde: AvroSerde, config: Config): Promise<Verdict> {
  const notes: string[] = [];
  const group = `${config.appId}.verify`;
  const input = await readCommitted(kafka, config.topics.input, group, 120_000);
  // ---- reference run, per partition, in offset order ----
  const deps = { serde, limits: validationLimits(config), maxRecordBytes: config.kafka.maxRecordBytes };
  const byPartition = new Map<number, PipelineRecord[]>();
  for (const m of [...input].sort(
    (x, y) => x.partition - y.partition || Number(BigInt(x.offset) - BigInt(y.offset)),
  )) {
    const list = byPartition.get(m.partition) ?? [];
    list.push(await decodeRecord(m, deps));
    byPartition.set(m.partition, list);
  }
  const { encoder, manifest } = await createOnnxEncoder(
    { modelPath: config.model.path, manifestPath: config.model.metaPath, provider: 'cpu', intraOpThreads: 2 },
    createLogger('warn'),
  );
  const params = coreParams(config, manifest);
  const expectedOutputs: { partition: number; o: PlannedOutput }[] = [];
  const expectedDeadLetters = new Map<string, string>();
  const referenceStates = new Map<string, UserState | null>();
  /**
   * The idle re-score timer in force per user at the end: a state's own may be behind it
   * (resumedChurnTimerMs), so the restored processor's is compared too.
   */
  const referenceTimers = new Map<string, number | undefined>();
  let referenceDuplicates = 0;
  for (const [partition, records] of byPartition) {
    const states = new Map<string, UserState>();
    const proc = new PartitionProcessor(objectStateView(states), {
      encoder,
      manifest,
      params,
      profilesEnabled: config.profilesEnabled,
    });
    const plan = await proc.process(records);
    for (const o of plan.outputs) expectedOutputs.push({ partition, o });
    for (const d of plan.deadLetters) expectedDeadLetters.set(`${partition}:${d.offset}`, d.error.code);
    for (const [u, s] of plan.stateWrites) {
      referenceStates.set(u, s);
      referenceTimers.set(u, proc.nextTimerMs(u));
    }
    referenceDuplicates += plan.counts.duplicates;
  }

  // ---- actual, read_committed ----
  const read = (t: string): Promise<ReadMessage[]> => readCommitted(kafka, t, group, 120_000);
  const [migrations, churn, profiles, deadLetters, changelog] = await Promise.all([
    read(config.topics.migrations),
    read(config.topics.churn),
    read(config.topics.profiles),
    read(config.topics.deadLetter),
    read(config.topics.userStateChangelog),
  ]);
  const sortByOffset = (l: ReadMessage[]): ReadMessage[] =>
    [...l].sort((x, y) => x.partition - y.partition || Number(BigInt(x.offset) - BigInt(y.offset)));
  const decodeKeyed = async <T>(l: ReadMessage[], reader: ReturnType<typeof readerType<T>>) => {
    const out: { key: string; value: T | null }[] = [];
    for (const m of sortByOffset(l))
      out.push({ key: m.key?.toString() ?? '', value: m.value ? await serde.decode(m.value, reader) : null });
    return out;
  };
  const topics: Record<string, TopicCheck> = {};
  const expectedOf = (kind: string): Map<string, unknown[]> =>
    groupByKey(
      expectedOutputs
        .filter(({ o }) => o.kind === kind || (kind === 'profile' && o.kind === 'profile-tombstone'))
        .map(({ o }) => ({
          key: o.key,
          value: o.kind === 'profile-tombstone' ? null : (o as { value: unknown }).value,
        })),
    );
  topics.migrations = compareSequences(
    expectedOf('migration'),
    groupByKey(await decodeKeyed(migrations, migrationReader)),
  );
  topics.churn = compareSequences(expectedOf('churn'), groupByKey(await decodeKeyed(churn, churnReader)));
  if (config.profilesEnabled) {
    const { compactedAway, ...check } = compareCompacted(
      expectedOf('profile'),
      groupByKey(await decodeKeyed(profiles, profileReader)),
    );
    topics.profiles = check;
    notes.push(
      `profiles removed by log compaction (superseded by a later profile of the same user): ${compactedAway}`,
    );
  }

  // Dead letters: by source partition:offset, with the code.
  const gotDead = new Map<string, { code: string; headers: Record<string, string> }>();
  let dlqDuplicates = 0;
  let dlqMismatches = 0;
  for (const m of deadLetters) {
    const h = Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? '']));
    const id = `${h[DeadLetterHeaders.sourcePartition]}:${h[DeadLetterHeaders.sourceOffset]}`;
    if (gotDead.has(id)) dlqDuplicates++;
    gotDead.set(id, { code: h[DeadLetterHeaders.errorCode] ?? '', headers: h });
  }
  let dlqMissing = 0;
  for (const [id, code] of expectedDeadLetters) {
    const g = gotDead.get(id);
    if (!g) dlqMissing++;
    else if (g.code !== code) dlqMismatches++;
  }
  for (const id of gotDead.keys()) if (!expectedDeadLetters.has(id)) dlqMismatches++;
  topics.deadLetters = {
    expected: expectedDeadLetters.size,
    actual: deadLetters.length,
    duplicates: dlqDuplicates,
    missing: dlqMissing,
    mismatches: dlqMismatches,
  };

  // Final state per user as a restore would rebuild it (the changelog's compacted view, plus the
  // input from its checkpoint to the committed offset replayed through the topology), against the
  // reference's final states, and the timers in force of the restored processors against the
  // reference's. An ordered stop flushes every dirty state, so the replay is usually empty.
  const lastState = new Map<string, UserState | null>();
  const partitionOf = new Map<string, number>();
  const restored = new Map<number, RestoredPartition>();
  for (const m of sortByOffset(changelog)) {
    const key = m.key?.toString() ?? '';
    const part = restored.get(m.partition) ?? new RestoredPartition(new StateStore());
    restored.set(m.partition, part);
    if (key === CHECKPOINT_KEY) {
      part.checkpointRecord(m.value);
      continue;
    }
    if (m.value) await restoreValue(part, key, m.value, serde);
    else part.tombstone(key);
    partitionOf.set(key, m.partition);
  }
  // Decoded once per user, from its last value (null: erased).
  for (const [key, p] of partitionOf) lastState.set(key, restored.get(p)?.store.get(key) ?? null);
  const committed = await committedOffsets(kafka, config.appId, config.topics.input);
  const replayed: string[] = [];
  const restoredProcessors = new Map<number, PartitionProcessor>();
  for (const [p, part] of restored) {
    const processor = new PartitionProcessor(
      part.store,
      { encoder, manifest, params, profilesEnabled: config.profilesEnabled },
      { maxEventTimeMs: part.checkpoint?.maxEventTimeMs, ahead: part.aheadOfCheckpoint() },
    );
    restoredProcessors.set(p, processor);
    const from = part.checkpoint?.offset;
    if (from === undefined) continue;
    const to = committed.get(p) ?? -1n;
    const records = (byPartition.get(p) ?? []).filter(
      (r) => BigInt(r.offset) >= from && BigInt(r.offset) < to,
    );
    if (records.length === 0) continue;
    const plan = await processor.process(records);
    for (const [u, st] of plan.stateWrites) {
      lastState.set(u, st);
      partitionOf.set(u, p);
    }
    replayed.push(`p${p}: ${records.length}`);
  }
  await encoder.dispose();
  notes.push(
    `final states: ${replayed.length === 0 ? 'the changelog was current (nothing to replay after its checkpoints)' : `input replayed after the changelog checkpoints, as a restore would (records per partition: ${replayed.join(', ')})`}`,
  );
  // A state written before the dedup-key change (e8e72ef; states of version 3 and 4 written earlier)
  // can still hold SHA-256 keys for its oldest ids; the reference holds the current keys of the same ids.
  const currentKeyOf = new Map<number, number>();
  for (const records of byPartition.values())
    for (const r of records)
      if (r.kind === 'event') currentKeyOf.set(legacyEventKey(r.event.eventId), eventKey(r.event.eventId));
  let stateMissing = 0;
  let stateMismatches = 0;
  const diverged: StateDivergence[] = [];
  for (const [u, s] of referenceStates) {
    if (!lastState.has(u)) {
      stateMissing++;
      continue;
    }
    const got = withCurrentKeys(lastState.get(u) ?? null, currentKeyOf);
    const want = s;
    const p = partitionOf.get(u) ?? -1;
    const sameTimer = restoredProcessors.get(p)?.nextTimerMs(u) === referenceTimers.get(u);
    if (!nearlyEqual(want, got) || !sameTimer) {
      stateMismatches++;
      const d = divergenceOf(p, want, got);
      diverged.push(sameTimer ? d : { ...d, fields: [...d.fields, 'timer in force'] });
    }
  }
  if (diverged.length > 0) notes.push(summariseDivergence(diverged));
  for (const u of lastState.keys()) if (!referenceStates.has(u)) stateMismatches++;
  topics.finalState = {
    expected: referenceStates.size,
    actual: lastState.size,
    duplicates: 0,
    missing: stateMissing,
    mismatches: stateMismatches,
  };

  for (const [t, c] of Object.entries(topics)) {
    if (c.duplicates + c.missing + c.mismatches > 0)
      notes.push(`${t}: ${c.duplicates} duplicates, ${c.missing} missing, ${c.mismatches} mismatches`);
  }
  const hangingTransactions = await findHangingTransactions(config.kafka.brokers);
  const sum = (f: keyof TopicCheck): number => Object.values(topics).reduce((n, t) => n + t[f], 0);
  return {
    input,
    topics,
    duplicates: sum('duplicates'),
    missing: sum('missing'),
    mismatches: sum('mismatches'),
    hangingTransactions,
    deadLetters: gotDead,
    expectedDeadLetters,
    referenceStates,
    referenceDuplicates,
    notes,
  };
}
