/**
 * Brokerless driver for the partition topology (like Kafka Streams' TopologyTestDriver): feeds
 * records in batches, commits each plan as the Kafka shell would after a successful transaction,
 * and keeps every output in order.
 */
import type { CoreParams } from '../../src/core/params';
import { DEFAULT_PARAMS } from '../../src/core/params';
import type { ClickEvent, EventKind } from '../../src/core/types';
import type { UserState } from '../../src/core/user-state';
import type {
  BatchPlan,
  PipelineRecord,
  PlannedOutput,
  ResumePoint,
} from '../../src/pipeline/partition-processor';
import { PartitionProcessor } from '../../src/pipeline/partition-processor';
import { objectStateView } from '../../src/state/state-view';
import { FakeEncoder, fakeManifest } from './fake-encoder';

export class TestDriver {
  readonly states = new Map<string, UserState>();
  readonly outputs: PlannedOutput[] = [];
  readonly plans: BatchPlan[] = [];
  readonly encoder: FakeEncoder;
  private processor: PartitionProcessor;
  private offset = 0;

  constructor(
    readonly params: CoreParams = DEFAULT_PARAMS,
    encoder = new FakeEncoder(),
    private readonly profilesEnabled = false,
  ) {
    this.encoder = encoder;
    this.processor = this.newProcessor();
  }

  private newProcessor(resume: ResumePoint = {}): PartitionProcessor {
    return new PartitionProcessor(
      objectStateView(this.states),
      {
        encoder: this.encoder,
        manifest: fakeManifest(),
        params: this.params,
        profilesEnabled: this.profilesEnabled,
      },
      resume,
    );
  }

  /**
   * Simulates a restart: a new processor restored from the committed states, resuming at the
   * event time so far (as a changelog checkpoint records it); with none yet (states put in from
   * outside), from the states' own times, as a changelog without a checkpoint restores.
   */
  restart(): void {
    const seen = this.processor.maxEventTimeSeenMs;
    this.processor = this.newProcessor(seen > 0 ? { maxEventTimeMs: seen } : {});
  }

  get watermarkMs(): number {
    return this.processor.watermarkMs;
  }

  async feed(records: readonly (ClickEvent | { erase: string })[]): Promise<BatchPlan> {
    const pipeline: PipelineRecord[] = records.map((r) => {
      const offset = String(this.offset++);
      return 'erase' in r ? { kind: 'erase', offset, userId: r.erase } : { kind: 'event', offset, event: r };
    });
    const plan = await this.processor.process(pipeline);
    for (const [u, s] of plan.stateWrites) {
      if (s === null) this.states.delete(u);
      else this.states.set(u, s);
    }
    this.outputs.push(...plan.outputs);
    this.plans.push(plan);
    return plan;
  }

  /** Processing-time timers at `watermarkMs`, committed like a batch. */
  fireProcessingTime(watermarkMs: number): BatchPlan {
    const plan = this.processor.fireProcessingTimeTimers(watermarkMs);
    for (const [u, s] of plan.stateWrites) {
      if (s === null) this.states.delete(u);
      else this.states.set(u, s);
    }
    this.outputs.push(...plan.outputs);
    return plan;
  }

  async feedInBatches(records: readonly ClickEvent[], batchSize: number): Promise<void> {
    for (let i = 0; i < records.length; i += batchSize) await this.feed(records.slice(i, i + batchSize));
  }

  of(kind: PlannedOutput['kind']): PlannedOutput[] {
    return this.outputs.filter((o) => o.kind === kind);
  }

  /** The output values of one kind, in emission order. */
  values<T>(kind: 'migration' | 'churn' | 'profile'): T[] {
    return this.outputs.flatMap((o) => (o.kind === kind ? [o.value as T] : []));
  }
}

let seq = 0;
export function ev(
  userId: string,
  categoryId: string,
  eventTimeMs: number,
  kind: EventKind = 'view',
  eventId?: string,
): ClickEvent {
  return {
    eventId: eventId ?? `e${seq++}`,
    userId,
    itemId: `i-${categoryId}`,
    categoryId,
    kind,
    eventTimeMs,
  };
}

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2017, 10, 25);
