/**
 * Runs dataset rows through the SAME topology as the live processor (PartitionProcessor: core
 * state, detectors, timers, step-wise encoder calls), without Kafka. Used by calibration and the
 * offline evaluation, so what they measure is what production runs.
 */
import type { CoreParams } from '../core/params';
import type { ClickEvent } from '../core/types';
import type { UserState } from '../core/user-state';
import type { DatasetRow } from '../io/datasets';
import { eventIdNamer } from '../io/event-ids';
import type { EncodeOptions, Encoder, EncoderRow, EncoderRowOutput } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import type { PipelineRecord, PlannedOutput } from '../pipeline/partition-processor';
import { PartitionProcessor } from '../pipeline/partition-processor';
import { objectStateView } from '../state/state-view';

export interface OfflineResult {
  readonly outputs: PlannedOutput[];
  readonly states: Map<string, UserState>;
  readonly processed: number;
}

export function rowsToEvents(rows: readonly DatasetRow[], idPrefix: string): ClickEvent[] {
  const eventId = eventIdNamer(idPrefix);
  return rows.map((row) => {
    return {
      eventId: eventId(row),
      userId: row.userId,
      itemId: row.itemId,
      categoryId: row.categoryId,
      kind: row.kind,
      eventTimeMs: row.eventTimeMs,
    };
  });
}

/**
 * The live topology without Kafka, fed in event-time order. Callers may inspect `states`
 * between feeds (e.g. to score every user at a checkpoint) but must not modify them.
 */
export class OfflinePipeline {
  readonly states = new Map<string, UserState>();
  readonly outputs: PlannedOutput[] = [];
  processed = 0;
  private offset = 0;
  private readonly processor: PartitionProcessor;

  constructor(encoder: Encoder, manifest: ModelManifest, params: CoreParams) {
    this.processor = new PartitionProcessor(objectStateView(this.states), {
      encoder,
      manifest,
      params,
      profilesEnabled: false,
    });
  }

  /** Processes the events in batches of `batchSize` (results do not depend on it). */
  async feed(events: readonly ClickEvent[], batchSize = 1000): Promise<void> {
    for (let i = 0; i < events.length; i += batchSize) {
      const records: PipelineRecord[] = events
        .slice(i, i + batchSize)
        .map((event) => ({ kind: 'event', offset: String(this.offset++), event }));
      const plan = await this.processor.process(records);
      for (const [u, s] of plan.stateWrites) {
        if (s === null) this.states.delete(u);
        else this.states.set(u, s);
      }
      this.outputs.push(...plan.outputs);
      this.processed += plan.counts.processed;
    }
  }
}

export async function runOffline(
  events: readonly ClickEvent[],
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  batchSize = 1000,
): Promise<OfflineResult> {
  const pipeline = new OfflinePipeline(encoder, manifest, params);
  await pipeline.feed(events, batchSize);
  return { outputs: pipeline.outputs, states: pipeline.states, processed: pipeline.processed };
}

/**
 * Records the encoder's answers on the first run and replays them afterwards. Valid because the
 * encoder's inputs depend only on the events, never on detector parameters: a parameter sweep
 * re-runs the pure core without paying for inference again.
 */
export class RecordingEncoder implements Encoder {
  private readonly tape: EncoderRowOutput[][] = [];
  private cursor = 0;
  constructor(private readonly inner: Encoder) {}
  get provider(): 'cuda' | 'cpu' {
    return this.inner.provider;
  }
  rewind(): void {
    this.cursor = 0;
  }
  async encode(rows: readonly EncoderRow[], options?: EncodeOptions): Promise<EncoderRowOutput[]> {
    const hit = this.tape[this.cursor];
    if (hit && hit.length === rows.length) {
      this.cursor++;
      return hit;
    }
    const out = await this.inner.encode(rows, options);
    this.tape[this.cursor++] = out;
    return out;
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
