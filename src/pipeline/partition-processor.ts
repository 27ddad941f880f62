/**
 * The topology of one input partition, without Kafka: records in, a BatchPlan out.
 *
 * process(records) is a deterministic function of (restored states, record sequence): the
 * outputs do NOT depend on how the sequence was cut into batches. That is what makes a restart
 * mid-stream (a different batch boundary) commit the same outputs as an uninterrupted run:
 *   1. a pre-pass in offset order decides late / duplicate / accepted per record and computes
 *      the encoder features, tracking each user's last event time and recent ids;
 *   2. the encoder runs step by step (all users' 1st new event in one call, then the 2nd …),
 *      so every event gets its own encoder output from exactly its user's previous hidden state;
 *   3. a walk in offset order advances the partition watermark, fires event-time timers that
 *      fall due BEFORE each record, and applies each event — exactly as if records arrived one
 *      at a time.
 *
 * State is never changed in place: the plan carries the new states, and the caller applies it
 * (commitPlan) only after the Kafka transaction holding the plan's writes has committed. After
 * an aborted transaction the caller discards this processor and restores a new one from the
 * changelog.
 */
import { ProcessorError } from '../shared/errors';
import type { CoreParams } from '../core/params';
import { EventTimeTimers } from '../core/timers';
import type { ClickEvent, CoreOutput } from '../core/types';
import type { EventEncoding, ModelContext, UserState } from '../core/user-state';
import {
  applyEvent,
  hiddenFor,
  isDuplicate,
  rememberEventKey,
  churnClosedOnRemoval,
  resumedChurnTimerMs,
  scoreIdle,
} from '../core/user-state';
import { eventKey } from '../core/ids';
import { maybeProfile } from '../core/profile';
import type { Encoder, EncoderRow } from '../model/encoder';
import type { StateView } from '../state/state-view';

import type { ModelManifest } from '../model/model-manifest';
import { gapFeature } from '../model/model-manifest';

/** A record after decoding and validation, as the Kafka shell hands it over. */
export type PipelineRecord =
  | { readonly kind: 'event'; readonly offset: string; readonly event: ClickEvent }
  | { readonly kind: 'erase'; readonly offset: string; readonly userId: string }
  | {
      readonly kind: 'invalid';
      readonly offset: string;
      readonly error: ProcessorError;
      readonly stage: 'decode' | 'validate';
    };

export type PlannedOutput =
  | { readonly kind: CoreOutput['kind']; readonly key: string; readonly value: CoreOutput['value'] }
  | { readonly kind: 'profile-tombstone'; readonly key: string };

export interface BatchPlan {
  /** Outputs in emission order. */
  readonly outputs: PlannedOutput[];
  /** Final state per touched user; null = erased (write a changelog tombstone). */
  readonly stateWrites: Map<string, UserState | null>;
  /** Records to dead-letter, in offset order. */
  readonly deadLetters: {
    readonly offset: string;
    readonly error: ProcessorError;
    readonly stage: 'decode' | 'validate';
  }[];
  /** Events later than the allowed lateness, in offset order: routed to the late-events topic. */
  readonly lateEvents: LateEvent[];
  readonly counts: {
    processed: number;
    duplicates: number;
    late: number;
    erased: number;
    /** Users evicted after IDRIFT_STATE_TTL_MS of event time without an event. */
    evicted: number;
    timersFired: number;
    encoderCalls: number;
    encodedEvents: number;
  };
  /** Partition watermark after the batch, event time ms. */
  readonly watermarkMs: number;
  /** Largest event time seen, ms. */
  readonly maxEventTimeMs: number;
}

/** An event dropped from processing for lateness; times are event time, epoch ms. */
export interface LateEvent {
  readonly offset: string;
  readonly eventTimeMs: number;
  /** The watermark it fell behind: largest event time seen so far minus the allowed lateness. */
  readonly watermarkMs: number;
}

export interface ProcessorDeps {
  readonly encoder: Encoder;
  readonly manifest: ModelManifest;
  readonly params: CoreParams;
  readonly profilesEnabled: boolean;
}

/** Where a restored processor resumes: the changelog checkpoint's view (changelog-entry.ts). */
export interface ResumePoint {
  /** The partition's largest event time before the replay's first record, epoch ms. */
  readonly maxEventTimeMs?: number;
  /**
   * Users whose restored state already holds their records below this input offset: the replay
   * skips those records (they still move the watermark, as they did the first time).
   */
  readonly ahead?: ReadonlyMap<string, bigint>;
}

interface Shadow {
  lastEventTimeMs: number;
  recentKeys: readonly number[];
  /** Row index of the current encoder sequence of this user. */
  row: number;
}

function emptyPlan(watermarkMs: number, maxEventTimeMs: number): BatchPlan {
  return {
    outputs: [],
    stateWrites: new Map(),
    deadLetters: [],
    lateEvents: [],
    counts: {
      processed: 0,
      duplicates: 0,
      late: 0,
      erased: 0,
      evicted: 0,
      timersFired: 0,
      encoderCalls: 0,
      encodedEvents: 0,
    },
    watermarkMs,
    maxEventTimeMs,
  };
}

export function modelContext(manifest: ModelManifest): ModelContext {
  return {
    modelVersion: manifest.modelVersion,
    segmentCentroids: manifest.segments.map((s) => s.centroid),
    segmentLabels: manifest.segments.map((s) => s.label),
    inactivityHorizonMs: manifest.inactivityHorizonMs,
  };
}

export class PartitionProcessor {
  private readonly timers = new EventTimeTimers();
  /**
   * One eviction check per user at lastEventTimeMs + stateTtlMs, set when the user has none; a
   * check that finds the user active since moves itself forward. Not moved on every event, so
   * the heap holds at most one live entry per user.
   */
  private readonly evictions = new EventTimeTimers();
  private readonly model: ModelContext;
  private maxEventTimeMs = 0;
  /** Users still ahead of the replay (ResumePoint.ahead); emptied as the replay passes them. */
  private readonly ahead: Map<string, bigint>;

  /**
   * `states` are the committed states (restored from the changelog); timers are rebuilt from them.
   * Without a resume point's event time, the watermark starts from the states' last event times
   * (exact when every state was written with the checkpoint, as before version 4).
   */
  constructor(
    private readonly states: StateView,
    private readonly deps: ProcessorDeps,
    resume: ResumePoint = {},
  ) {
    this.model = modelContext(deps.manifest);
    this.ahead = new Map(resume.ahead ?? []);
    let maxLast = 0;
    const { params } = deps;
    // Without a resume point's event time (a changelog from before version 4, which wrote every
    // change, or a test), every restored timer is current.
    const resumeWatermark =
      resume.maxEventTimeMs === undefined ? 0 : resume.maxEventTimeMs - params.allowedLatenessMs;
    states.scan((userId, t) => {
      const timer = resumedChurnTimerMs(t.lastEventTimeMs, t.nextTimerTimeMs, resumeWatermark, params);
      if (timer > 0) this.timers.schedule(userId, timer);
      if (deps.params.stateTtlMs > 0)
        this.evictions.schedule(userId, t.lastEventTimeMs + deps.params.stateTtlMs);
      if (t.lastEventTimeMs > maxLast) maxLast = t.lastEventTimeMs;
    });
    this.maxEventTimeMs = resume.maxEventTimeMs ?? maxLast;
  }

  /** Largest event time processed so far, epoch ms (0 = none). */
  get maxEventTimeSeenMs(): number {
    return this.maxEventTimeMs;
  }

  /** Ends a replay: no user is ahead of the live records. */
  endReplay(): void {
    this.ahead.clear();
  }

  /** True when `userId`'s restored state already holds the record at `offset` (see ResumePoint). */
  private alreadyApplied(userId: string, offset: string): boolean {
    if (this.ahead.size === 0) return false;
    const a = this.ahead.get(userId);
    if (a === undefined) return false;
    if (BigInt(offset) < a) return true;
    this.ahead.delete(userId);
    return false;
  }

  /** The committed state of a user, decoded at most once per process() call. */
  private committed = (userId: string): UserState | undefined => this.states.get(userId);

  get watermarkMs(): number {
    return this.maxEventTimeMs === 0 ? 0 : this.maxEventTimeMs - this.deps.params.allowedLatenessMs;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Due time of the user's idle re-score, epoch ms; undefined = none. */
  nextTimerMs(userId: string): number | undefined {
    return this.timers.dueAt(userId);
  }

  async process(records: readonly PipelineRecord[]): Promise<BatchPlan> {
    const { params, manifest } = this.deps;
    const plan = emptyPlan(0, 0);
    const decoded = new Map<string, UserState | undefined>();
    this.committed = (userId) => {
      if (!decoded.has(userId)) decoded.set(userId, this.states.get(userId));
      return decoded.get(userId);
    };

    // 1. Pre-pass: classify, and build one encoder row per user sequence.
    const shadows = new Map<string, Shadow>();
    const rows: { h0: ArrayLike<number> | null; cats: number[]; types: number[]; gaps: number[] }[] = [];
    // row -1: an erase; row -2: an event already in its user's restored state (it only moves the
    // watermark, see ResumePoint).
    type Step =
      | { rec: PipelineRecord; row: number; pos: number; key: number }
      | { rec: PipelineRecord; row: -1 | -2; pos: -1; key: 0 };
    const steps: Step[] = [];
    let maxSeen = this.maxEventTimeMs;
    for (const rec of records) {
      if (rec.kind === 'invalid') {
        plan.deadLetters.push({ offset: rec.offset, error: rec.error, stage: rec.stage });
        continue;
      }
      if (rec.kind === 'erase') {
        if (this.alreadyApplied(rec.userId, rec.offset)) continue;
        shadows.set(rec.userId, { lastEventTimeMs: 0, recentKeys: [], row: -1 });
        steps.push({ rec, row: -1, pos: -1, key: 0 });
        continue;
      }
      const e = rec.event;
      if (maxSeen > 0 && e.eventTimeMs < maxSeen - params.allowedLatenessMs) {
        plan.counts.late++;
        plan.lateEvents.push({
          offset: rec.offset,
          eventTimeMs: e.eventTimeMs,
          watermarkMs: maxSeen - params.allowedLatenessMs,
        });
        continue;
      }
      if (this.alreadyApplied(e.userId, rec.offset)) {
        // Taken as accepted: a duplicate carries its original's time, which moved the watermark then.
        steps.push({ rec, row: -2, pos: -1, key: 0 });
        if (e.eventTimeMs > maxSeen) maxSeen = e.eventTimeMs;
        continue;
      }
      let sh = shadows.get(e.userId);
      if (!sh) {
        const s = this.committed(e.userId);
        sh = { lastEventTimeMs: s?.lastEventTimeMs ?? 0, recentKeys: s?.recentEventKeys ?? [], row: -1 };
        shadows.set(e.userId, sh);
      }
      const watermarkAtEvent = Math.max(maxSeen, e.eventTimeMs) - params.allowedLatenessMs;
      if (
        params.stateTtlMs > 0 &&
        sh.lastEventTimeMs > 0 &&
        sh.lastEventTimeMs + params.stateTtlMs <= watermarkAtEvent
      ) {
        // The walk evicts this user just before this event (TTL): a new row from nothing, and no
        // memory of event ids either (checked before the duplicate test, as the walk would).
        sh = { lastEventTimeMs: 0, recentKeys: [], row: -1 };
        shadows.set(e.userId, sh);
      }
      const key = eventKey(e.eventId);
      if (isDuplicate(sh.recentKeys, key, e.eventId)) {
        plan.counts.duplicates++;
        continue;
      }
      if (sh.row < 0) {
        const committed = this.committed(e.userId);
        // A user erased (or evicted) earlier in this batch starts from nothing, like a new user.
        const h0 = sh.lastEventTimeMs === 0 && !committed ? null : hiddenFor(committed ?? null, this.model);
        sh.row = rows.length;
        rows.push({ h0: sh.lastEventTimeMs === 0 ? null : h0, cats: [], types: [], gaps: [] });
      }
      const row = rows[sh.row] as (typeof rows)[number];
      row.cats.push(manifest.categoryIndex.get(e.categoryId) ?? manifest.oovIndex);
      row.types.push(manifest.eventTypeIndex[e.kind] as number);
      row.gaps.push(gapFeature(manifest, sh.lastEventTimeMs > 0 ? e.eventTimeMs - sh.lastEventTimeMs : null));
      steps.push({ rec, row: sh.row, pos: row.cats.length - 1, key });
      sh.lastEventTimeMs = Math.max(sh.lastEventTimeMs, e.eventTimeMs);
      sh.recentKeys = rememberEventKey(sh.recentKeys, key, params.dedupIds);
      if (e.eventTimeMs > maxSeen) maxSeen = e.eventTimeMs;
    }

    // 2. Encode step by step: call k holds every row's k-th new event.
    const encodings: EventEncoding[][] = rows.map(() => []);
    const hidden = rows.map((r) => r.h0);
    const maxLen = rows.reduce((m, r) => Math.max(m, r.cats.length), 0);
    for (let k = 0; k < maxLen; k++) {
      const active: number[] = [];
      const batch: EncoderRow[] = [];
      rows.forEach((r, i) => {
        if (r.cats.length > k) {
          active.push(i);
          batch.push({
            categoryIndices: [r.cats[k] as number],
            eventTypeIndices: [r.types[k] as number],
            logGaps: [r.gaps[k] as number],
            h0: hidden[i] ?? null,
          });
        }
      });
      const out = await this.deps.encoder.encode(batch);
      plan.counts.encoderCalls++;
      plan.counts.encodedEvents += batch.length;
      active.forEach((i, j) => {
        const o = out[j];
        if (!o)
          throw new ProcessorError(
            'INVARIANT_VIOLATED',
            `encoder returned ${out.length} rows for ${batch.length}`,
          );
        hidden[i] = o.h;
        (encodings[i] as EventEncoding[]).push({
          h: o.h,
          embedding: o.embedding,
          inactivityLogit: o.inactivityLogit,
        });
      });
    }

    // 3. Walk in offset order.
    const working = plan.stateWrites;
    const current = this.overlay(working);
    const emit = (outs: CoreOutput[]): void => {
      for (const o of outs) plan.outputs.push({ kind: o.kind, key: o.value.userId, value: o.value });
    };
    let walkMax = this.maxEventTimeMs;
    for (const step of steps) {
      if (step.rec.kind === 'event') {
        const t = step.rec.event.eventTimeMs;
        if (t > walkMax) walkMax = t;
        this.fireTimers(walkMax - params.allowedLatenessMs, 'EVENT_TIME_TIMER', current, working, plan);
        if (step.row === -2) continue;
        const prev = current(step.rec.event.userId);
        const e = withSharedStrings(step.rec.event, prev, manifest);
        const enc = (encodings[step.row] as EventEncoding[])[step.pos];
        if (!enc) throw new ProcessorError('INVARIANT_VIOLATED', 'missing encoding for an accepted event');
        const r = applyEvent(prev, e, enc, params, this.model, step.key);
        let state = r.state;
        emit(r.outputs);
        if (this.deps.profilesEnabled) {
          const p = maybeProfile(state, params, this.model);
          if (p) {
            state = p.state;
            emit(p.outputs);
          }
        }
        working.set(e.userId, state);
        this.timers.schedule(e.userId, state.churn.nextTimerTimeMs);
        if (params.stateTtlMs > 0 && this.evictions.dueAt(e.userId) === undefined)
          this.evictions.schedule(e.userId, state.lastEventTimeMs + params.stateTtlMs);
        plan.counts.processed++;
      } else if (step.rec.kind === 'erase') {
        const userId = step.rec.userId;
        const erased = current(userId);
        if (erased !== null || this.committed(userId)) plan.counts.erased++;
        const closed = erased && churnClosedOnRemoval(erased, walkMax, 'erased', 'EVENT', params, this.model);
        if (closed) emit([{ kind: 'churn', value: closed }]);
        this.forget(userId, working, plan);
      }
    }
    this.maxEventTimeMs = walkMax;
    this.committed = (userId) => this.states.get(userId);
    return { ...plan, watermarkMs: this.watermarkMs, maxEventTimeMs: walkMax };
  }

  /**
   * Processing-time timers for a quiet partition: fires, against the committed states, every
   * timer due at or before `watermarkMs` (the caller's wall-clock-advanced watermark). Not
   * deterministic by nature, hence off unless configured.
   */
  fireProcessingTimeTimers(watermarkMs: number): BatchPlan {
    this.committed = (userId) => this.states.get(userId);
    const plan = emptyPlan(watermarkMs, this.maxEventTimeMs);
    const working = plan.stateWrites;
    const current = this.overlay(working);
    this.fireTimers(watermarkMs, 'PROCESSING_TIME_TIMER', current, working, plan);
    return plan;
  }

  /** A user's current state: this batch's pending write if any (null = erased), else the committed one. */
  private overlay(working: ReadonlyMap<string, UserState | null>): (userId: string) => UserState | null {
    return (userId) =>
      working.has(userId) ? (working.get(userId) ?? null) : (this.committed(userId) ?? null);
  }

  /**
   * Fires every timer due at or before `watermarkMs`. Also the entry point for processing-time
   * timers of quiet partitions; then the caller passes its own watermark and a fresh plan.
   */
  fireTimers(
    watermarkMs: number,
    trigger: 'EVENT_TIME_TIMER' | 'PROCESSING_TIME_TIMER',
    current: (userId: string) => UserState | null,
    working: Map<string, UserState | null>,
    plan: BatchPlan,
  ): void {
    for (let due = this.timers.popDue(watermarkMs); due; due = this.timers.popDue(watermarkMs)) {
      const s = current(due.userId);
      // A state's own timer may be behind the one in force here (resumedChurnTimerMs).
      if (!s) continue;
      const r = scoreIdle(s, watermarkMs, trigger, this.deps.params, this.model);
      this.timers.schedule(due.userId, r.state.churn.nextTimerTimeMs);
      plan.counts.timersFired++;
      // A re-score that raises nothing changes only the timer: the state stays as it is, its own
      // timer behind the one in force (resumedChurnTimerMs). Most re-scores are such; writing
      // them made most of the changelog's records at full size.
      if (r.outputs.length === 0) continue;
      for (const o of r.outputs) plan.outputs.push({ kind: o.kind, key: o.value.userId, value: o.value });
      working.set(due.userId, r.state);
    }
    const ttl = this.deps.params.stateTtlMs;
    if (ttl <= 0) return;
    for (let due = this.evictions.popDue(watermarkMs); due; due = this.evictions.popDue(watermarkMs)) {
      const s = current(due.userId);
      if (!s) continue;
      if (s.lastEventTimeMs + ttl > watermarkMs) {
        this.evictions.schedule(due.userId, s.lastEventTimeMs + ttl);
        continue;
      }
      const closed = churnClosedOnRemoval(s, watermarkMs, 'evicted', trigger, this.deps.params, this.model);
      if (closed) plan.outputs.push({ kind: 'churn', key: closed.userId, value: closed });
      this.forget(due.userId, working, plan);
      plan.counts.evicted++;
    }
  }

  /**
   * Removes a user (erased, or evicted after the TTL): a changelog tombstone in `working`, no
   * timers, and a profile tombstone when profiles are on, so the compacted profiles topic drops the
   * user as the lookup does (404) instead of keeping their last profile for good.
   */
  private forget(userId: string, working: Map<string, UserState | null>, plan: BatchPlan): void {
    working.set(userId, null);
    this.timers.cancel(userId);
    this.evictions.cancel(userId);
    if (this.deps.profilesEnabled) plan.outputs.push({ kind: 'profile-tombstone', key: userId });
  }
}

/**
 * The event with the strings a state keeps replaced by equal ones already held: the category id
 * by the vocabulary's own string (when it is in the vocabulary), the user id by the previous
 * state's. Same values, so the same outputs and states; but a user's window, histograms and the
 * processor's maps then share those strings instead of keeping every input record's copy alive.
 * In a heap snapshot of the reduced bench, one category id had 16,922 copies, and strings were a
 * sixth of the objects the collector marks (test/bench/results/gc-in-latency).
 */
function withSharedStrings(e: ClickEvent, prev: UserState | null, manifest: ModelManifest): ClickEvent {
  const i = manifest.categoryIndex.get(e.categoryId);
  const categoryId = i === undefined ? e.categoryId : (manifest.categoryIds[i] ?? e.categoryId);
  // Strings compare by value, so a copy cannot be told from the shared one: always rebuild.
  return { ...e, categoryId, userId: prev?.userId ?? e.userId };
}
